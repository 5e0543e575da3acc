using RealtimeConsole.Deployment;
using StackExchange.Redis;

namespace RealtimeConsole.RateLimits.Shared;

/// <summary>
/// One budget for a resource that every instance of a deployment spends from: each grant is one atomic script in Redis
/// (<see cref="SharedBudgetScripts"/>). Callers of this instance queue in line; the head asks Redis and, when refused,
/// waits for the next slot or for another instance's answer (published on the budget's channel). While Redis cannot be
/// reached the instance spends from a local share (the learned limit divided by the instances last seen alive) and, when
/// Redis answers again, charges the shared level with what it spent meanwhile.
/// </summary>
public sealed class RedisUpstreamBudget : IUpstreamBudget, IDisposable
{
    private const int MaxRounds = 10_000;

    private readonly RedisStore _store;
    private readonly DeploymentMembers _members;
    private readonly TimeProvider _time;
    private readonly TimeSpan _lease;
    private readonly RedisKey[] _keys;
    private readonly RedisChannel _changed;
    private readonly SemaphoreSlim _line = new(1, 1);
    private readonly Lock _gate = new();
    private readonly List<UpstreamBudget> _retiredShares = [];
    private readonly Queue<DateTimeOffset> _spentAlone = new();
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Known _known;
    private UpstreamBudget? _localShare;
    private int _queued;
    private long _othersPerWindow;

    public RedisUpstreamBudget(UpstreamResource resource, int guessPerMinute, RedisStore store, DeploymentMembers members, TimeProvider time, TimeSpan lease)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(guessPerMinute, 1);
        Resource = resource;
        GuessPerMinute = guessPerMinute;
        _store = store;
        _members = members;
        _time = time;
        _lease = lease;
        var name = "budget:" + resource.ToWireName();
        _keys = [store.Key(name), store.Key(name + ":inflight"), store.Key(name + ":leases")];
        _changed = store.Channel(name + ":changed");
        _known = new Known(guessPerMinute, 60_000, LimitSource.Guess, guessPerMinute, 0, time.GetUtcNow());
        store.SubscribeWhenAvailable(_changed, (_, _) => Wake());
    }

    public UpstreamResource Resource { get; }

    public int GuessPerMinute { get; }

    public int Limit => LocalShare?.Limit ?? Known_.Limit;

    public TimeSpan Window => LocalShare?.Window ?? TimeSpan.FromMilliseconds(Known_.WindowMs);

    public int RequestsPerMinute => LocalShare?.RequestsPerMinute ?? PerMinute(Known_);

    public LimitSource Source => LocalShare?.Source ?? Known_.Source;

    public bool IsProbing => LocalShare is null && Known_.Source == LimitSource.Guess && Known_.InFlight > 0;

    public long Available => LocalShare?.Available ?? Math.Max(0, Known_.Available);

    public long Queued => (LocalShare?.Queued ?? 0) + Volatile.Read(ref _queued);

    public int InFlight => (LocalShare?.InFlight ?? 0) + (int)Known_.InFlight;

    public DateTimeOffset? EmptyUntil => LocalShare is { } share ? share.EmptyUntil
        : Known_ is { Source: not LimitSource.Guess, Available: <= 0 } known ? known.At + known.Wait : null;

    /// <summary>This instance's share per minute while it runs alone (the one its next request would spend from); null while the store answers.</summary>
    public int? LocalSharePerMinute => LocalShare?.RequestsPerMinute ?? (_store.IsAvailable ? null : SharePerMinute(Known_));

    /// <summary>The learned limit divided by the instances last seen alive.</summary>
    private int SharePerMinute(Known known) => Math.Max(1, PerMinute(known) / _members.LastSeenAlive);

    public event Action<IUpstreamBudget>? Changed;

    private Known Known_
    {
        get { lock (_gate) { return _known; } }
    }

    private UpstreamBudget? LocalShare
    {
        get { lock (_gate) { return _localShare; } }
    }

    public string DescribeLimit()
    {
        if (LocalShare is { } share)
        {
            return share.DescribeLimit();
        }

        var known = Known_;
        var others = (int)Math.Round(Volatile.Read(ref _othersPerWindow) * 60_000.0 / known.WindowMs);
        return known.Source == LimitSource.Guess
            ? $"{PerMinute(known)}/min, the configured guess until upstream's first answer"
            : $"{PerMinute(known)}/min, learned from upstream and shared by every instance"
                + (others > 0 ? $"; about {others}/min of it taken by other consumers of the organization" : "");
    }

    public async ValueTask<BudgetDecision> AcquireAsync(TimeSpan maxWait, CancellationToken cancellationToken)
    {
        if (!_store.IsAvailable)
        {
            return await SpendAloneAsync(maxWait, cancellationToken);
        }

        await RejoinAsync();
        Interlocked.Increment(ref _queued);
        Changed?.Invoke(this);
        using var patience = new CancellationTokenSource(maxWait > TimeSpan.Zero ? maxWait : TimeSpan.FromTicks(1), _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(patience.Token, cancellationToken);
        var holdsLine = false;
        try
        {
            holdsLine = _line.Wait(0);
            if (!holdsLine)
            {
                if (maxWait <= TimeSpan.Zero)
                {
                    return BudgetDecision.Refused(NextFreeSlotIn(ahead: Volatile.Read(ref _queued) - 1));
                }

                try
                {
                    await _line.WaitAsync(linked.Token);
                    holdsLine = true;
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    return BudgetDecision.Refused(NextFreeSlotIn(ahead: Volatile.Read(ref _queued) - 1));
                }
            }

            for (var round = 0; round < MaxRounds; round++)
            {
                var wake = WakeSignal();
                Answer answer;
                try
                {
                    answer = await GrantAsync();
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    _store.ReportFailure(e);
                    return await SpendAloneAsync(maxWait, cancellationToken);
                }

                if (answer.Granted)
                {
                    return BudgetDecision.Granted(new BudgetTicket(answer.Sequence, answer.IsProbe, IsShared: true, answer.AnsweredBefore));
                }

                if (maxWait <= TimeSpan.Zero)
                {
                    return BudgetDecision.Refused(NextFreeSlotIn(ahead: Volatile.Read(ref _queued) - 1));
                }

                try
                {
                    await Task.WhenAny(Task.Delay(answer.Wait, _time, linked.Token), wake.WaitAsync(linked.Token));
                    linked.Token.ThrowIfCancellationRequested();
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    return BudgetDecision.Refused(NextFreeSlotIn(ahead: Volatile.Read(ref _queued) - 1));
                }
            }

            return BudgetDecision.Refused(NextFreeSlotIn(ahead: Volatile.Read(ref _queued) - 1));
        }
        finally
        {
            if (holdsLine)
            {
                _line.Release();
            }

            Interlocked.Decrement(ref _queued);
            Changed?.Invoke(this);
        }
    }

    public async ValueTask CompleteAsync(BudgetTicket ticket, RateLimitHeaders? headers, bool refusedUpstream = false)
    {
        if (!ticket.IsShared)
        {
            // Granted from the local share: its answer corrects that share (retired or not).
            ShareThatIssued()?.Complete(ticket, headers, refusedUpstream);
            Changed?.Invoke(this);
            return;
        }

        try
        {
            var result = (RedisResult[])(await _store.Database.ScriptEvaluateAsync(SharedBudgetScripts.Complete, _keys,
            [
                Now(), ticket.Sequence, ticket.IsProbe ? 1 : 0, headers is null ? 0 : 1,
                headers?.LimitRequests ?? -1, headers?.RemainingRequests ?? -1,
                headers?.ResetRequests is { } reset ? (long)reset.TotalMilliseconds : -1,
                refusedUpstream ? 1 : 0, ticket.AnsweredBefore,
            ]))!;
            _store.ReportSuccess();
            if (result.Length == 7)
            {
                Remember((long)result[0], (long)result[1], (int)(long)result[2], (long)result[3], 0, (long)result[4]);
                Volatile.Write(ref _othersPerWindow, (long)result[5]);
                if ((long)result[6] == 1)
                {
                    // Slots appeared (a probe answered, a limit rose): callers waiting on any instance ask again now.
                    await _store.Subscriber.PublishAsync(_changed, "budget");
                }
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // The ticket's lease ends on its own; the level is corrected by the next answer.
            _store.ReportFailure(e);
        }

        Changed?.Invoke(this);
    }

    public TimeSpan NextFreeSlotIn() => NextFreeSlotIn(ahead: Volatile.Read(ref _queued));

    /// <summary>When a caller with <paramref name="ahead"/> callers of this instance before it would get a slot.</summary>
    private TimeSpan NextFreeSlotIn(int ahead)
    {
        if (LocalShare is { } share)
        {
            return share.NextFreeSlotIn();
        }

        var known = Known_;
        var perRequest = TimeSpan.FromMilliseconds((double)known.WindowMs / Math.Max(1, known.Limit - Volatile.Read(ref _othersPerWindow)));
        if (known.Source == LimitSource.Guess)
        {
            return perRequest > TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : perRequest;
        }

        var untilNext = known.Available > 0 ? TimeSpan.Zero : known.At + known.Wait - _time.GetUtcNow();
        var queue = TimeSpan.FromTicks(Math.Min(perRequest.Ticks * Math.Max(0, ahead), TimeSpan.FromMilliseconds(known.WindowMs).Ticks));
        var wait = (untilNext > TimeSpan.Zero ? untilNext : TimeSpan.Zero) + queue;
        return wait > TimeSpan.Zero ? wait : perRequest;
    }

    private async Task<Answer> GrantAsync()
    {
        var known = Known_;
        var result = (RedisResult[])(await _store.Database.ScriptEvaluateAsync(SharedBudgetScripts.Grant, _keys,
            [Now(), (long)_lease.TotalMilliseconds, known.Limit, known.WindowMs]))!;
        _store.ReportSuccess();
        var answer = new Answer((long)result[0] == 1, (long)result[1], (long)result[2] == 1, TimeSpan.FromMilliseconds(Math.Max(1, (long)result[3])), (long)result[9]);
        Remember((long)result[4], (long)result[5], (int)(long)result[6], (long)result[7], (long)result[3], (long)result[8]);
        return answer;
    }

    private void Remember(long limit, long windowMs, int source, long available, long waitMs, long inFlight)
    {
        lock (_gate)
        {
            _known = new Known((int)limit, windowMs, (LimitSource)source, available, inFlight, TimeSpan.FromMilliseconds(waitMs), _time.GetUtcNow());
        }
    }

    /// <summary>The store does not answer: spend from this instance's share of the learned limit.</summary>
    private async ValueTask<BudgetDecision> SpendAloneAsync(TimeSpan maxWait, CancellationToken cancellationToken)
    {
        UpstreamBudget share;
        lock (_gate)
        {
            if (_localShare is null)
            {
                _localShare = UpstreamBudget.ForLocalShare(Resource, SharePerMinute(_known), Math.Max(0, _known.Available) / _members.LastSeenAlive, _time);
                _localShare.Changed += _ => Changed?.Invoke(this);
            }

            share = _localShare;
        }

        Changed?.Invoke(this);
        var decision = await share.AcquireAsync(maxWait, cancellationToken);
        if (decision.IsGranted)
        {
            lock (_gate)
            {
                _spentAlone.Enqueue(_time.GetUtcNow());
            }
        }

        return decision;
    }

    /// <summary>Back on the shared store after running alone: charge it with what was spent meanwhile (within one window).</summary>
    private async ValueTask RejoinAsync()
    {
        int spent;
        lock (_gate)
        {
            if (_localShare is null)
            {
                return;
            }

            var since = _time.GetUtcNow() - TimeSpan.FromMilliseconds(_known.WindowMs);
            spent = _spentAlone.Count(at => at > since);
            _spentAlone.Clear();
            _retiredShares.Add(_localShare);
            _localShare = null;
        }

        try
        {
            if (spent > 0)
            {
                await _store.Database.ScriptEvaluateAsync(SharedBudgetScripts.Charge, [_keys[0]], [Now(), spent]);
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _store.ReportFailure(e);
        }

        Changed?.Invoke(this);
    }

    private UpstreamBudget? ShareThatIssued()
    {
        lock (_gate)
        {
            // Local tickets are numbered per share; the newest share is the likeliest issuer, and a stale answer only lowers.
            return _localShare ?? _retiredShares.LastOrDefault();
        }
    }

    private Task WakeSignal()
    {
        lock (_gate)
        {
            return _wake.Task;
        }
    }

    private void Wake()
    {
        TaskCompletionSource woken;
        lock (_gate)
        {
            woken = _wake;
            _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        woken.TrySetResult();
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static int PerMinute(Known known) => (int)Math.Max(1, Math.Round(known.Limit * 60_000.0 / known.WindowMs));

    public void Dispose()
    {
        _store.Unsubscribe(_changed);
        lock (_gate)
        {
            _localShare?.Dispose();
            _retiredShares.ForEach(s => s.Dispose());
        }

        _line.Dispose();
    }

    private readonly record struct Answer(bool Granted, long Sequence, bool IsProbe, TimeSpan Wait, long AnsweredBefore);

    private sealed record Known(int Limit, long WindowMs, LimitSource Source, long Available, long InFlight, TimeSpan Wait, DateTimeOffset At)
    {
        public Known(int limit, long windowMs, LimitSource source, long available, long inFlight, DateTimeOffset at)
            : this(limit, windowMs, source, available, inFlight, TimeSpan.Zero, at)
        {
        }
    }
}
