using System.Diagnostics.Metrics;
using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using RealtimeConsole.Tokens;

namespace RealtimeConsole.Access;

/// <summary>Failed sign-ins and refused actions, counted for <c>/metrics</c> (meter <see cref="MeterName"/>).</summary>
public sealed class AccessMetrics
{
    public const string MeterName = "RealtimeConsole.Access";

    private readonly Counter<long> _signInFailures;
    private readonly Counter<long> _refusals;

    public AccessMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _signInFailures = meter.CreateCounter<long>("console.access.sign_in_failures", description: "Sign-ins that failed, by method (browser_token, api_key, openid_connect).");
        _refusals = meter.CreateCounter<long>("console.access.refusals", description: "Requests and actions refused, by kind (unauthenticated, forbidden).");
    }

    public void SignInFailed(string method) => _signInFailures.Add(1, new KeyValuePair<string, object?>("method", method));

    public void Refused(string kind) => _refusals.Add(1, new KeyValuePair<string, object?>("kind", kind));
}

/// <summary>Logs and counts what the authorization middleware refuses, then answers as usual (see <see cref="AccessResponses"/>).</summary>
public sealed class RefusalRecordingResultHandler(AccessMetrics metrics, ILogger<RefusalRecordingResultHandler> logger) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Challenged || authorizeResult.Forbidden)
        {
            var kind = authorizeResult.Forbidden ? "forbidden" : "unauthenticated";
            metrics.Refused(kind);
            AccessLog.Refused(logger, AccessResponses.Describe(context.User), AccessResponses.Address(context), $"{context.Request.Method} {context.Request.Path}", kind);
        }

        return _default.HandleAsync(next, context, policy, authorizeResult);
    }
}

/// <summary>Checks an action a component offers (a button's handler) against a policy, recording a refusal like the middleware does.</summary>
public sealed class ConsoleActionGuard(IAuthorizationService authorization, AccessMetrics metrics, ILogger<ConsoleActionGuard> logger)
{
    public async Task<bool> AllowsAsync(ClaimsPrincipal user, string policy, string action)
    {
        if ((await authorization.AuthorizeAsync(user, policy)).Succeeded)
        {
            return true;
        }

        var kind = user.Identity?.IsAuthenticated == true ? "forbidden" : "unauthenticated";
        metrics.Refused(kind);
        AccessLog.Refused(logger, AccessResponses.Describe(user), "circuit", action, kind);
        return false;
    }

    /// <summary>For deciding what to render: no refusal is recorded.</summary>
    public async Task<bool> AllowsQuietlyAsync(ClaimsPrincipal user, string policy) => (await authorization.AuthorizeAsync(user, policy)).Succeeded;
}

/// <summary>How a refusal is answered: JSON for APIs, hubs and metrics; a page for a browser asking for a page.</summary>
public static class AccessResponses
{
    private static readonly string[] ApiPrefixes = ["/api", "/simulator/v1", "/simulator/admin", "/hubs", "/metrics", "/_blazor"];

    public static bool IsApiRequest(HttpRequest request) => ApiPrefixes.Any(prefix => request.Path.StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase));

    public static string Describe(ClaimsPrincipal user) => user.Identity?.IsAuthenticated != true
        ? "anonymous"
        : $"{user.Identity.Name ?? "(no name)"} ({ConsoleRoles.Highest(user) ?? "no role"})";

    public static string Address(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    public static Task WriteUnauthorizedAsync(HttpContext context) =>
        WriteAsync(context, StatusCodes.Status401Unauthorized, "unauthorized", "Sign in first: open the login link the console printed at start-up, or send the API key as a bearer token where one is accepted.");

    public static Task WriteForbiddenAsync(HttpContext context) =>
        WriteAsync(context, StatusCodes.Status403Forbidden, "forbidden", $"Your role ({ConsoleRoles.Highest(context.User) ?? "none"}) may not do this.");

    private static Task WriteAsync(HttpContext context, int status, string code, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new BrokerErrorBody(new BrokerError(code, message)));
    }
}

internal static partial class AccessLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused {What} for {User} from {Address}: {Kind}")]
    public static partial void Refused(ILogger logger, string user, string address, string what, string kind);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed sign-in ({Method}) from {Address}: {Reason}")]
    public static partial void SignInFailed(ILogger logger, string method, string address, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Signed in {User} as {Role} from {Address} ({Method})")]
    public static partial void SignedIn(ILogger logger, string user, string role, string address, string method);

    [LoggerMessage(Level = LogLevel.Information, Message = "Login to RealtimeConsole: {LoginUrl}")]
    public static partial void LoginLink(ILogger logger, string loginUrl);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Auth:Mode is Unsecured and the console listens beyond loopback ({Addresses}): anyone who can reach it is admin")]
    public static partial void UnsecuredBeyondLoopback(ILogger logger, string addresses);

    [LoggerMessage(Level = LogLevel.Information, Message = "Auth:Mode is Unsecured: everyone is admin (loopback only: {Addresses})")]
    public static partial void UnsecuredOnLoopback(ILogger logger, string addresses);
}
