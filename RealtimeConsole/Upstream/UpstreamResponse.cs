using System.Net;
using System.Text.Json;
using RealtimeConsole.RateLimits;

namespace RealtimeConsole.Upstream;

/// <summary>One buffered upstream answer: status, body, and the headers the broker acts on.</summary>
public sealed record UpstreamResponse(
    HttpStatusCode Status,
    string Body,
    string? ContentType,
    string? Location,
    string? RequestId,
    string? ErrorCode,
    string? ErrorMessage,
    TimeSpan? RetryAfter,
    RateLimitHeaders RateLimits)
{
    public bool IsSuccess => (int)Status is >= 200 and < 300;

    public bool IsInsufficientQuota => ErrorCode == "insufficient_quota";

    /// <summary>A 429 that waiting can fix (<c>rate_limit_exceeded</c>), unlike <c>insufficient_quota</c>.</summary>
    /// <summary>A 503 saying upstream is full (its error code ends in <c>_at_capacity</c>): not a failure, and not worth asking again at once.</summary>
    public bool IsCapacityRefusal => Status == HttpStatusCode.ServiceUnavailable && ErrorCode?.EndsWith("_at_capacity", StringComparison.Ordinal) == true;

    public bool IsTransientRateLimit => Status == HttpStatusCode.TooManyRequests && !IsInsufficientQuota;

    public static async Task<UpstreamResponse> ReadAsync(HttpResponseMessage message, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var body = await message.Content.ReadAsStringAsync(cancellationToken);
        var (code, text) = (int)message.StatusCode >= 400 ? ReadError(body) : (null, null);
        return new UpstreamResponse(
            message.StatusCode,
            body,
            message.Content.Headers.ContentType?.MediaType,
            message.Headers.Location?.OriginalString,
            message.Headers.TryGetValues("x-request-id", out var ids) ? ids.FirstOrDefault() : null,
            code,
            text,
            RetryAfterParser.Parse(message.Headers, now),
            RateLimitHeaders.From(message.Headers));
    }

    private static (string? Code, string? Message) ReadError(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("error", out var error)
                && error.ValueKind == JsonValueKind.Object)
            {
                var code = error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                var type = error.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                var message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
                // OpenAI sometimes puts insufficient_quota only in "type".
                return (code ?? type, message);
            }
        }
        catch (JsonException)
        {
            // Not JSON (e.g. a proxy's HTML page): no code to act on.
        }

        return (null, null);
    }
}
