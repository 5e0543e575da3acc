using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace RealtimeConsole.RateLimits;

/// <summary>
/// The client-side request budget for one upstream resource, so a request upstream would refuse is never sent.
/// A token bucket on the injected clock: the tokens are the permits of a System.Threading.RateLimiting
/// <see cref="ConcurrencyLimiter"/> (which does the fair, cancellable queueing); a spent permit is kept until the refill
/// timer hands one back per interval. Lowered live from each answer's <c>x-ratelimit-remaining-requests</c>, and held
/// shut at zero until upstream has a slot again (from <c>x-ratelimit-reset-requests</c>).
/// Each grant carries a ticket numbered in the order requests were let go; an answer's <c>remaining</c> is read as
/// having counted every request sent before it and none of those sent after it. Requests can overtake each other on
/// the way, so a correction may lower the level a slot too far: the newest answer may hand such slots back, never more
/// than corrections took, so the level never rises above what the local bucket alone allows.
/// </summary>
public sealed class UpstreamBudget : IDisposable
{
    private readonly TimeProvider _time;
    private readonly ConcurrencyLimiter _bucket;
    private readonly ConcurrentQueue<RateLimitLease> _spent = new();
    private readonly Stack<RateLimitLease> _corrections = new();
    private readonly ITimer _refillTimer;
    private readonly TimeSpan _refillPeriod;
    private readonly Lock _gate = new();
    private DateTimeOffset _nextRefill;
    private bool _refilling;
    private DateTimeOffset _heldUntil;
    private readonly SortedSet<long> _inFlight = [];
    private long _lastTicket;
    private long _newestAnswered;

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
        _refillTimer = time.CreateTimer(_ => Refill(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
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

    /// <summary>Requests granted and not yet answered.</summary>
    public int InFlight
    {
        get { lock (_gate) { return _inFlight.Count; } }
    }

    private BudgetDecision Granted(RateLimitLease spent)
    {
        _spent.Enqueue(spent);
        long ticket;
        lock (_gate)
        {
            ticket = ++_lastTicket;
            _inFlight.Add(ticket);
            if (!_refilling)
            {
                // A full bucket does not refill; upstream's starts with the first request below full, and so does this one's,
                // so a slot never comes back here before it has come back there.
                _refilling = true;
                _nextRefill = _time.GetUtcNow() + _refillPeriod;
                _refillTimer.Change(_refillPeriod, _refillPeriod);
            }
        }

        Changed?.Invoke(this);
        return BudgetDecision.Granted(new BudgetTicket(ticket));
    }

    /// <summary>Called when an upstream answer (or failure) comes back for the request granted <paramref name="ticket"/>.</summary>
    public void Complete(BudgetTicket ticket, RateLimitHeaders headers)
    {
        long? trustworthy = null;
        List<RateLimitLease>? handBack = null;
        lock (_gate)
        {
            _inFlight.Remove(ticket.Sequence);
            var isNewest = ticket.Sequence > _newestAnswered;
            _newestAnswered = Math.Max(_newestAnswered, ticket.Sequence);
            if (headers.RemainingRequests is { } remaining)
            {
                // Requests let go after this one had not reached upstream when it answered: they will use up part of
                // `remaining`. Those let go before it were counted already, even if their answers are still on the way.
                var sentAfter = _inFlight.GetViewBetween(ticket.Sequence + 1, long.MaxValue).Count;
                trustworthy = Math.Max(0, remaining - sentAfter);
                var excess = Available - trustworthy.Value;
                if (excess > 0)
                {
                    TakeAway(excess);
                }
                else if (excess < 0 && isNewest)
                {
                    handBack = HandBack(-excess);
                }
            }
        }

        if (handBack is not null)
        {
            // Outside the lock: handing a permit back may run the oldest queued caller's continuation.
            handBack.ForEach(lease => lease.Dispose());
        }

        if (trustworthy == 0 && headers.ResetRequests is { } reset)
        {
            // reset-requests is the time until the whole window is back; one request comes back after reset / limit.
            var limit = Math.Max(1, headers.LimitRequests ?? RequestsPerMinute);
            HoldUntil(_time.GetUtcNow() + (reset / Math.Max(1, limit - headers.RemainingRequests!.Value)));
        }

        Changed?.Invoke(this);
    }

    private void TakeAway(long excess)
    {
        for (; excess > 0; excess--)
        {
            var drained = _bucket.AttemptAcquire(1);
            if (!drained.IsAcquired)
            {
                drained.Dispose();
                break;
            }

            _corrections.Push(drained);
        }
    }

    private List<RateLimitLease>? HandBack(long shortfall)
    {
        List<RateLimitLease>? leases = null;
        for (; shortfall > 0 && _corrections.TryPop(out var lease); shortfall--)
        {
            (leases ??= []).Add(lease);
        }

        return leases;
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

        if (_spent.TryDequeue(out var spent) || TryTakeCorrection(out spent))
        {
            // Handing the permit back also serves the oldest queued caller.
            spent.Dispose();
        }

        lock (_gate)
        {
            if (_refilling && _spent.IsEmpty && _corrections.Count == 0)
            {
                // Full again: stop until the next request, which restarts the refill clock.
                _refilling = false;
                _refillTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
        }

        Changed?.Invoke(this);
    }

    private bool TryTakeCorrection([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RateLimitLease? lease)
    {
        lock (_gate)
        {
            return _corrections.TryPop(out lease);
        }
    }

    public void Dispose()
    {
        _refillTimer.Dispose();
        while (_spent.TryDequeue(out var spent) || TryTakeCorrection(out spent))
        {
            spent.Dispose();
        }

        _bucket.Dispose();
    }
}

/// <summary>Whether a request may go upstream now, and if not, when to ask again.</summary>
public readonly record struct BudgetDecision(bool IsGranted, TimeSpan RetryAfter, BudgetTicket Ticket)
{
    public static BudgetDecision Granted(BudgetTicket ticket) => new(true, TimeSpan.Zero, ticket);

    public static BudgetDecision Refused(TimeSpan retryAfter) => new(false, retryAfter, default);
}

/// <summary>The place of a granted request in the order requests were let go upstream.</summary>
public readonly record struct BudgetTicket(long Sequence);
