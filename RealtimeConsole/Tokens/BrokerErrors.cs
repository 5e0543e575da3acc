using System.Globalization;
using System.Text.Json.Serialization;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tokens;

/// <summary>The one error shape of every broker endpoint: <c>{"error":{"code","message","retry_after_seconds"?,"upstream_request_id"?}}</c>.</summary>
public sealed record BrokerErrorBody([property: JsonPropertyName("error")] BrokerError Error);

public sealed record BrokerError(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("retry_after_seconds"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? RetryAfterSeconds = null,
    [property: JsonPropertyName("upstream_request_id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? UpstreamRequestId = null);

public static class BrokerErrors
{
    public static IResult Problem(int status, string code, string message, TimeSpan? retryAfter = null, string? upstreamRequestId = null) =>
        new BrokerErrorResult(status, new BrokerErrorBody(new BrokerError(
            code, message, retryAfter is { } wait ? UpstreamRefusal.Seconds(wait) : null, upstreamRequestId)));

    public static IResult From(UpstreamRefusal refusal) =>
        Problem((int)refusal.Status, refusal.Code, refusal.Message, refusal.RetryAfter, refusal.UpstreamRequestId);

    private sealed class BrokerErrorResult(int status, BrokerErrorBody body) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            if (body.Error.RetryAfterSeconds is { } seconds)
            {
                httpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            }

            return httpContext.Response.WriteAsJsonAsync(body);
        }
    }
}
