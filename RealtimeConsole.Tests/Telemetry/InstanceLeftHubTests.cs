using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Deployment;
using RealtimeConsole.Telemetry;
using RealtimeConsole.Tests.Infrastructure;
using StackExchange.Redis;

namespace RealtimeConsole.Tests.Telemetry;

/// <summary>
/// <c>InstanceLeft</c> on <c>/hubs/telemetry</c>, heard by a SignalR client watching one loopback instance while another
/// instance of the deployment stops, or falls silent without stopping (a crash): one real redis-server between them.
/// </summary>
public sealed class InstanceLeftHubTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    // Long, so a busy machine that stalls for seconds never makes a live instance look silent; the crashed one is made
    // silent by beating on a clock five minutes behind instead.
    private static readonly TimeSpan InstanceTimeout = TimeSpan.FromSeconds(60);

    private readonly string _deployment = "left-" + Guid.NewGuid().ToString("N")[..8];
    private readonly List<LoopbackConsoleServer> _instances = [];
    private readonly ConcurrentQueue<DeploymentMember> _left = new();
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartNewAsync();

    public async Task DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task A_watcher_on_one_instance_hears_InstanceLeft_with_the_id_and_address_of_another_that_stops()
    {
        var alpha = Start("alpha");
        await using var hub = await WatchAsync(alpha);
        var betaLeft = Heard(hub, DeploymentAnnouncements.InstanceLeft, "beta");
        var beta = Start("beta");
        var betaAddress = beta.BaseAddress.ToString().TrimEnd('/');
        // Beta is in the deployment once alpha's heartbeat lists it. (Its join announcement is checked in DeploymentInstancesTests;
        // waiting for it here raced alpha's backplane subscribing to the hub's channel, which follows the watcher's handshake.)
        var members = alpha.Services.GetRequiredService<DeploymentMembers>();
        await using (var heartbeats = new ConditionWaiter().OnHeartbeats(members))
        {
            await heartbeats.UntilAsync(() => members.Members.Any(m => m.Id == "beta"), "alpha to list beta among the live instances");
        }

        await beta.DisposeAsync();
        _instances.Remove(beta);

        var left = await betaLeft.WaitAsync(Patience);
        Assert.Equal("beta", left.Id);
        Assert.Equal(betaAddress, left.Address);
        Assert.DoesNotContain(_left, m => m.Id == "alpha");
    }

    [Fact]
    public async Task An_instance_that_falls_silent_without_leaving_is_announced_as_left_once_by_the_instance_that_forgets_it()
    {
        var alpha = Start("alpha");
        var beta = Start("beta");
        await using var hub = await WatchAsync(alpha);
        var crashedLeft = Heard(hub, DeploymentAnnouncements.InstanceLeft, "crashed");
        var betaLeft = Heard(hub, DeploymentAnnouncements.InstanceLeft, "beta");

        // An instance that beats once and then vanishes without a word: its record stays until the live ones forget it.
        // Its last beat is five minutes old: past the live instances' timeout the moment they read it.
        var longAgo = new FakeTimeProvider(DateTimeOffset.UtcNow - TimeSpan.FromMinutes(5));
        await using (var crashed = _redis.Connect(_deployment, "crashed", longAgo, TimeSpan.FromSeconds(10)))
        {
            var options = Options.Create(new DeploymentOptions { Name = _deployment, InstanceTimeout = InstanceTimeout });
            var heartbeat = new DeploymentHeartbeat(crashed, new ConsoleInstance("crashed", longAgo.GetUtcNow()) { Address = "http://127.0.0.1:5999" }, new DeploymentMembers(), [],
                options, longAgo, NullLogger<DeploymentHeartbeat>.Instance);
            await heartbeat.BeatAsync();
        }

        var left = await crashedLeft.WaitAsync(Patience);
        Assert.Equal("crashed", left.Id);
        Assert.Equal("http://127.0.0.1:5999", left.Address);
        await using (var probe = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString))
        {
            Assert.False(await probe.GetDatabase().HashExistsAsync($"rc:{{{_deployment}}}:{DeploymentHeartbeat.InstancesKey}", "crashed"));
        }

        // Alpha and beta both saw it fall silent; only the one whose delete removed its record announced it.
        await beta.DisposeAsync();
        _instances.Remove(beta);
        await betaLeft.WaitAsync(Patience);
        Assert.Single(_left, m => m.Id == "crashed");
    }

    private LoopbackConsoleServer Start(string id)
    {
        var server = new LoopbackConsoleServer();
        server.WithSetting("ConnectionStrings:Redis", _redis.ConnectionString)
            .WithSetting("Deployment:Name", _deployment)
            .WithSetting("Deployment:InstanceId", id)
            .WithSetting("Deployment:HeartbeatInterval", "00:00:00.200")
            .WithSetting("Deployment:InstanceTimeout", InstanceTimeout.ToString());
        _instances.Add(server);
        _ = server.BaseAddress;
        return server;
    }

    private async Task<HubConnection> WatchAsync(LoopbackConsoleServer instance)
    {
        var hub = TelemetryHubClient.Build(new Uri(instance.BaseAddress, TelemetryHubFeature.HubPath));
        hub.On<DeploymentMember>(DeploymentAnnouncements.InstanceLeft, _left.Enqueue);
        using var timeout = new CancellationTokenSource(Patience);
        await hub.StartAsync(timeout.Token);
        await hub.UntilConnectedOnTheServerAsync(timeout.Token);
        return hub;
    }

    /// <summary>Completes with the member of the first <paramref name="message"/> the watcher hears about <paramref name="id"/>.</summary>
    private static Task<DeploymentMember> Heard(HubConnection hub, string message, string id)
    {
        var heard = new TaskCompletionSource<DeploymentMember>(TaskCreationOptions.RunContinuationsAsynchronously);
        hub.On<DeploymentMember>(message, member =>
        {
            if (member.Id == id)
            {
                heard.TrySetResult(member);
            }
        });
        return heard.Task;
    }
}
