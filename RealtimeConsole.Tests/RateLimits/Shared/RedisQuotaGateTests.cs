using RealtimeConsole.Deployment;
using RealtimeConsole.RateLimits;
using RealtimeConsole.RateLimits.Shared;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.RateLimits.Shared;

/// <summary>
/// The insufficient_quota gate of a deployment on a real redis-server: three instances (each its own connection and gate)
/// ask upstream about quota with one probe in all, and once more per re-check interval, never once each. The re-check is a
/// key expiring in Redis, so this runs on the real clock, waiting on Redis's expiry event; the interval is long enough that
/// a machine stalling for seconds still finishes the "meanwhile" callers before it ends.
/// </summary>
public sealed class RedisQuotaGateTests : IAsyncLifetime
{
    private static readonly TimeSpan Recheck = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly List<RedisStore> _stores = [];
    private readonly List<RedisQuotaGate> _gates = [];
    private RedisServer _redis = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartNewAsync();
        for (var i = 0; i < 3; i++)
        {
            var store = _redis.Connect("quota-tests", "q" + i, TimeProvider.System, TimeSpan.FromSeconds(5));
            _stores.Add(store);
            _gates.Add(new RedisQuotaGate(store, "q" + i, TimeProvider.System, probeLease: TimeSpan.FromSeconds(30)));
        }

        await using var subscribed = new ConditionWaiter();
        foreach (var store in _stores)
        {
            subscribed.OnStore(store);
        }

        await subscribed.UntilAsync(() => _stores.TrueForAll(s => s.IsAvailable), "every instance to reach Redis");
    }

    public async Task DisposeAsync()
    {
        _gates.ForEach(g => g.Dispose());
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task Out_of_quota_the_deployment_asks_once_and_once_more_per_recheck_whichever_instance_the_callers_reach()
    {
        // 30 callers over three instances: one probe goes upstream, the rest wait for its answer (on any instance).
        var first = Callers(30);
        var probe = await ProbeAsync(first);
        await using (var exhaustedKey = new ConditionWaiter())
        {
            await exhaustedKey.OnKeysAsync(_redis, "*quota:exhausted");
            _gates[probe.Instance].QuotaExhausted(Recheck, "req_out_of_quota");
            _gates[probe.Instance].ProbeFinished();

            var answers = await Task.WhenAll(first.Where(c => c != probe).Select(c => c.Admission)).WaitAsync(Patience);
            Assert.All(answers, a => Assert.False(a.MayGo));
            Assert.All(answers, a => Assert.InRange(a.RecheckIn, TimeSpan.Zero, Recheck));

            // Until the re-check nobody asks, on any instance, and each refusal names the request that found quota gone.
            var meanwhile = await Task.WhenAll(Callers(30).Select(c => c.Admission)).WaitAsync(Patience);
            Assert.All(meanwhile, a => Assert.False(a.MayGo));
            Assert.All(_gates, g => Assert.Equal("req_out_of_quota", g.LastRequestId));

            // The re-check: Redis drops the key, and again one caller in the whole deployment asks.
            await exhaustedKey.UntilAsync(() => DateTimeOffset.UtcNow >= _gates.Max(g => g.RecheckAt ?? DateTimeOffset.MinValue), "the re-check time to come");
        }

        var second = Callers(30);
        var secondProbe = await ProbeAsync(second);
        _gates[secondProbe.Instance].QuotaAvailable();
        _gates[secondProbe.Instance].ProbeFinished();
        var afterTopUp = await Task.WhenAll(second.Where(c => c != secondProbe).Select(c => c.Admission)).WaitAsync(Patience);
        Assert.All(afterTopUp, a => Assert.True(a.MayGo && !a.IsProbe));

        // Quota is there again: every instance lets callers go without a probe.
        var later = await Task.WhenAll(Callers(9).Select(c => c.Admission)).WaitAsync(Patience);
        Assert.All(later, a => Assert.True(a.MayGo && !a.IsProbe));
    }

    /// <summary>Callers spread round-robin over the instances, each allowed to wait for a probe's answer.</summary>
    private List<Caller> Callers(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new Caller(i % _gates.Count, Task.Run(() => _gates[i % _gates.Count].EnterAsync(Patience, CancellationToken.None).AsTask())))];

    /// <summary>Waits until exactly one of <paramref name="callers"/> is told to probe, while the others are still waiting.</summary>
    private static async Task<Caller> ProbeAsync(List<Caller> callers)
    {
        var probes = new List<Caller>();
        var pending = callers.ToList();
        while (pending.Count > 0 && probes.Count == 0)
        {
            var done = await Task.WhenAny(pending.Select(c => c.Admission)).WaitAsync(Patience);
            var caller = pending.First(c => c.Admission == done);
            pending.Remove(caller);
            Assert.True(done.Result.IsProbe, $"a caller was answered before any probe: {done.Result}");
            probes.Add(caller);
        }

        var probe = Assert.Single(probes);
        Assert.All(callers.Where(c => c != probe), c => Assert.False(c.Admission.IsCompleted, "only the probe is answered before the probe's answer"));
        return probe;
    }

    private sealed record Caller(int Instance, Task<QuotaAdmission> Admission);
}
