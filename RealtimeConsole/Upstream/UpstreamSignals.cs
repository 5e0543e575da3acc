using RealtimeConsole.RateLimits;

namespace RealtimeConsole.Upstream;

/// <summary>
/// What the upstream gate publishes as it works: each HTTP exchange, retries, refusals, the circuit. The gate knows
/// nothing of who listens (the dashboard's telemetry, metrics); listeners subscribe here.
/// </summary>
public sealed class UpstreamSignals
{
    /// <summary>After each HTTP exchange with upstream (the answer, or null when none came back).</summary>
    public event Action<UpstreamCallRecord, UpstreamResponse?>? CallCompleted;

    /// <summary>A retry was scheduled: resource, attempt about to be made, attempts allowed, delay, when.</summary>
    public event Action<UpstreamResource, int, int, TimeSpan, DateTimeOffset>? Retrying;

    /// <summary>The one retry loop for a logical request ended (served or not).</summary>
    public event Action<UpstreamResource>? RetryFinished;

    /// <summary>A request was refused to the caller (locally, or after upstream's answer).</summary>
    public event Action<UpstreamResource, UpstreamRefusal>? Refused;

    /// <summary>A resource's circuit opened (with the time it may close) or closed (null).</summary>
    public event Action<UpstreamResource, DateTimeOffset?>? CircuitChanged;

    internal void OnCallCompleted(UpstreamCallRecord call, UpstreamResponse? response) => CallCompleted?.Invoke(call, response);

    internal void OnRetrying(UpstreamResource resource, int attempt, int maxAttempts, TimeSpan delay, DateTimeOffset at) => Retrying?.Invoke(resource, attempt, maxAttempts, delay, at);

    internal void OnRetryFinished(UpstreamResource resource) => RetryFinished?.Invoke(resource);

    internal void OnRefused(UpstreamResource resource, UpstreamRefusal refusal) => Refused?.Invoke(resource, refusal);

    internal void OnCircuitChanged(UpstreamResource resource, DateTimeOffset? openUntil) => CircuitChanged?.Invoke(resource, openUntil);
}
