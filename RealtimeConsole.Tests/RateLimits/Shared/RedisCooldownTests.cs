using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Deployment;
using RealtimeConsole.RateLimits.Shared;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.RateLimits.Shared;

/// <summary>The deployment's cooldown after a 429 on a real redis-server, two instances each with its own connection.</summary>
public sealed class RedisCooldownTests : IAsyncLifetime
{
    private readonly List<RedisStore> _stores = [];
    private readonly List<RedisCooldown> _cooldowns = [];
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartNewAsync();

    public async Task DisposeAsync()
    {
        _cooldowns.ForEach(c => c.Dispose());
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        await _redis.DisposeAsync();
    }

    [Theory]
    [InlineData(-300)] // the instances' clocks behind Redis's by five minutes (or a simulated clock that started in the past)
    [InlineData(0)]
    [InlineData(300)]  // ahead of it
    public async Task A_cooldown_set_by_one_instance_holds_on_the_other_for_its_length_whatever_Redis_clock_says(int skewSeconds)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow.AddSeconds(skewSeconds));
        var (first, second) = (Instance(time, "a"), Instance(time, "b"));
        await using var waiter = new ConditionWaiter().On(h => second.Changed += h, h => second.Changed -= h);

        var until = time.GetUtcNow().AddSeconds(20);
        first.CoolDownUntil(until, "429 from upstream");
        await waiter.UntilAsync(() => second.IsCoolingDown(time.GetUtcNow()), "the other instance to cool down too");
        Assert.Equal(until.ToUnixTimeMilliseconds(), second.State.Until.ToUnixTimeMilliseconds());

        // An instance that starts (or reconnects) during the cooldown reads it from Redis: the key is still there.
        var late = Instance(time, "c");
        await late.ReadAsync();
        Assert.True(late.IsCoolingDown(time.GetUtcNow()));
        Assert.Equal("429 from upstream", late.State.Reason);
    }

    private RedisCooldown Instance(TimeProvider time, string id)
    {
        var store = _redis.Connect("cooldown-tests", id, time, TimeSpan.FromSeconds(5));
        _stores.Add(store);
        var cooldown = new RedisCooldown(store, time);
        _cooldowns.Add(cooldown);
        return cooldown;
    }
}
