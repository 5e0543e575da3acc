using System.Net;

namespace RealtimeConsole.Upstream;

/// <summary>Why the broker could not get an answer from upstream, already decided as an honest HTTP answer.</summary>
public enum RefusalKind
{
    /// <summary>Our own budget or the shared cooldown: waiting would have taken longer than the caller may wait.</summary>
    BudgetExhausted,

    /// <summary>Upstream said 429 rate_limit_exceeded and retrying within the cap did not help (or its wait is beyond the cap).</summary>
    UpstreamRateLimited,

    QuotaExhausted,
    CircuitOpen,
    UpstreamFailed,
    UpstreamRejected,
}

/// <summary>The one exception the broker throws for upstream trouble; it maps to exactly one HTTP answer.</summary>
public sealed class UpstreamRefusal(RefusalKind kind, string code, string message, TimeSpan? retryAfter = null, string? upstreamRequestId = null, HttpStatusCode? passedThrough = null)
    : Exception(message)
{
    /// <summary>Upstream statuses that describe the caller's own request: passed on as they are, not as a gateway failure.</summary>
    private static readonly HttpStatusCode[] CallerErrors =
    [
        HttpStatusCode.BadRequest, HttpStatusCode.NotFound, HttpStatusCode.Conflict, HttpStatusCode.RequestEntityTooLarge,
        HttpStatusCode.UnsupportedMediaType, HttpStatusCode.UnprocessableEntity,
    ];

    public RefusalKind Kind { get; } = kind;

    public string Code { get; } = code;

    public TimeSpan? RetryAfter { get; } = retryAfter;

    public string? UpstreamRequestId { get; } = upstreamRequestId;

    public HttpStatusCode Status => Kind switch
    {
        RefusalKind.BudgetExhausted or RefusalKind.UpstreamRateLimited => HttpStatusCode.TooManyRequests,
        RefusalKind.QuotaExhausted or RefusalKind.CircuitOpen => HttpStatusCode.ServiceUnavailable,
        RefusalKind.UpstreamRejected when passedThrough is { } status => status,
        _ => HttpStatusCode.BadGateway,
    };

    public static UpstreamRefusal BudgetExhausted(TimeSpan retryAfter, string why) => new(
        RefusalKind.BudgetExhausted, "rate_limited", $"{why} Try again in {Seconds(retryAfter)} s.", retryAfter);

    public static UpstreamRefusal UpstreamRateLimited(TimeSpan retryAfter, string? upstreamMessage, string? requestId) => new(
        RefusalKind.UpstreamRateLimited,
        "rate_limit_exceeded",
        $"The OpenAI rate limit is reached{(upstreamMessage is null ? "" : $" ({upstreamMessage})")}. Try again in {Seconds(retryAfter)} s.",
        retryAfter,
        requestId);

    public static UpstreamRefusal QuotaExhausted(TimeSpan recheckIn, string? requestId) => new(
        RefusalKind.QuotaExhausted,
        "insufficient_quota",
        $"The OpenAI account has run out of quota (insufficient_quota): check the plan and billing. Nothing is sent upstream for the next {Seconds(recheckIn)} s.",
        recheckIn,
        requestId);

    public static UpstreamRefusal CircuitOpen(TimeSpan retryAfter) => new(
        RefusalKind.CircuitOpen,
        "upstream_unavailable",
        $"Upstream has been failing, so requests are paused (circuit open). Try again in {Seconds(retryAfter)} s.",
        retryAfter);

    public static UpstreamRefusal Failed(string message, string? requestId) => new(RefusalKind.UpstreamFailed, "upstream_error", message, null, requestId);

    /// <summary>
    /// Upstream refused the request itself: a 4xx about what the caller sent (an unknown call, a bad offer) stays that 4xx;
    /// anything else (401/403 for our key, an unexpected status) is this gateway's failure, 502.
    /// </summary>
    public static UpstreamRefusal Rejected(UpstreamResponse response) => new(
        RefusalKind.UpstreamRejected,
        CallerErrors.Contains(response.Status) ? response.ErrorCode ?? "invalid_request" : "upstream_rejected",
        $"Upstream refused the request with {(int)response.Status}{(response.ErrorCode is null ? "" : $" {response.ErrorCode}")}: {response.ErrorMessage ?? "no message"}",
        null,
        response.RequestId,
        CallerErrors.Contains(response.Status) ? response.Status : null);

    public static int Seconds(TimeSpan wait) => (int)Math.Max(1, Math.Ceiling(wait.TotalSeconds));
}
