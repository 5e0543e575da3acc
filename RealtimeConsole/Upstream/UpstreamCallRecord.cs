using RealtimeConsole.RateLimits;

namespace RealtimeConsole.Upstream;

/// <summary>One HTTP exchange with upstream. Status 0 means no answer (ErrorCode then names the exception).</summary>
public sealed record UpstreamCallRecord(
    DateTimeOffset At,
    UpstreamResource Resource,
    int Status,
    string? ErrorCode,
    double LatencyMs,
    int Attempt,
    string? RequestId);
