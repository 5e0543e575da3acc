using RealtimeConsole.Deployment;
using RealtimeConsole.RateLimits;

namespace RealtimeConsole.Telemetry;

/// <summary>
/// Where the broker's state lives, as <c>/limits</c>, <c>/api/telemetry</c> and the hub show it: the store, whether it is
/// shared, since when it is unreachable and the local share per minute meanwhile, and the last outage once it is over.
/// </summary>
public sealed record StoreSnapshot(string Store, bool IsShared, DateTimeOffset? UnreachableSince, IReadOnlyDictionary<string, int> LocalSharePerMinute)
{
    /// <summary>When the store answered again after the last outage (null if it never failed, or while it is down).</summary>
    public DateTimeOffset? RecoveredAt { get; init; }

    /// <summary>Since when it had been unreachable before <see cref="RecoveredAt"/>.</summary>
    public DateTimeOffset? LastOutageSince { get; init; }

    public bool IsDegraded => UnreachableSince is not null;
}

/// <summary>
/// Reads the broker's <see cref="StoreStatus"/> and the shared connection's reachability into a <see cref="StoreSnapshot"/>,
/// and remembers the last outage so the page can say "recovered" after it. A leaf: it watches, the store does not know it.
/// </summary>
public sealed class SharedStoreWatch : IDisposable
{
    private readonly IBrokerStateStore _state;
    private readonly RedisStore? _redis;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private DateTimeOffset? _outageSince;
    private (DateTimeOffset Since, DateTimeOffset RecoveredAt)? _lastOutage;

    public SharedStoreWatch(IBrokerStateStore state, TimeProvider time, RedisStore? redis = null)
    {
        _state = state;
        _time = time;
        _redis = redis;
        _outageSince = Current.UnreachableSince;
        _state.Changed += Observe;
        if (_redis is not null)
        {
            _redis.AvailabilityChanged += Observe;
        }
    }

    /// <summary>Raised when the store becomes unreachable or answers again.</summary>
    public event Action? Changed;

    public StoreSnapshot Current
    {
        get
        {
            var status = _state.Status;
            var since = status.UnreachableSince ?? _redis?.UnreachableSince;
            var shares = status.LocalSharePerMinute?.ToDictionary(s => s.Key.ToWireName(), s => s.Value) ?? [];
            var snapshot = new StoreSnapshot(_redis is null ? status.Store : "redis", status.IsShared || _redis is not null, since, shares);
            lock (_gate)
            {
                return since is null && _lastOutage is { } last ? snapshot with { RecoveredAt = last.RecoveredAt, LastOutageSince = last.Since } : snapshot;
            }
        }
    }

    private void Observe()
    {
        var since = _state.Status.UnreachableSince ?? _redis?.UnreachableSince;
        lock (_gate)
        {
            if (since == _outageSince)
            {
                return;
            }

            if (since is null && _outageSince is { } began)
            {
                _lastOutage = (began, _time.GetUtcNow());
            }

            _outageSince = since;
        }

        Changed?.Invoke();
    }

    public void Dispose()
    {
        _state.Changed -= Observe;
        if (_redis is not null)
        {
            _redis.AvailabilityChanged -= Observe;
        }
    }
}
