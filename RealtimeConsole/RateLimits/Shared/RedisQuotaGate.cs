using RealtimeConsole.Deployment;
using StackExchange.Redis;

namespace RealtimeConsole.RateLimits.Shared;

/// <summary>
/// The insufficient_quota gate for the whole deployment. Keys with expiry say what is known: <c>quota:exhausted</c> (until
/// the re-check, with the answer's request id), <c>quota:verified</c> (some answer showed quota is there) and
/// <c>quota:probe</c> (the one request across all instances allowed to find out). Once an instance has seen quota verified
/// it lets requests go without asking Redis, until an announcement on the channel says quota ran out.
/// </summary>
public sealed class RedisQuotaGate : IQuotaGate, IDisposable
{
    // 1 = go (verified), 2 = this caller probes, 3 = wait for the probe in flight, 0 = exhausted (with its ttl and request id).
    private const string EnterScript = """
        local exhausted = redis.call('GET', KEYS[1])
        if exhausted then return { 0, redis.call('PTTL', KEYS[1]), exhausted } end
        if redis.call('EXISTS', KEYS[2]) == 1 then return { 1 } end
        if redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2]) then return { 2 } end
        return { 3 }
        """;

    private const string ExhaustedScript = """
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        redis.call('DEL', KEYS[2], KEYS[3])
        return 1
        """;

    private const string AvailableScript = """
        redis.call('SET', KEYS[2], '1', 'PX', 86400000)
        redis.call('DEL', KEYS[1], KEYS[3])
        return 1
        """;

    private const string ProbeEndedScript = """
        if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
        return 1
        """;

    private readonly QuotaExhaustionGate _local;
    private readonly RedisStore _store;
    private readonly TimeProvider _time;
    private readonly string _instanceId;
    private readonly TimeSpan _probeLease;
    private readonly RedisKey[] _keys;
    private readonly RedisChannel _channel;
    private readonly Lock _gate = new();
    private TaskCompletionSource _answered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _verified;

    public RedisQuotaGate(RedisStore store, string instanceId, TimeProvider time, TimeSpan probeLease)
    {
        _store = store;
        _time = time;
        _instanceId = instanceId;
        _probeLease = probeLease;
        _local = new QuotaExhaustionGate(time);
        _local.Changed += () => Changed?.Invoke();
        _keys = [store.Key("quota:exhausted"), store.Key("quota:verified"), store.Key("quota:probe")];
        _channel = store.Channel("quota");
        store.SubscribeWhenAvailable(_channel, (_, message) => OnAnnouncement(message.ToString()));
    }

    public DateTimeOffset? RecheckAt => _local.RecheckAt;

    public string? LastRequestId => _local.LastRequestId;

    public event Action? Changed;

    public async ValueTask<QuotaAdmission> EnterAsync(TimeSpan maxWait, CancellationToken cancellationToken)
    {
        if (!_store.IsAvailable)
        {
            return await _local.EnterAsync(maxWait, cancellationToken);
        }

        var now = _time.GetUtcNow();
        if (_local.RecheckAt is { } recheck && now < recheck)
        {
            return QuotaAdmission.Refused(recheck - now);
        }

        if (IsVerified)
        {
            return QuotaAdmission.Go;
        }

        var deadline = now + maxWait;
        for (var round = 0; round < 1000; round++)
        {
            Task answered;
            lock (_gate)
            {
                answered = _answered.Task;
            }

            RedisResult[] result;
            try
            {
                result = (RedisResult[])(await _store.Database.ScriptEvaluateAsync(EnterScript, _keys, [_instanceId, (long)_probeLease.TotalMilliseconds]))!;
                _store.ReportSuccess();
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                _store.ReportFailure(e);
                return await _local.EnterAsync(maxWait, cancellationToken);
            }

            switch ((long)result[0])
            {
                case 0:
                    var until = _time.GetUtcNow() + TimeSpan.FromMilliseconds(Math.Max(0, (long)result[1]));
                    _local.QuotaExhaustedUntil(until, result[2].ToString());
                    return QuotaAdmission.Refused(until - _time.GetUtcNow());
                case 1:
                    MarkVerified();
                    return QuotaAdmission.Go;
                case 2:
                    return QuotaAdmission.Probe;
            }

            var left = deadline - _time.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                // The probe is slow, not refused: let this caller go rather than answer 429 for nothing.
                return QuotaAdmission.Go;
            }

            // Woken by the probe's answer from any instance; asked again now and then in case an announcement was missed.
            var poll = left < TimeSpan.FromMilliseconds(250) ? left : TimeSpan.FromMilliseconds(250);
            await Task.WhenAny(answered, Task.Delay(poll, _time, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }

        return QuotaAdmission.Go;
    }

    public void QuotaExhausted(TimeSpan recheckInterval, string? requestId = null)
    {
        lock (_gate)
        {
            _verified = false;
        }

        _local.QuotaExhausted(recheckInterval, requestId);
        _ = AnnounceAsync(ExhaustedScript, [requestId ?? "", (long)recheckInterval.TotalMilliseconds], $"exhausted|{(_time.GetUtcNow() + recheckInterval).ToUnixTimeMilliseconds()}|{requestId}");
    }

    public void QuotaAvailable()
    {
        if (IsVerified && _local.RecheckAt is null)
        {
            return;
        }

        MarkVerified();
        _local.QuotaAvailable();
        _ = AnnounceAsync(AvailableScript, [], "available");
    }

    public void ProbeFinished()
    {
        _local.ProbeFinished();
        _ = AnnounceAsync(ProbeEndedScript, [_instanceId], "probe-ended");
    }

    private bool IsVerified
    {
        get { lock (_gate) { return _verified; } }
    }

    private void MarkVerified()
    {
        lock (_gate)
        {
            _verified = true;
        }
    }

    private async Task AnnounceAsync(string script, RedisValue[] values, string announcement)
    {
        try
        {
            await _store.Database.ScriptEvaluateAsync(script, _keys, values);
            await _store.Subscriber.PublishAsync(_channel, announcement);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _store.ReportFailure(e);
        }
    }

    private void OnAnnouncement(string message)
    {
        var parts = message.Split('|');
        if (parts[0] == "exhausted" && parts.Length == 3 && long.TryParse(parts[1], out var until))
        {
            lock (_gate)
            {
                _verified = false;
            }

            _local.QuotaExhaustedUntil(DateTimeOffset.FromUnixTimeMilliseconds(until), parts[2].Length == 0 ? null : parts[2]);
        }
        else if (parts[0] == "available" && _local.RecheckAt is not null)
        {
            _local.QuotaAvailable();
        }

        TaskCompletionSource answered;
        lock (_gate)
        {
            answered = _answered;
            _answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        answered.TrySetResult();
    }

    public void Dispose() => _store.Unsubscribe(_channel);
}
