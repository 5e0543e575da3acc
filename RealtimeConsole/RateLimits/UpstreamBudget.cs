using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace RealtimeConsole.RateLimits;

/// <summary>
/// The client-side request budget for one upstream resource, so a request upstream would refuse is never sent.
/// A token bucket on the injected clock: the tokens are the permits of a System.Threading.RateLimiting
/// <see cref="ConcurrencyLimiter"/> (which does the fair, cancellable queueing); a spent permit is kept until the refill
/// timer hands one back per interval. Lowered live from each answer's <c>x-ratelimit-remaining-requests</c>, and held
/// shut at zero until upstream has a slot again (from <c>x-ratelimit-reset-requests</c>).
/// </summary>
public sealed class UpstreamBudget : IDisposable
{
    private readonly TimeProvider _time;
    private readonly ConcurrencyLimiter _bucket;
    private readonly ConcurrentQueue<RateLimitLease> _spent = new();
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
        _bucket = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = requestsPerMinute,
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
        var immediate = _bucket.AttemptAcquire(1);
        if (immediate.IsAcquired)
        {
            return Granted(immediate);
        }

        immediate.Dispose();

        if (maxWait <= TimeSpan.Zero)
        {
            return BudgetDecision.Refused(NextFreeSlotIn());
        }

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

        if (!lease.IsAcquired)
        {
            lease.Dispose();
            return BudgetDecision.Refused(NextFreeSlotIn());
        }

        return Granted(lease);
    }

    private BudgetDecision Granted(RateLimitLease spent)
    {
        _spent.Enqueue(spent);
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
            for (var excess = Available - trustworthy; excess > 0; excess--)
            {
                var drained = _bucket.AttemptAcquire(1);
                if (!drained.IsAcquired)
                {
                    drained.Dispose();
                    break;
                }

                _spent.Enqueue(drained);
            }

            if (trustworthy == 0 && headers.ResetRequests is { } reset)
            {
                // reset-requests is the time until the whole window is back; one request comes back after reset / limit.
                var limit = Math.Max(1, headers.LimitRequests ?? RequestsPerMinute);
                HoldUntil(_time.GetUtcNow() + (reset / Math.Max(1, limit - remaining)));
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

        // Callers ahead in the queue take the first slots; a whole window refills within a minute of the next slot.
        var wait = next - now + TimeSpan.FromTicks(Math.Min(_refillPeriod.Ticks * Queued, TimeSpan.FromMinutes(1).Ticks));
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

        if (_spent.TryDequeue(out var spent))
        {
            // Handing the permit back also serves the oldest queued caller.
            spent.Dispose();
            Changed?.Invoke(this);
        }
    }

    public void Dispose()
    {
        _refillTimer.Dispose();
        while (_spent.TryDequeue(out var spent))
        {
            spent.Dispose();
        }

        _bucket.Dispose();
    }
}

/// <summary>Whether a request may go upstream now, and if not, when to ask again.</summary>
public readonly record struct BudgetDecision(bool IsGranted, TimeSpan RetryAfter)
{
    public static BudgetDecision Granted => new(true, TimeSpan.Zero);

    public static BudgetDecision Refused(TimeSpan retryAfter) => new(false, retryAfter);
}
