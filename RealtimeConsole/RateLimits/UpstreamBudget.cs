namespace RealtimeConsole.RateLimits;

/// <summary>
/// The client-side request budget for one upstream resource, so a request upstream would refuse is never sent.
/// A token bucket on the injected clock whose size and refill rate are upstream's: configuration is only the first guess,
/// replaced by <c>x-ratelimit-limit-requests</c> (and the window implied by <c>x-ratelimit-reset-requests</c>) as soon as an
/// answer carries them. Until an answer has been seen (a cold start), the budget probes: one request goes, the others
/// wait for its headers. Waiters are served first come, first served; a caller that waits longer than it may is refused
/// with the time of the next free slot.
/// Each grant carries a ticket numbered in the order requests were let go; an answer's <c>remaining</c> is read as having
/// counted every request sent before it and none sent after it, so the level is lowered to <c>remaining</c> minus the
/// requests sent later and still in flight. Only the newest answer may raise the level, and only to <c>remaining</c>
/// minus every request that may have reached upstream after it (those still in flight, and those answered since it was
/// sent), so an answer that was overtaken on the way never lends slots upstream no longer has.
/// </summary>
public sealed class UpstreamBudget : IUpstreamBudget, IDisposable
{
    private static readonly TimeSpan DefaultWindow = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private readonly SortedSet<long> _inFlight = [];
    private readonly ITimer _pumpTimer;
    private int _limit;
    private TimeSpan _window = DefaultWindow;
    private LimitSource _source = LimitSource.Guess;

    // The level in units: one request is _window.Ticks units, and every elapsed tick adds _limit units (exact integers).
    private long _units;
    private long _stampTicks;
    private bool _probeInFlight;
    private long _lastTicket;
    private long _newestAnswered;
    private long _answered;
    private bool _disposed;

    // Other consumers of the organization, estimated from what upstream's remaining lost beyond our own requests.
    private long _othersPerWindow;
    private OthersSample? _lastAnswer;
    private double _othersSeen;
    private long _othersSeenOverTicks;
    private int _refusedSinceAnswer;

    public UpstreamBudget(UpstreamResource resource, int guessPerMinute, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(guessPerMinute, 1);
        Resource = resource;
        GuessPerMinute = guessPerMinute;
        _time = time;
        _limit = guessPerMinute;
        _units = Capacity;
        _stampTicks = time.GetUtcNow().UtcTicks;
        _pumpTimer = time.CreateTimer(_ => Pump(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// A budget of a fixed <paramref name="perMinute"/> that never takes a limit from upstream's headers (only lowers its level
    /// from them): this instance's share of the deployment's limit while the shared store cannot be reached.
    /// </summary>
    public static UpstreamBudget ForLocalShare(UpstreamResource resource, int perMinute, long startAvailable, TimeProvider time)
    {
        var budget = new UpstreamBudget(resource, perMinute, time);
        budget._source = LimitSource.LocalShare;
        budget._units = Math.Clamp(startAvailable, 0, perMinute) * budget._window.Ticks;
        return budget;
    }

    public UpstreamResource Resource { get; }

    /// <summary>The configured starting guess (requests per minute).</summary>
    public int GuessPerMinute { get; }

    /// <summary>Requests allowed per <see cref="Window"/>: upstream's limit once learned, the guess before.</summary>
    public int Limit
    {
        get { lock (_gate) { return _limit; } }
    }

    /// <summary>The window the limit refills over (one minute unless upstream's reset times say otherwise).</summary>
    public TimeSpan Window
    {
        get { lock (_gate) { return _window; } }
    }

    /// <summary>The limit expressed per minute, for people and for Retry-After arithmetic.</summary>
    public int RequestsPerMinute
    {
        get { lock (_gate) { return PerMinute(_limit, _window); } }
    }

    /// <summary>Where <see cref="Limit"/> comes from: the configured guess, or upstream's headers.</summary>
    public LimitSource Source
    {
        get { lock (_gate) { return _source; } }
    }

    /// <summary>True while the first request is out finding upstream's limit and everyone else waits for its answer.</summary>
    public bool IsProbing
    {
        get { lock (_gate) { return _source == LimitSource.Guess && _probeInFlight; } }
    }

    /// <summary>Whole requests the budget would let go now.</summary>
    public long Available
    {
        get
        {
            lock (_gate)
            {
                Refill();
                return _units / _window.Ticks;
            }
        }
    }

    public long Queued
    {
        get { lock (_gate) { return _waiters.Count; } }
    }

    /// <summary>Requests granted and not yet answered.</summary>
    public int InFlight
    {
        get { lock (_gate) { return _inFlight.Count; } }
    }

    /// <summary>When the next slot frees up if the budget is empty now; null while a slot is free.</summary>
    public DateTimeOffset? EmptyUntil
    {
        get
        {
            lock (_gate)
            {
                Refill();
                return _source != LimitSource.Guess && _units < _window.Ticks ? _time.GetUtcNow() + UntilNextUnit() : null;
            }
        }
    }

    /// <summary>Raised when the level, the limit or the queue changes (telemetry listens).</summary>
    public event Action<IUpstreamBudget>? Changed;

    /// <summary>Requests per minute other consumers of the organization take from the same limit, as upstream's answers show it.</summary>
    public int OthersPerMinute
    {
        get { lock (_gate) { return (int)Math.Round(_othersPerWindow * (DefaultWindow / _window)); } }
    }

    /// <summary>Words for the limit in force, e.g. "20/min, learned from upstream".</summary>
    public string DescribeLimit()
    {
        lock (_gate)
        {
            var perMinute = PerMinute(_limit, _window);
            return _source switch
            {
                LimitSource.Guess => $"{perMinute}/min, the configured guess until upstream's first answer",
                LimitSource.LocalShare => $"{perMinute}/min, this instance's share while the shared store is unreachable",
                _ when _othersPerWindow > 0 => $"{perMinute}/min, learned from upstream; about {(int)Math.Round(_othersPerWindow * (DefaultWindow / _window))}/min of it taken by other consumers of the organization",
                _ => $"{perMinute}/min, learned from upstream",
            };
        }
    }

    /// <summary>Waits at most <paramref name="maxWait"/> for a slot; on timeout says when the next one frees up.</summary>
    public async ValueTask<BudgetDecision> AcquireAsync(TimeSpan maxWait, CancellationToken cancellationToken)
    {
        Waiter? waiter = null;
        var immediate = default(BudgetTicket);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Refill();
            if (_waiters.Count > 0 || !TryGrant(out immediate))
            {
                if (maxWait <= TimeSpan.Zero)
                {
                    return BudgetDecision.Refused(NextFreeSlotInLocked());
                }

                waiter = new Waiter();
                waiter.Node = _waiters.AddLast(waiter);
                SchedulePump();
            }
        }

        if (waiter is null)
        {
            return Granted(immediate);
        }

        Changed?.Invoke(this);
        using var patience = new CancellationTokenSource(maxWait, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(patience.Token, cancellationToken);
        try
        {
            return Granted(await waiter.Granted.Task.WaitAsync(linked.Token));
        }
        catch (OperationCanceledException)
        {
            BudgetDecision? decision = null;
            lock (_gate)
            {
                if (waiter.Node!.List is not null)
                {
                    _waiters.Remove(waiter.Node);
                    decision = BudgetDecision.Refused(NextFreeSlotInLocked());
                }
            }

            if (decision is null)
            {
                // Granted at the very moment the wait ended: the slot is this caller's.
                return Granted(await waiter.Granted.Task);
            }

            Changed?.Invoke(this);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            return decision.Value;
        }
    }

    /// <summary>
    /// Called when the request granted <paramref name="ticket"/> ends. <paramref name="headers"/> is null when no HTTP answer
    /// came back (connection failure, timeout): nothing is learned, and a probe lets the next request try.
    /// </summary>
    /// <param name="refusedUpstream">Upstream answered 429: the request took nothing from its limit (only the estimate of others cares).</param>
    public void Complete(BudgetTicket ticket, RateLimitHeaders? headers, bool refusedUpstream = false)
    {
        List<Waiter>? granted;
        lock (_gate)
        {
            Refill();
            var wasProbing = _source == LimitSource.Guess;
            _inFlight.Remove(ticket.Sequence);
            // Answered while this request was out: sent before it, but they may have reached upstream after it.
            var answeredMeanwhile = Math.Max(0, _answered - ticket.AnsweredBefore);
            _answered++;
            if (refusedUpstream)
            {
                _refusedSinceAnswer++;
            }

            if (ticket.IsProbe)
            {
                _probeInFlight = false;
            }

            var isNewest = ticket.Sequence > _newestAnswered;
            _newestAnswered = Math.Max(_newestAnswered, ticket.Sequence);
            if (headers is not null)
            {
                Learn(headers, refusedUpstream);
            }

            if (headers?.RemainingRequests is { } remaining)
            {
                if (isNewest && _source == LimitSource.Upstream)
                {
                    EstimateOthers(ticket.Sequence, remaining, headers.ResetRequests, refusedUpstream);
                }

                var sentAfter = _inFlight.GetViewBetween(ticket.Sequence + 1, long.MaxValue).Count;
                var surelyLeft = Math.Max(0, remaining - sentAfter);
                // Other consumers draw on the same level: one of their requests may land between this answer and our next
                // request's arrival, so while they are known to be there one slot of what upstream has left is theirs.
                var othersReserve = _othersPerWindow > 0 ? _window.Ticks : 0;
                if (wasProbing)
                {
                    _units = Math.Min(Capacity, surelyLeft * _window.Ticks);
                }
                else if (MostUnitsHeld(remaining, headers.ResetRequests) - sentAfter * _window.Ticks - othersReserve is var most && _units > most)
                {
                    // Upstream has less than we thought (another consumer, a lower limit, a part slot it has not refilled yet):
                    // obey at once.
                    _units = Math.Max(0, most);
                }
                else if (isNewest && Math.Max(0, (remaining - _inFlight.Count - answeredMeanwhile) * _window.Ticks - othersReserve) is var atLeast && atLeast > _units)
                {
                    // Upstream has more than we thought even counting every request that may have reached it after this one
                    // (a limit that rose, a slot an overtaken answer made us take back). Never more: a request this one
                    // overtook on the way out is not in `remaining`, whether its own answer is back or not, and lending its
                    // slot would send a request into a 429.
                    _units = Math.Min(Capacity, atLeast);
                }
            }

            granted = GrantWaiters();
            SchedulePump();
        }

        Release(granted);
        Changed?.Invoke(this);
    }

    public ValueTask CompleteAsync(BudgetTicket ticket, RateLimitHeaders? headers, bool refusedUpstream = false)
    {
        Complete(ticket, headers, refusedUpstream);
        return ValueTask.CompletedTask;
    }

    /// <summary>How long until a newly queued request would get a slot.</summary>
    public TimeSpan NextFreeSlotIn()
    {
        lock (_gate)
        {
            Refill();
            return NextFreeSlotInLocked();
        }
    }

    private TimeSpan NextFreeSlotInLocked()
    {
        var perRequest = _window / RefillPerTick;
        if (_source == LimitSource.Guess)
        {
            // Upstream's limit is not known yet; its first answer is about one round trip away.
            return perRequest > TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : perRequest;
        }

        // Callers already queued take the first slots; a whole window refills within one window.
        var wait = UntilNextUnit() + TimeSpan.FromTicks(Math.Min(perRequest.Ticks * _waiters.Count, _window.Ticks));
        return wait > TimeSpan.Zero ? wait : perRequest;
    }

    private void Learn(RateLimitHeaders headers, bool refusedUpstream)
    {
        if (_source == LimitSource.LocalShare)
        {
            // The share is fixed while it lasts: upstream's limit is the whole deployment's, not this instance's.
            return;
        }

        if (headers.LimitRequests is not { } limit || limit < 1)
        {
            if (_source == LimitSource.Guess)
            {
                // Upstream answered without saying its limit: the guess is all there is.
                _source = LimitSource.UpstreamSilent;
            }

            return;
        }

        // A 429's reset need not be the bucket's (a storm says when it ends): only accepted answers tell the window.
        var window = refusedUpstream ? _window : InferWindow(limit, headers.RemainingRequests, headers.ResetRequests);
        if (window != _window)
        {
            _units = _units / _window.Ticks * window.Ticks;
            _window = window;
        }

        _limit = limit;
        _units = Math.Min(_units, Capacity);
        _source = LimitSource.Upstream;
    }

    /// <summary>
    /// The window a limit refills over, from how long upstream says a full refill takes: with <c>used = limit - remaining</c>
    /// whole requests missing, the reset lies between <c>(used - 1)</c> and <c>used</c> slot periods. One minute (or the
    /// current window) is kept while it fits; upstream's figures replace it only when they clearly disagree.
    /// </summary>
    private TimeSpan InferWindow(int limit, int? remaining, TimeSpan? reset)
    {
        if (remaining is not { } left || reset is not { } full || full <= TimeSpan.Zero || left >= limit)
        {
            return _window;
        }

        var used = limit - left;
        bool Fits(TimeSpan window)
        {
            var perRequest = window / limit;
            return full <= perRequest * used * 1.05 + TimeSpan.FromMilliseconds(50) && full >= perRequest * (used - 1) * 0.95 - TimeSpan.FromMilliseconds(50);
        }

        if (Fits(_window))
        {
            return _window;
        }

        if (Fits(DefaultWindow))
        {
            return DefaultWindow;
        }

        var estimate = full / used * limit;
        return TimeSpan.FromMilliseconds(Math.Clamp(Math.Round(estimate.TotalMilliseconds), 1_000, TimeSpan.FromDays(1).TotalMilliseconds));
    }

    /// <summary>
    /// Between two answers upstream's level fell by what everyone sent and rose by its refill; what we sent is known (the
    /// tickets between them), so the rest is other consumers'. The level is read to the unit from the time until full where
    /// upstream gives it (whole requests alone would make up to one request of noise per sample: 4/min at 20/min over 15 s).
    /// Summed over at least a quarter of the window, it lowers our refill rate to what is left for us.
    /// </summary>
    private void EstimateOthers(long sequence, int remaining, TimeSpan? reset, bool refused429)
    {
        if (refused429)
        {
            // A 429's remaining may say nothing of other consumers (a storm answers "0 left" whatever was spent): the
            // chain goes from the last accepted answer to the next one, without this request among ours.
            return;
        }

        var now = _time.GetUtcNow().UtcTicks;
        var previous = _lastAnswer;
        _lastAnswer = new OthersSample(sequence, remaining, ExactLevelUnits(remaining, reset) ?? (long)remaining * _window.Ticks, now);
        var refused = _refusedSinceAnswer;
        _refusedSinceAnswer = 0;
        if (remaining >= _limit)
        {
            // A full bucket: nobody is draining it now.
            _othersPerWindow /= 2;
        }

        if (previous is null || remaining >= _limit || previous.Remaining >= _limit)
        {
            // A full bucket hides how much refill was lost: start the sum again.
            _othersSeen = 0;
            _othersSeenOverTicks = 0;
            return;
        }

        var elapsed = now - previous.AtTicks;
        var refilled = (double)elapsed * _limit / _window.Ticks;
        var fell = (double)(previous.LevelUnits - _lastAnswer.LevelUnits) / _window.Ticks;
        _othersSeen += fell + refilled - Math.Max(0, sequence - previous.Sequence - refused);
        _othersSeenOverTicks += elapsed;
        if (_othersSeenOverTicks < _window.Ticks / 4)
        {
            return;
        }

        // Quick to believe more (a 429 costs quota), slow to believe less (one quiet spell is not a trend).
        var sample = Math.Max(0, _othersSeen) * _window.Ticks / _othersSeenOverTicks;
        var estimate = sample >= _othersPerWindow ? sample : (_othersPerWindow + sample) / 2;
        // Never all of it: a tenth of the limit keeps our answers (and so the estimate) coming.
        _othersPerWindow = (long)Math.Clamp(Math.Round(estimate), 0, _limit - Math.Max(1, (_limit + 9) / 10));
        _othersSeen = 0;
        _othersSeenOverTicks = 0;
    }

    /// <summary>
    /// Upstream's level in units with <paramref name="remaining"/> whole requests left, to the unit from the time until it is
    /// full again (<paramref name="reset"/>, kept within that slot); null where the reset does not say it.
    /// </summary>
    private long? ExactLevelUnits(int remaining, TimeSpan? reset)
    {
        var whole = (long)remaining * _window.Ticks;
        return reset is { } full && full > TimeSpan.Zero && full < _window
            ? Math.Clamp(Capacity - (full.Ticks * _limit), whole, whole + _window.Ticks - 1)
            : null;
    }

    /// <summary>The most upstream can hold with <paramref name="remaining"/> whole requests left: its exact level, or up to one unit short of the next slot.</summary>
    private long MostUnitsHeld(int remaining, TimeSpan? reset) =>
        (_source == LimitSource.Upstream ? ExactLevelUnits(remaining, reset) : null) ?? ((long)remaining * _window.Ticks) + _window.Ticks - 1;

    /// <summary>Units our level gains per tick: upstream's refill less what other consumers take of it.</summary>
    private long RefillPerTick => Math.Max(1, _limit - _othersPerWindow);

    private long Capacity => _limit * _window.Ticks;

    private void Refill()
    {
        var now = _time.GetUtcNow().UtcTicks;
        var elapsed = Math.Clamp(now - _stampTicks, 0, _window.Ticks);
        _stampTicks = now;
        if (_units < Capacity)
        {
            // A full bucket does not accrue: like upstream's, it starts refilling with the first request below full.
            _units = Math.Min(Capacity, _units + elapsed * RefillPerTick);
        }
    }

    private TimeSpan UntilNextUnit() =>
        _units >= _window.Ticks ? TimeSpan.Zero : TimeSpan.FromTicks((_window.Ticks - _units + RefillPerTick - 1) / RefillPerTick);

    private bool TryGrant(out BudgetTicket ticket)
    {
        if (_source == LimitSource.Guess)
        {
            if (_probeInFlight)
            {
                ticket = default;
                return false;
            }

            _probeInFlight = true;
            ticket = Issue(isProbe: true);
            return true;
        }

        if (_units < _window.Ticks)
        {
            ticket = default;
            return false;
        }

        _units -= _window.Ticks;
        ticket = Issue(isProbe: false);
        return true;
    }

    private BudgetTicket Issue(bool isProbe)
    {
        var sequence = ++_lastTicket;
        _inFlight.Add(sequence);
        return new BudgetTicket(sequence, isProbe, AnsweredBefore: _answered);
    }

    private List<Waiter>? GrantWaiters()
    {
        List<Waiter>? granted = null;
        while (_waiters.First is { } first && TryGrant(out var ticket))
        {
            _waiters.RemoveFirst();
            first.Value.Ticket = ticket;
            (granted ??= []).Add(first.Value);
        }

        return granted;
    }

    private static void Release(List<Waiter>? granted) => granted?.ForEach(w => w.Granted.TrySetResult(w.Ticket));

    private void SchedulePump()
    {
        if (_disposed)
        {
            return;
        }

        var due = _waiters.Count > 0 && _source != LimitSource.Guess ? UntilNextUnit() : Timeout.InfiniteTimeSpan;
        _pumpTimer.Change(due == TimeSpan.Zero ? TimeSpan.FromTicks(1) : due, Timeout.InfiniteTimeSpan);
    }

    private void Pump()
    {
        List<Waiter>? granted;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            Refill();
            granted = GrantWaiters();
            SchedulePump();
        }

        Release(granted);
        if (granted is not null)
        {
            Changed?.Invoke(this);
        }
    }

    private BudgetDecision Granted(BudgetTicket ticket)
    {
        Changed?.Invoke(this);
        return BudgetDecision.Granted(ticket);
    }

    private static int PerMinute(int limit, TimeSpan window) =>
        (int)Math.Max(1, Math.Round(limit * (DefaultWindow / window)));

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        _pumpTimer.Dispose();
    }

    private sealed record OthersSample(long Sequence, int Remaining, long LevelUnits, long AtTicks);

    private sealed class Waiter
    {
        public TaskCompletionSource<BudgetTicket> Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }

        public BudgetTicket Ticket { get; set; }
    }
}

/// <summary>
/// A request budget for one upstream resource: <see cref="UpstreamBudget"/> in one process, or one every instance of a
/// deployment spends from through the shared store. Everything but <see cref="AcquireAsync"/> and
/// <see cref="CompleteAsync"/> reads what this instance last knew, without a round trip.
/// </summary>
public interface IUpstreamBudget
{
    UpstreamResource Resource { get; }

    /// <summary>The configured starting guess (requests per minute).</summary>
    int GuessPerMinute { get; }

    /// <summary>Requests allowed per <see cref="Window"/>.</summary>
    int Limit { get; }

    TimeSpan Window { get; }

    int RequestsPerMinute { get; }

    LimitSource Source { get; }

    bool IsProbing { get; }

    long Available { get; }

    long Queued { get; }

    int InFlight { get; }

    DateTimeOffset? EmptyUntil { get; }

    event Action<IUpstreamBudget>? Changed;

    string DescribeLimit();

    ValueTask<BudgetDecision> AcquireAsync(TimeSpan maxWait, CancellationToken cancellationToken);

    /// <summary>The request granted <paramref name="ticket"/> ended; <paramref name="headers"/> is null when no HTTP answer came back.</summary>
    ValueTask CompleteAsync(BudgetTicket ticket, RateLimitHeaders? headers, bool refusedUpstream = false);

    TimeSpan NextFreeSlotIn();
}

/// <summary>Where a budget's limit comes from.</summary>
public enum LimitSource
{
    /// <summary>The configured guess; upstream has not answered yet, so the budget probes.</summary>
    Guess,

    /// <summary>Upstream answered without <c>x-ratelimit-*</c> headers: the guess stands.</summary>
    UpstreamSilent,

    /// <summary>Upstream's <c>x-ratelimit-limit-requests</c>.</summary>
    Upstream,

    /// <summary>This instance's share of the learned limit while the shared store cannot be reached.</summary>
    LocalShare,
}

/// <summary>Whether a request may go upstream now, and if not, when to ask again.</summary>
public readonly record struct BudgetDecision(bool IsGranted, TimeSpan RetryAfter, BudgetTicket Ticket)
{
    public static BudgetDecision Granted(BudgetTicket ticket) => new(true, TimeSpan.Zero, ticket);

    public static BudgetDecision Refused(TimeSpan retryAfter) => new(false, retryAfter, default);
}

/// <summary>The place of a granted request in the order requests were let go upstream; a probe finds upstream's limit.</summary>
/// <param name="IsShared">The shared store issued it, so its answer goes back there.</param>
/// <param name="AnsweredBefore">Answers the budget had taken in when it was issued: those taken in after it may be of requests
/// that reached upstream after this one, so its <c>remaining</c> does not count them.</param>
public readonly record struct BudgetTicket(long Sequence, bool IsProbe = false, bool IsShared = false, long AnsweredBefore = 0);
