using System.Threading.RateLimiting;

namespace RealtimeConsole.RateLimits;

/// <summary>
/// The client-side request budget for one upstream resource, so a request upstream would refuse is never sent.
/// A token bucket (System.Threading.RateLimiting) refilled on the injected clock, lowered live from each
/// answer's <c>x-ratelimit-remaining-requests</c>, and held shut until <c>x-ratelimit-reset-requests</c> at zero.
/// </summary>
public sealed class UpstreamBudget : IDisposable
{
    private readonly TimeProvider _time;
    private readonly TokenBucketRateLimiter _bucket;
    private readonly ITimer _refillTimer;
    private readonly TimeSpan _refillPeriod;
    private readonly Lock _gate = new();
    private DateTimeOffset _nextRefill;
    private DateTimeOffset _heldUntil;
    private int _inFlight;

    public UpstreamBudget(UpstreamResource resource, int requestsPerMinute, TimeProvider time)
    {
        Resource = resource;
        RequestsPerMinute = requestsPerMinute;
        _time = time;
        _refillPeriod = TimeSpan.FromMinutes(1) / requestsPerMinute;
        _bucket = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = requestsPerMinute,
            TokensPerPeriod = 1,
            ReplenishmentPeriod = _refillPeriod,
            // Refilled by our own timer on the injected TimeProvider, so tests drive it with FakeTimeProvider.
            AutoReplenishment = false,
            QueueLimit = 100_000,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        _nextRefill = time.GetUtcNow() + _refillPeriod;
        _refillTimer = time.CreateTimer(_ => Refill(), null, _refillPeriod, _refillPeriod);
    }

    public UpstreamResource Resource { get; }

    public int RequestsPerMinute { get; }

    public long Available => _bucket.GetStatistics()?.CurrentAvailablePermits ?? 0;

    public long Queued => _bucket.GetStatistics()?.CurrentQueuedCount ?? 0;

    public DateTimeOffset HeldUntil
    {
        get { lock (_gate) { return _heldUntil; } }
    }

    /// <summary>Raised when the level or queue changes (telemetry listens).</summary>
    public event Action<UpstreamBudget>? Changed;

    /// <summary>Waits at most <paramref name="maxWait"/> for a slot; on timeout says when the next one frees up.</summary>
    public async ValueTask<BudgetDecision> AcquireAsync(TimeSpan maxWait, CancellationToken cancellationToken)
    {
        using var patience = new CancellationTokenSource(maxWait, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(patience.Token, cancellationToken);
        RateLimitLease lease;
        try
        {
            var pending = _bucket.AcquireAsync(1, linked.Token);
            if (!pending.IsCompleted)
            {
                Changed?.Invoke(this);
            }

            lease = await pending;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Changed?.Invoke(this);
            return BudgetDecision.Refused(NextFreeSlotIn());
        }

        using (lease)
        {
            if (!lease.IsAcquired)
            {
                return BudgetDecision.Refused(NextFreeSlotIn());
            }
        }

        Interlocked.Increment(ref _inFlight);
        Changed?.Invoke(this);
        return BudgetDecision.Granted;
    }

    /// <summary>Called when an upstream answer (or failure) comes back for a request this budget granted.</summary>
    public void Complete(RateLimitHeaders headers)
    {
        var othersInFlight = Math.Max(0, Interlocked.Decrement(ref _inFlight));
        if (headers.RemainingRequests is { } remaining)
        {
            // Requests still in flight were not counted in this answer yet: they will use up part of `remaining`.
            var trustworthy = Math.Max(0, remaining - othersInFlight);
            var excess = Available - trustworthy;
            if (excess > 0)
            {
                _bucket.AttemptAcquire((int)Math.Min(excess, RequestsPerMinute)).Dispose();
            }

            if (trustworthy == 0 && headers.ResetRequests is { } reset)
            {
                HoldUntil(_time.GetUtcNow() + reset);
            }
        }

        Changed?.Invoke(this);
    }

    /// <summary>Keeps the bucket from refilling until <paramref name="until"/> (upstream said the window is used up).</summary>
    public void HoldUntil(DateTimeOffset until)
    {
        lock (_gate)
        {
            if (until > _heldUntil)
            {
                _heldUntil = until;
            }
        }
    }

    /// <summary>How long until a newly queued request would get a slot.</summary>
    public TimeSpan NextFreeSlotIn()
    {
        var now = _time.GetUtcNow();
        DateTimeOffset next;
        lock (_gate)
        {
            next = _nextRefill > _heldUntil ? _nextRefill : _heldUntil + _refillPeriod;
        }

        var wait = next - now + (_refillPeriod * Queued);
        return wait > TimeSpan.Zero ? wait : _refillPeriod;
    }

    private void Refill()
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            _nextRefill = now + _refillPeriod;
            if (now < _heldUntil)
            {
                return;
            }
        }

        _bucket.TryReplenish();
        Changed?.Invoke(this);
    }

    public void Dispose()
    {
        _refillTimer.Dispose();
        _bucket.Dispose();
    }
}

/// <summary>Whether a request may go upstream now, and if not, when to ask again.</summary>
public readonly record struct BudgetDecision(bool IsGranted, TimeSpan RetryAfter)
{
    public static BudgetDecision Granted => new(true, TimeSpan.Zero);

    public static BudgetDecision Refused(TimeSpan retryAfter) => new(false, retryAfter);
}
