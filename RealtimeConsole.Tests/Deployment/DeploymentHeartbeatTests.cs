using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Deployment;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Deployment;

/// <summary>Heartbeats of instances on one real redis-server, driven beat by beat on a fake clock.</summary>
public sealed class DeploymentHeartbeatTests : IAsyncLifetime
{
    private static readonly DeploymentOptions Options = new() { Name = "hb-test", HeartbeatInterval = TimeSpan.FromSeconds(2), InstanceTimeout = TimeSpan.FromSeconds(10) };

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 6, 0, 0, TimeSpan.Zero));
    private readonly List<IAsyncDisposable> _disposables = [];
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartNewAsync();

    public async Task DisposeAsync()
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }

        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task Instances_see_each_other_and_one_not_heard_from_within_the_timeout_is_forgotten()
    {
        var alpha = Instance("alpha", "http://127.0.0.1:5001");
        _time.Advance(TimeSpan.FromSeconds(1));
        var beta = Instance("beta", "http://127.0.0.1:5002");

        await beta.Heartbeat.BeatAsync();
        await alpha.Heartbeat.BeatAsync();

        Assert.Equal(["alpha", "beta"], alpha.Members.Members.Select(m => m.Id));
        Assert.Equal(["http://127.0.0.1:5001", "http://127.0.0.1:5002"], alpha.Members.Members.Select(m => m.Address));
        Assert.Equal(_time.GetUtcNow(), alpha.Members.Members[1].LastSeen);
        await beta.Heartbeat.BeatAsync();
        Assert.Equal(2, beta.Members.LastSeenAlive);

        // beta falls silent: still counted just inside the timeout, forgotten once it has passed.
        _time.Advance(Options.InstanceTimeout - TimeSpan.FromSeconds(1));
        await alpha.Heartbeat.BeatAsync();
        Assert.Equal(2, alpha.Members.LastSeenAlive);
        _time.Advance(TimeSpan.FromSeconds(1));
        await alpha.Heartbeat.BeatAsync();
        Assert.Equal(["alpha"], alpha.Members.Members.Select(m => m.Id));

        // Its record is gone from the store too, not just from alpha's list.
        var records = await alpha.Store.Database.HashKeysAsync(alpha.Store.Key(DeploymentHeartbeat.InstancesKey));
        Assert.Equal(["alpha"], records.Select(r => r.ToString()));
    }

    [Fact]
    public async Task An_instance_that_stops_removes_itself_at_once()
    {
        var (alpha, beta) = await TwoThatHaveBeatenAsync();
        Assert.Equal(2, alpha.Members.LastSeenAlive);

        await beta.Heartbeat.StopAsync(CancellationToken.None);
        await alpha.Heartbeat.BeatAsync();

        Assert.Equal(["alpha"], alpha.Members.Members.Select(m => m.Id));
        Assert.False(await alpha.Store.Database.KeyExistsAsync(alpha.Store.Key("test:beta")));
    }

    [Fact]
    public async Task Contributions_travel_beside_the_heartbeat_and_expire_with_it()
    {
        var (alpha, _) = await TwoThatHaveBeatenAsync();

        Assert.Equal("alpha says hello, beta says hello", string.Join(", ", alpha.Contribution.Received.OrderBy(p => p.Key).Select(p => Encoding.UTF8.GetString(p.Value))));
        var ttl = await alpha.Store.Database.KeyTimeToLiveAsync(alpha.Store.Key("test:beta"));
        // Redis counts the expiry on its own clock, which keeps running however slowly this test gets here.
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromTicks(1), Options.InstanceTimeout);
    }

    [Fact]
    public async Task An_unreachable_store_keeps_the_last_list_and_a_restarted_empty_one_is_filled_again()
    {
        var (alpha, _) = await TwoThatHaveBeatenAsync();

        await _redis.StopAsync();
        await alpha.Heartbeat.BeatAsync();

        Assert.Equal(["alpha", "beta"], alpha.Members.Members.Select(m => m.Id));
        Assert.NotNull(alpha.Store.UnreachableSince);
        Assert.False(alpha.Store.IsAvailable);

        // Back empty: alpha's next beats write its record again, and beta (silent since) is no longer listed.
        await _redis.StartAsync();
        await using (var waiter = new ConditionWaiter().OnStore(alpha.Store))
        {
            // A beat that succeeds reports the store back; the wait wakes on the connection's and the store's own events.
            await waiter.UntilAsync(() => alpha.Store.IsAvailable, "the store to answer again after its restart", nudge: () => alpha.Heartbeat.BeatAsync());
        }

        await alpha.Heartbeat.BeatAsync();
        Assert.True(alpha.Store.IsAvailable);
        Assert.Equal(["alpha"], alpha.Members.Members.Select(m => m.Id));
    }

    /// <summary>alpha and beta, each having beaten once (beta first, so alpha's list has both).</summary>
    private async Task<(Participant Alpha, Participant Beta)> TwoThatHaveBeatenAsync()
    {
        var alpha = Instance("alpha", "http://127.0.0.1:5001");
        var beta = Instance("beta", "http://127.0.0.1:5002");
        await beta.Heartbeat.BeatAsync();
        await alpha.Heartbeat.BeatAsync();
        return (alpha, beta);
    }

    private Participant Instance(string id, string address)
    {
        var store = _redis.Connect(Options.Name, id, _time, TimeSpan.FromSeconds(1));
        _disposables.Add(store);
        var members = new DeploymentMembers();
        var contribution = new EchoContribution(id);
        var heartbeat = new DeploymentHeartbeat(store, new ConsoleInstance(id, _time.GetUtcNow()) { Address = address }, members, [contribution],
            Microsoft.Extensions.Options.Options.Create(Options), _time, NullLogger<DeploymentHeartbeat>.Instance);
        return new Participant(store, members, heartbeat, contribution);
    }

    private sealed record Participant(RedisStore Store, DeploymentMembers Members, DeploymentHeartbeat Heartbeat, EchoContribution Contribution);

    private sealed class EchoContribution(string id) : IHeartbeatContribution
    {
        public IReadOnlyDictionary<string, byte[]> Received { get; private set; } = new Dictionary<string, byte[]>();

        public string Name => "test";

        public byte[] Publish() => Encoding.UTF8.GetBytes($"{id} says hello");

        public void Receive(IReadOnlyDictionary<string, byte[]> byInstance) => Received = byInstance;
    }
}
