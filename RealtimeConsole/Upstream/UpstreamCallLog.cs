using RealtimeConsole.RateLimits;

namespace RealtimeConsole.Upstream;

/// <summary>Source-generated log messages for every upstream call and every decision not to make one.</summary>
internal static partial class UpstreamCallLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information,
        Message = "Upstream {Resource} answered {Status} in {LatencyMs} ms (attempt {Attempt}, x-request-id {RequestId}, error {ErrorCode})")]
    public static partial void UpstreamCall(ILogger logger, UpstreamResource resource, int status, long latencyMs, int attempt, string? requestId, string? errorCode);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning,
        Message = "Upstream {Resource} failed without an answer after {LatencyMs} ms (attempt {Attempt}): {Reason}")]
    public static partial void UpstreamCallFailed(ILogger logger, UpstreamResource resource, long latencyMs, int attempt, string reason);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information,
        Message = "Retrying upstream {Resource}: attempt {Attempt} of {MaxAttempts} in {DelayMs} ms")]
    public static partial void Retrying(ILogger logger, UpstreamResource resource, int attempt, int maxAttempts, long delayMs);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning,
        Message = "Not sent upstream ({Resource}): {Code}, retry after {RetryAfterMs} ms")]
    public static partial void Refused(ILogger logger, UpstreamResource resource, string code, long retryAfterMs);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Upstream circuit for {Resource} is {State}")]
    public static partial void CircuitChanged(ILogger logger, UpstreamResource resource, string state);
}
