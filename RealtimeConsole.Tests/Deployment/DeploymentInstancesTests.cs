using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using RealtimeConsole.Deployment;
using RealtimeConsole.Telemetry;
using RealtimeConsole.Tests.Infrastructure;
using StackExchange.Redis;

namespace RealtimeConsole.Tests.Deployment;

/// <summary>Real app instances on loopback sharing one real redis-server: the instance list, the totals, the hub backplane and /healthz.</summary>
public sealed class DeploymentInstancesTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private RedisDeployment _deployment = null!;

    public async Task InitializeAsync() => _deployment = await RedisDeployment.StartAsync();

    public async Task DisposeAsync() => await _deployment.DisposeAsync();

    [Fact]
    public async Task Each_instance_lists_the_others_and_the_totals_are_their_sum()
    {
        var servers = new[] { Start("alpha"), Start("beta"), Start("gamma") };
        var served = new Dictionary<string, int> { ["alpha"] = 1, ["beta"] = 2, ["gamma"] = 3 };
        foreach (var (server, id) in servers.Zip(served.Keys))
        {
            using var http = server.CreateLoopbackClient();
            for (var i = 0; i < served[id]; i++)
            {
                (await http.PostAsJsonAsync("api/realtime/client-secret", new { })).EnsureSuccessStatusCode();
            }
        }

        foreach (var server in servers)
        {
            var instances = await WaitForAsync(server, rows => rows.Count == 3 && rows.All(r => r.HasTelemetry && r.SecretsServed == served[r.Id]));
            Assert.Equal(["alpha", "beta", "gamma"], instances.Select(r => r.Id).Order());
            Assert.All(servers.Zip(served.Keys), pair =>
                Assert.Equal(pair.First.BaseAddress.ToString().TrimEnd('/'), instances.Single(r => r.Id == pair.Second).Address));
            Assert.Single(instances, r => r.IsThisInstance);
            Assert.Equal(1.0, instances.Sum(r => r.ShareOfRequests ?? 0), 3);
        }

        // The hub's deployment stream adds them up: 6 secrets served, and as many upstream requests as the rows say.
        using var timeout = new CancellationTokenSource(Patience);
        await using var hub = TelemetryHubClient.Build(new Uri(servers[0].BaseAddress, TelemetryHubFeature.HubPath));
        await hub.StartAsync(timeout.Token);
        await foreach (var view in hub.StreamAsync<DeploymentView>(nameof(TelemetryHub.DeploymentSnapshots), timeout.Token))
        {
            if (view.SecretsServed < 6)
            {
                continue;
            }

            var totals = view.Totals.Snapshot;
            Assert.Equal(6, totals.Counters.CacheHits + totals.Counters.CacheMisses);
            Assert.Equal(view.UpstreamRequests, DeploymentTotals.UpstreamRequests(totals));
            Assert.Equal(view.Instances.Sum(i => i.UpstreamRequests), view.Totals.History.Windows.Sum(w => w.LastMinute.Values.Sum()));
            break;
        }

        // One instance alone, as alpha last received it from gamma.
        await foreach (var gamma in hub.StreamAsync<DashboardState>(nameof(TelemetryHub.InstanceSnapshots), "gamma", timeout.Token))
        {
            Assert.Equal(3, DeploymentTotals.SecretsServed(gamma.Snapshot));
            break;
        }
    }

    [Fact]
    public async Task An_instance_that_stops_leaves_the_list()
    {
        var alpha = Start("alpha");
        var beta = Start("beta");
        await WaitForAsync(alpha, rows => rows.Count == 2);

        await _deployment.StopAsync(beta);

        var rows = await WaitForAsync(alpha, rows => rows.Count == 1);
        Assert.Equal("alpha", rows.Single().Id);
    }

    [Fact]
    public async Task A_watcher_on_one_instance_hears_what_another_broadcasts()
    {
        var alpha = Start("alpha");
        using var timeout = new CancellationTokenSource(Patience);
        var joined = new TaskCompletionSource<DeploymentMember>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var hub = TelemetryHubClient.Build(new Uri(alpha.BaseAddress, TelemetryHubFeature.HubPath));
        hub.On<DeploymentMember>(DeploymentAnnouncements.InstanceJoined, member =>
        {
            if (member.Id == "beta")
            {
                joined.TrySetResult(member);
            }
        });
        await hub.StartAsync(timeout.Token);
        await hub.UntilConnectedOnTheServerAsync(timeout.Token);

        var beta = Start("beta");

        // Only beta announces its own arrival: alpha's watcher hears it through the Redis backplane.
        var member = await joined.Task.WaitAsync(timeout.Token);
        Assert.Equal(beta.BaseAddress.ToString().TrimEnd('/'), member.Address);

        // Every channel the deployment uses lives under its own prefix, so two deployments on one Redis stay apart.
        await using var probe = await ConnectionMultiplexer.ConnectAsync(_deployment.Redis.ConnectionString);
        // (StackExchange.Redis's own server-wide configuration channel aside.)
        var channels = (await probe.GetServer(probe.GetEndPoints()[0]).SubscriptionChannelsAsync()).Where(c => !c.ToString().StartsWith("__Booksleeve", StringComparison.Ordinal)).ToList();
        Assert.Contains(channels, c => c.ToString().Contains(typeof(TelemetryHub).FullName!, StringComparison.Ordinal));
        Assert.All(channels, c => Assert.StartsWith($"rc:{{{_deployment.Name}}}:", c.ToString()));
    }

    [Fact]
    public async Task Healthz_is_degraded_while_redis_is_down_and_healthy_once_it_is_back()
    {
        var alpha = Start("alpha");
        using var http = alpha.CreateLoopbackClient();
        var storeWatch = alpha.Services.GetRequiredService<SharedStoreWatch>();
        // The start-up connection may still be on its way on a busy machine.
        Assert.Equal("Healthy", await WaitForHealthAsync(alpha, http, "Healthy"));

        await _deployment.Redis.StopAsync();
        Assert.Equal("Degraded", await WaitForHealthAsync(alpha, http, "Degraded"));
        // /healthz reads the connection; the telemetry hears of the failure through the store's event, a moment later.
        BrokerTelemetrySnapshot? snapshot;
        await using (var unreachable = new ConditionWaiter().On(h => storeWatch.Changed += h, h => storeWatch.Changed -= h).OnStore(RedisDeployment.StoreOf(alpha)))
        {
            snapshot = await unreachable.UntilAsync(
                () => http.GetFromJsonAsync<BrokerTelemetrySnapshot>("api/telemetry", TelemetryEndpoints.SnapshotJson),
                s => s!.Store is { UnreachableSince: not null },
                "/api/telemetry to report the store unreachable", s => $"{s!.Store}");
        }

        Assert.True(snapshot!.Store is { IsShared: true, UnreachableSince: not null });
        Assert.Equal("alpha", Assert.Single(snapshot.Instances!).Id);

        // A new watcher and a new page still get in while the store is down.
        using var watch = new CancellationTokenSource(Patience);
        await using (var hub = TelemetryHubClient.Build(new Uri(alpha.BaseAddress, TelemetryHubFeature.HubPath)))
        {
            await hub.StartAsync(watch.Token);
            await foreach (var state in hub.StreamAsync<DashboardState>(nameof(TelemetryHub.Snapshots), watch.Token))
            {
                Assert.True(state.Snapshot.Store!.IsDegraded);
                break;
            }
        }

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("limits")).StatusCode);

        await _deployment.Redis.StartAsync();
        Assert.Equal("Healthy", await WaitForHealthAsync(alpha, http, "Healthy"));

        // The telemetry's account of the outage follows the same events as /healthz (and a late failure may reopen it): wait on its own.
        await using var recovered = new ConditionWaiter().On(h => storeWatch.Changed += h, h => storeWatch.Changed -= h).OnStore(RedisDeployment.StoreOf(alpha));
        await recovered.UntilAsync(
            async () => (await http.GetFromJsonAsync<BrokerTelemetrySnapshot>("api/telemetry", TelemetryEndpoints.SnapshotJson))!.Store,
            store => store is { UnreachableSince: null, RecoveredAt: not null, LastOutageSince: not null },
            "/api/telemetry to report the outage over", store => $"{store}");
    }

    private LoopbackConsoleServer Start(string id)
    {
        // A live instance is never forgotten by a machine that stalls for seconds; the tests' instances leave by stopping.
        var server = _deployment.OnLoopback(id, heartbeat: TimeSpan.FromMilliseconds(200), instanceTimeout: TimeSpan.FromSeconds(60));
        Assert.NotNull(server.Services.GetService<RedisStore>());
        return server;
    }

    /// <summary>Reads the instance list from <c>/api/telemetry</c> after each of the server's heartbeats until it is what the test waits for.</summary>
    private static async Task<IReadOnlyList<DeploymentInstanceRow>> WaitForAsync(LoopbackConsoleServer server, Func<IReadOnlyList<DeploymentInstanceRow>, bool> wanted)
    {
        using var http = server.CreateLoopbackClient();
        await using var waiter = new ConditionWaiter().OnHeartbeats(server.Services.GetRequiredService<DeploymentMembers>());
        return await waiter.UntilAsync(
            async () => (await http.GetFromJsonAsync<BrokerTelemetrySnapshot>("api/telemetry", TelemetryEndpoints.SnapshotJson))!.Instances!,
            wanted, $"{server.BaseAddress} to list the instances wanted", rows => string.Join(", ", rows));
    }

    private static async Task<string> HealthAsync(HttpClient http)
    {
        using var answer = await http.GetAsync("healthz");
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        return await answer.Content.ReadAsStringAsync();
    }

    /// <summary>Asks <c>/healthz</c> each time the instance's store may have changed its reachability, until it says <paramref name="wanted"/>.</summary>
    private static async Task<string> WaitForHealthAsync(LoopbackConsoleServer server, HttpClient http, string wanted)
    {
        await using var waiter = new ConditionWaiter().OnStore(RedisDeployment.StoreOf(server));
        return await waiter.UntilAsync(() => HealthAsync(http), health => health == wanted, $"/healthz to say {wanted}", health => health);
    }
}
