using RealtimeConsole.Surface;

namespace RealtimeConsole.Simulator;

/// <summary>Refusals before a simulator handler runs (no route, wrong method, body refused) in OpenAI's error shape.</summary>
public sealed class SimulatorErrorShape : IApiErrorShape
{
    public bool Handles(PathString path) => ApiErrors.IsSimulatorPath(path);

    public IResult Error(HttpContext context, int status, string code, string message)
    {
        // Support staff quote request ids from every simulator answer, refusals before the handler included.
        if (!context.Response.HasStarted && !context.Response.Headers.ContainsKey("x-request-id"))
        {
            context.Response.Headers["x-request-id"] = SimulatorGate.NewRequestId();
        }

        // The simulator's handlers name the same refusals with these codes.
        var simulatorCode = code switch
        {
            "unsupported_media_type" => "unsupported_content_type",
            "payload_too_large" => "request_too_large",
            _ => code,
        };
        return new OpenAiError(status, message, status >= 500 ? "server_error" : "invalid_request_error", null, simulatorCode);
    }
}
