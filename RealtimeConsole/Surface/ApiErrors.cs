using RealtimeConsole.Tokens;

namespace RealtimeConsole.Surface;

/// <summary>
/// The one JSON error answer for requests that never reached a handler (no route, wrong method, body refused, exception):
/// the shape of the feature that owns the path (<see cref="IApiErrorShape"/>: OpenAI's under <c>/simulator</c>, where
/// OpenAI's SDKs read it), and the console's own shape everywhere else.
/// </summary>
public static class ApiErrors
{
    public const string SimulatorPrefix = "/simulator";

    public static bool IsSimulatorPath(PathString path) => path.StartsWithSegments(SimulatorPrefix, StringComparison.OrdinalIgnoreCase);

    public static IResult For(HttpContext context, int status, string code, string message)
    {
        // A feature that answers in another API's shape (the simulator: OpenAI's) says so by registering a shape.
        foreach (var shape in context.RequestServices.GetServices<IApiErrorShape>())
        {
            if (shape.Handles(context.Request.Path))
            {
                return shape.Error(context, status, code, message);
            }
        }

        return BrokerErrors.Problem(status, code, message);
    }

    /// <summary>What an error without a body of its own says, by status.</summary>
    public static (string Code, string Message) Describe(HttpContext context, int status)
    {
        var request = context.Request;
        var target = $"{request.Method} {request.Path}";
        return status switch
        {
            StatusCodes.Status400BadRequest => ("bad_request", $"The request {target} was refused as malformed (for example a Host header this console does not answer: see AllowedHosts in the README)."),
            StatusCodes.Status401Unauthorized => ("unauthorized", $"{target} needs you to sign in."),
            StatusCodes.Status403Forbidden => ("forbidden", $"You may not use {target}."),
            StatusCodes.Status404NotFound => ("not_found", $"Nothing is served at {target}."),
            StatusCodes.Status405MethodNotAllowed => ("method_not_allowed",
                $"{request.Path} does not take {request.Method}." + (context.Response.Headers.Allow is { Count: > 0 } allow ? $" Allowed: {allow}." : "")),
            StatusCodes.Status413PayloadTooLarge => ("payload_too_large", $"The body of {target} is too large."),
            StatusCodes.Status415UnsupportedMediaType => ("unsupported_media_type", $"{target} does not take a body of type '{request.ContentType}'."),
            StatusCodes.Status429TooManyRequests => ("rate_limited", "Too many requests; try again later."),
            >= 500 => ("server_error", $"The server failed while handling {target}. Quote request id {context.TraceIdentifier} when reporting it."),
            _ => ("error", $"{target} answered {status}."),
        };
    }
}

/// <summary>An error body in the shape of the API a feature serves under its paths.</summary>
public interface IApiErrorShape
{
    bool Handles(PathString path);

    IResult Error(HttpContext context, int status, string code, string message);
}
