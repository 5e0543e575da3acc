using System.Diagnostics.Metrics;
using RealtimeConsole.RateLimits;
using RealtimeConsole.Tokens;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Telemetry;

/// <summary>
/// The broker's in-process telemetry: counters and last-seen values behind <see cref="GetSnapshot"/> (an immutable
/// <see cref="BrokerTelemetrySnapshot"/>), a change notification (<see cref="Subscribe"/>), an event per upstream call
/// (<see cref="UpstreamCallRecorded"/>), and the System.Diagnostics.Metrics instruments in <see cref="BrokerMetrics"/>.
/// It reads what the broker publishes (<see cref="UpstreamSignals"/>, <see cref="SecretSignals"/>, <see cref="IBrokerStateStore"/>);
/// nothing in the broker references it.
/// </summary>
public sealed class BrokerTelemetry
{
    public const int RecentCallCapacity = 50;

    private readonly TimeProvider _time;
    private readonly BrokerMetrics _metrics;
    private readonly ILogger<BrokerTelemetry> _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<UpstreamResource, ResourceCounters> _resources = Enum.GetValues<UpstreamResource>().ToDictionary(r => r, _ => new ResourceCounters());
    private readonly Queue<UpstreamCallRecord> _recentCalls = new();
    private Func<Task>[] _subscribers = [];
    private readonly IBrokerStateStore _state;
    private readonly Dictionary<UpstreamResource, DateTimeOffset> _openCircuits = [];
    private int _hitNotificationQueued;
    private SecretMode _mode;
    private ClientSecret? _lastSecret;
    private int _poolLevel;
    private int _poolTarget;
    private long _mints;
    private long _mintFailures;
    private long _hits;
    private long _misses;
    private long _joins;
    private long _reusedReplaced;
    private double? _lastMintLatencyMs;
    private RateLimitEvent? _last429;
    private RateLimitEvent? _lastUpstream429;
    private BackoffState? _retrying;

    public BrokerTelemetry(TimeProvider time, BrokerMetrics metrics, IBrokerStateStore state, UpstreamSignals upstream, SecretSignals secrets, ILogger<BrokerTelemetry> logger)
    {
        _time = time;
        _metrics = metrics;
        _state = state;
        _logger = logger;
        (_mode, _poolTarget) = secrets.CurrentMode;
        state.Changed += Notify;
        upstream.CallCompleted += UpstreamCall;
        upstream.Retrying += Retrying;
        upstream.RetryFinished += RetryFinished;
        upstream.Refused += Refused;
        upstream.CircuitChanged += CircuitChanged;
        secrets.Served += SecretServed;
        secrets.MintFinished += MintFinished;
        secrets.PoolLevelChanged += PoolLevelChanged;
        secrets.ReusedSecretReplaced += ReusedSecretReplaced;
        secrets.ModeChanged += ModeChanged;
        ObserveState(metrics.Meter);
    }

    /// <summary>Raised after each HTTP exchange with upstream (also kept in the snapshot's recent-call ring).</summary>
    public event Action<UpstreamCallRecord>? UpstreamCallRecorded;

    /// <summary>Calls <paramref name="onChange"/> (not awaited, errors logged) whenever the snapshot would change; dispose to stop.</summary>
    public IDisposable Subscribe(Func<Task> onChange)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers, onChange];
        }

        return new Subscription(this, onChange);
    }

    public BrokerTelemetrySnapshot GetSnapshot()
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            var resources = _resources.Select(pair =>
            {
                _state.Budgets.TryGetValue(pair.Key, out var budget);
                return new ResourceSnapshot(
                    pair.Key.ToWireName(),
                    pair.Value.ByStatus.ToDictionary(s => s.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), s => s.Value),
                    pair.Value.Retries,
                    pair.Value.Refused,
                    pair.Value.RateLimits.Values.ToList(),
                    budget?.Available,
                    budget?.RequestsPerMinute,
                    budget?.Queued ?? 0,
                    budget?.EmptyUntil)
                {
                    BudgetLimitSource = budget?.Source switch
                    {
                        LimitSource.Guess => "guess",
                        LimitSource.UpstreamSilent => "upstream-silent",
                        LimitSource.Upstream => "upstream",
                        _ => null,
                    },
                };
            }).ToList();

            // Written without the lock by every request that gets a secret: read it once.
            var last = Volatile.Read(ref _lastSecret);
            var secret = new SecretSnapshot(
                _mode,
                last?.MintedOn,
                last?.ExpiresOn,
                last?.RefreshOn,
                last is null ? null : (now - last.MintedOn).TotalSeconds,
                _poolLevel,
                _poolTarget);
            var (hits, misses, joins) = (Volatile.Read(ref _hits), Volatile.Read(ref _misses), Volatile.Read(ref _joins));
            var served = hits + misses;
            var counters = new SecretCounters(_mints, _mintFailures, hits, misses, joins, served == 0 ? null : (double)hits / served, _lastMintLatencyMs);
            counters = counters with { ReusedSecretsReplaced = Volatile.Read(ref _reusedReplaced) };
            return new BrokerTelemetrySnapshot(now, secret, counters, resources, BackoffAt(now, resources), _last429, _recentCalls.Reverse().ToList())
            {
                LastUpstream429 = _lastUpstream429,
            };
        }
    }

    /// <summary>Zeroes the counters, the recent calls and the last 429 (live state such as cooldowns is untouched).</summary>
    public void ResetCounters()
    {
        lock (_gate)
        {
            foreach (var counters in _resources.Values)
            {
                counters.ByStatus.Clear();
                counters.Retries = 0;
                counters.Refused = 0;
            }

            _recentCalls.Clear();
            (_mints, _mintFailures) = (0, 0);
            Interlocked.Exchange(ref _hits, 0);
            Interlocked.Exchange(ref _misses, 0);
            Interlocked.Exchange(ref _joins, 0);
            Interlocked.Exchange(ref _reusedReplaced, 0);
            _lastMintLatencyMs = null;
            _last429 = null;
            _lastUpstream429 = null;
        }

        Notify();
    }

    /// <summary>Records the <c>rate_limits.updated</c> values a browser session reported (resource <c>responses</c>).</summary>
    public void RecordBrowserRateLimits(IEnumerable<BrowserRateLimit> limits)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            foreach (var limit in limits)
            {
                _resources[UpstreamResource.Responses].RateLimits[limit.Name] =
                    new RateLimitValues(limit.Name, limit.Limit, limit.Remaining, limit.ResetSeconds, now, "rate_limits.updated");
            }
        }

        Notify();
    }

    private void ModeChanged(SecretMode mode, int poolTarget)
    {
        lock (_gate)
        {
            _mode = mode;
            _poolTarget = poolTarget;
        }

        Notify();
    }

    /// <summary>
    /// Counts a secret handed out. This runs on every request, so it takes no lock, and cache hits tell subscribers
    /// through one queued notification however many arrive meanwhile (nothing at all when nobody subscribes).
    /// </summary>
    private void SecretServed(SecretMode mode, ClientSecret secret, SecretSource source)
    {
        if (!ReferenceEquals(Volatile.Read(ref _lastSecret), secret))
        {
            Volatile.Write(ref _lastSecret, secret);
        }

        switch (source)
        {
            case SecretSource.Cache or SecretSource.Pool:
                Interlocked.Increment(ref _hits);
                _metrics.CacheHit(mode);
                NotifyHit();
                return;
            case SecretSource.JoinedMint:
                Interlocked.Increment(ref _misses);
                Interlocked.Increment(ref _joins);
                _metrics.CacheMiss(mode);
                _metrics.Joined();
                break;
            default:
                Interlocked.Increment(ref _misses);
                _metrics.CacheMiss(mode);
                break;
        }

        Notify();
    }

    /// <summary>Counts a mint; <paramref name="handedOut"/> is the secret when it goes to a caller (not into the pool), so
    /// no snapshot shows the mint without the secret it produced.</summary>
    private void MintFinished(bool succeeded, TimeSpan latency, ClientSecret? handedOut)
    {
        lock (_gate)
        {
            if (succeeded)
            {
                if (handedOut is not null)
                {
                    Volatile.Write(ref _lastSecret, handedOut);
                }

                _mints++;
                _lastMintLatencyMs = latency.TotalMilliseconds;
            }
            else
            {
                _mintFailures++;
            }
        }

        _metrics.Mint(succeeded, latency);
        Notify();
    }

    /// <summary>A shared secret was refused upstream as reused and replaced by a fresh mint.</summary>
    private void ReusedSecretReplaced()
    {
        Interlocked.Increment(ref _reusedReplaced);
        Notify();
    }

    private void PoolLevelChanged(int level)
    {
        lock (_gate)
        {
            _poolLevel = level;
        }

        Notify();
    }

    private void UpstreamCall(UpstreamCallRecord call, UpstreamResponse? response)
    {
        lock (_gate)
        {
            var counters = _resources[call.Resource];
            counters.ByStatus[call.Status] = counters.ByStatus.GetValueOrDefault(call.Status) + 1;
            _recentCalls.Enqueue(call);
            while (_recentCalls.Count > RecentCallCapacity)
            {
                _recentCalls.Dequeue();
            }

            if (response?.RateLimits is { IsEmpty: false } headers)
            {
                counters.RateLimits["requests"] = new RateLimitValues(
                    "requests", headers.LimitRequests, headers.RemainingRequests, headers.ResetRequests?.TotalSeconds, call.At, "x-ratelimit headers");
            }

            if (call.Status == 429)
            {
                _last429 = new RateLimitEvent(call.At, call.Resource.ToWireName(), call.ErrorCode ?? "rate_limit_exceeded", response?.ErrorMessage ?? "", call.RequestId, true);
                _lastUpstream429 = _last429;
            }
        }

        _metrics.UpstreamRequest(call.Resource, call.Status);
        if (call.Status == 429)
        {
            _metrics.RateLimited(call.ErrorCode ?? "rate_limit_exceeded", fromUpstream: true);
        }

        UpstreamCallRecorded?.Invoke(call);
        Notify();
    }

    private void Retrying(UpstreamResource resource, int attempt, int maxAttempts, TimeSpan delay, DateTimeOffset nextAt)
    {
        lock (_gate)
        {
            _resources[resource].Retries++;
            _retrying = new BackoffState(BackoffKind.Retrying, attempt, maxAttempts, nextAt, resource.ToWireName());
        }

        _metrics.Retry(resource, delay);
        Notify();
    }

    private void RetryFinished(UpstreamResource resource)
    {
        lock (_gate)
        {
            if (_retrying?.Reason == resource.ToWireName())
            {
                _retrying = null;
            }
        }
    }

    private void Refused(UpstreamResource resource, UpstreamRefusal refusal)
    {
        if (refusal.Kind != RefusalKind.BudgetExhausted)
        {
            Notify();
            return;
        }

        lock (_gate)
        {
            _resources[resource].Refused++;
            _last429 = new RateLimitEvent(_time.GetUtcNow(), resource.ToWireName(), refusal.Code, refusal.Message, null, false);
        }

        _metrics.RateLimited(refusal.Code, fromUpstream: false);
        Notify();
    }

    private void CircuitChanged(UpstreamResource resource, DateTimeOffset? openUntil)
    {
        lock (_gate)
        {
            if (openUntil is { } until)
            {
                _openCircuits[resource] = until;
            }
            else
            {
                _openCircuits.Remove(resource);
            }
        }

        Notify();
    }

    private BackoffState BackoffAt(DateTimeOffset now, IReadOnlyList<ResourceSnapshot> resources)
    {
        if (_state.Quota.RecheckAt is { } recheck && recheck > now)
        {
            return new BackoffState(BackoffKind.QuotaExhausted, Until: recheck, Reason: "insufficient_quota");
        }

        if (_openCircuits.Count > 0)
        {
            var (resource, until) = _openCircuits.MinBy(c => c.Value);
            return new BackoffState(BackoffKind.CircuitOpen, Until: until, Reason: $"sustained upstream failures ({resource.ToWireName()})");
        }

        if (_state.Cooldown.State is { } cooldown && cooldown.Until > now)
        {
            return new BackoffState(BackoffKind.CoolingDown, Until: cooldown.Until, Reason: cooldown.Reason);
        }

        if (_retrying is { Until: { } next } retrying && next > now)
        {
            return retrying;
        }

        if (resources.Any(r => r.BudgetQueued > 0 || r.BudgetHeldUntil is not null))
        {
            return new BackoffState(BackoffKind.WaitingForBudget, Reason: "local budget used up");
        }

        return BackoffState.Idle;
    }

    /// <summary>Gauges that read the live state: cooldown, circuit, quota, secret age, budget level and queue.</summary>
    private void ObserveState(Meter meter)
    {
        meter.CreateObservableGauge("realtime.upstream.cooldown_active", () => GetSnapshot().Backoff.Kind == BackoffKind.CoolingDown ? 1 : 0,
            description: "1 while every caller waits out a shared cooldown after an upstream 429.");
        meter.CreateObservableGauge("realtime.upstream.circuit_open", () => GetSnapshot().Backoff.Kind == BackoffKind.CircuitOpen ? 1 : 0,
            description: "1 while a circuit breaker holds requests back.");
        meter.CreateObservableGauge("realtime.upstream.quota_exhausted", () => GetSnapshot().Backoff.Kind == BackoffKind.QuotaExhausted ? 1 : 0,
            description: "1 after insufficient_quota, until the re-check.");
        meter.CreateObservableGauge("realtime.broker.secret_age", () => GetSnapshot().Secret.AgeSeconds ?? 0, unit: "s",
            description: "Age of the secret most recently handed out.");
        meter.CreateObservableGauge("realtime.upstream.budget_available", () => GetSnapshot().Resources
            .Where(r => r.BudgetAvailable is not null)
            .Select(r => new Measurement<long>(r.BudgetAvailable!.Value, new KeyValuePair<string, object?>("resource", r.Resource))),
            description: "Requests the local budget would let through now.");
        meter.CreateObservableGauge("realtime.upstream.budget_queued", () => GetSnapshot().Resources
            .Where(r => r.BudgetPerMinute is not null)
            .Select(r => new Measurement<long>(r.BudgetQueued, new KeyValuePair<string, object?>("resource", r.Resource))),
            description: "Callers waiting for budget.");
        meter.CreateObservableGauge("realtime.upstream.budget_limit", () => GetSnapshot().Resources
            .Where(r => r.BudgetPerMinute is not null)
            .Select(r => new Measurement<int>(r.BudgetPerMinute!.Value, new KeyValuePair<string, object?>("resource", r.Resource), new KeyValuePair<string, object?>("source", r.BudgetLimitSource))),
            description: "The budget's limit per minute: upstream's once learned, the configured guess before.");
    }

    private void Notify()
    {
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            _ = InvokeAsync(subscriber);
        }
    }

    private void NotifyHit()
    {
        if (Volatile.Read(ref _subscribers).Length == 0 || Interlocked.Exchange(ref _hitNotificationQueued, 1) == 1)
        {
            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(
            static telemetry =>
            {
                // Cleared before notifying: a hit counted after this point queues the next notification.
                Volatile.Write(ref telemetry._hitNotificationQueued, 0);
                telemetry.Notify();
            },
            this,
            preferLocal: false);
    }

    private async Task InvokeAsync(Func<Task> subscriber)
    {
        try
        {
            await subscriber();
        }
        catch (Exception ex)
        {
            TelemetryLog.SubscriberFailed(_logger, ex);
        }
    }

    private sealed class ResourceCounters
    {
        public Dictionary<int, long> ByStatus { get; } = [];

        public Dictionary<string, RateLimitValues> RateLimits { get; } = [];

        public long Retries { get; set; }

        public long Refused { get; set; }
    }

    private sealed class Subscription(BrokerTelemetry owner, Func<Task> onChange) : IDisposable
    {
        public void Dispose()
        {
            lock (owner._gate)
            {
                owner._subscribers = Array.FindAll(owner._subscribers, s => s != onChange);
            }
        }
    }
}

/// <summary>One entry of a browser's <c>rate_limits.updated</c> event.</summary>
public sealed record BrowserRateLimit(string Name, int? Limit, int? Remaining, double? ResetSeconds);

internal static partial class TelemetryLog
{
    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "A telemetry subscriber failed")]
    public static partial void SubscriberFailed(ILogger logger, Exception exception);
}
