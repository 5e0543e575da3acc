using RealtimeConsole.Deployment;
using StackExchange.Redis;

namespace RealtimeConsole.RateLimits.Shared;

/// <summary>
/// The cooldown after a 429, for the whole deployment: a key in Redis that expires when the cooldown ends, announced on a
/// channel so every instance holds a copy and reads it without a round trip. A 429 seen by one instance cools all of them.
/// </summary>
public sealed class RedisCooldown : IUpstreamCooldown, IDisposable
{
    // Sets the cooldown only if it ends later than the one already set. The key lives for the cooldown's length (ARGV[3] ms,
    // from the instance's clock), not until a time on Redis's clock: a server whose clock differs from the instances' would
    // otherwise drop it early (at once, if its clock is ahead by more than the cooldown) or keep it too long.
    private const string CoolDownScript = """
        local current = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
        if tonumber(ARGV[1]) <= current then return 0 end
        redis.call('HSET', KEYS[1], 'until', ARGV[1], 'reason', ARGV[2])
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        return 1
        """;

    private readonly SharedCooldown _local;
    private readonly RedisStore _store;
    private readonly TimeProvider _time;
    private readonly RedisKey _key;
    private readonly RedisChannel _channel;

    public RedisCooldown(RedisStore store, TimeProvider time)
    {
        _store = store;
        _time = time;
        _local = new SharedCooldown(time);
        _local.Changed += () => Changed?.Invoke();
        _key = store.Key("cooldown");
        _channel = store.Channel("cooldown");
        store.SubscribeWhenAvailable(_channel, (channel, message) =>
        {
            if (message == "reset")
            {
                _local.Reset();
            }
            else
            {
                _ = ReadAsync();
            }
        });
        store.AvailabilityChanged += () => _ = ReadAsync();
        _ = ReadAsync();
    }

    public (DateTimeOffset Until, string Reason) State => _local.State;

    public event Action? Changed;

    public bool IsCoolingDown(DateTimeOffset now) => _local.IsCoolingDown(now);

    public TimeSpan RemainingFor(DateTimeOffset now, TimeSpan maxJitter) => _local.RemainingFor(now, maxJitter);

    public void CoolDownUntil(DateTimeOffset until, string reason)
    {
        _local.CoolDownUntil(until, reason);
        _ = WriteAsync(until, reason);
    }

    public void Reset()
    {
        _local.Reset();
        _ = ResetSharedAsync();
    }

    /// <summary>Takes the shared cooldown into this instance's copy (at start, on an announcement, and when Redis is back).</summary>
    public async Task ReadAsync()
    {
        try
        {
            var fields = await _store.Database.HashGetAsync(_key, ["until", "reason"]);
            if (fields[0].TryParse(out long until))
            {
                _local.CoolDownUntil(DateTimeOffset.FromUnixTimeMilliseconds(until), fields[1].ToString());
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _store.ReportFailure(e);
        }
    }

    private async Task WriteAsync(DateTimeOffset until, string reason)
    {
        try
        {
            var lasts = (long)Math.Max(1, Math.Ceiling((until - _time.GetUtcNow()).TotalMilliseconds));
            if ((long)await _store.Database.ScriptEvaluateAsync(CoolDownScript, [_key], [until.ToUnixTimeMilliseconds(), reason, lasts]) == 1)
            {
                await _store.Subscriber.PublishAsync(_channel, "set");
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _store.ReportFailure(e);
        }
    }

    private async Task ResetSharedAsync()
    {
        try
        {
            await _store.Database.KeyDeleteAsync(_key);
            await _store.Subscriber.PublishAsync(_channel, "reset");
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _store.ReportFailure(e);
        }
    }

    public void Dispose() => _store.Unsubscribe(_channel);
}
