using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using RealtimeConsole.Deployment;
using RealtimeConsole.RateLimits;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Tests.Tokens;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tests.Deployment;

/// <summary>
/// Three real console instances, each on its own 127.0.0.1 socket, sharing one real redis-server, in front of one upstream
/// that enforces its limit as OpenAI does: they spend one budget, wait out one cooldown, and ask about quota once. Real time, each test a few seconds.
/// </summary>
public sealed class SharedBrokerStateTests : IAsyncLifetime
{
    private RedisDeployment _deployment = null!;

    public async Task InitializeAsync() => _deployment = await RedisDeployment.StartAsync();

    public async Task DisposeAsync() => await _deployment.DisposeAsync();

    private HttpClient[] Instances(StrictUpstream upstream, int count, int guess, string maxQueueWait = "00:00:02")
    {
        var clients = new HttpClient[count];
        var defaults = new DeploymentOptions();
        for (var i = 0; i < count; i++)
        {
            // Real app instances on 127.0.0.1 sockets, as a deployment runs them behind its proxy.
            clients[i] = _deployment.OnLoopback("instance-" + i, defaults.HeartbeatInterval, defaults.InstanceTimeout, instance => instance
                .WithSetting("Realtime:MaxQueueWait", maxQueueWait)
                .WithSetting("Realtime:CooldownReleaseJitter", "00:00:00")
                // A 429 asking for longer than this is answered to the caller at once instead of waited out in the request.
                .WithSetting("Realtime:RetryAfterCap", "00:00:05")
                .WithSetting("Realtime:BaseUrl", "http://upstream.test/v1")
                .WithSetting("Realtime:SecretMode", "PerSession")
                .WithSetting("Realtime:ClientSecretsPerMinute", guess.ToString(CultureInfo.InvariantCulture))
                .WithSetting("Realtime:DoorPermitsPerMinute", "100000")
                .WithServices(s => s.AddHttpClient(UpstreamGate.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => upstream)))
                .CreateLoopbackClient();
        }

        return clients;
    }

    private IBrokerStateStore State(int instance) => _deployment.Instances[instance].Services.GetRequiredService<IBrokerStateStore>();

    private DeploymentMembers Members(int instance) => _deployment.Instances[instance].Services.GetRequiredService<DeploymentMembers>();

    private static Task<HttpResponseMessage[]> Spread(HttpClient[] clients, int callers) =>
        Task.WhenAll(Enumerable.Range(0, callers).Select(i => Task.Run(() => clients[i % clients.Length].PostAsync("/api/realtime/client-secret", null))))
            .WaitAsync(TimeSpan.FromSeconds(90));

    [Theory]
    [InlineData(60)] // every instance guesses 3× the real limit
    [InlineData(7)]  // a third of it
    public async Task Sixty_callers_over_three_instances_against_20_per_minute_get_20_secrets_and_one_per_refill_then_honest_refusals_with_no_upstream_429(int guess)
    {
        var upstream = new StrictUpstream(20, outOfQuota: false);
        // Callers wait up to 8 s: longer than a cold probe takes on a busy machine, and longer than the first refill (3 s),
        // whose answer gives back any slot an overtaken answer held back. So 20 at least are served, whatever the machine.
        var clients = Instances(upstream, 3, guess, maxQueueWait: "00:00:08");

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var responses = await Spread(clients, 60);
        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);

        var served = responses.Count(r => r.StatusCode == HttpStatusCode.OK);
        Assert.InRange(served, 20, 20 + (int)Math.Ceiling(elapsed.TotalSeconds / 3));
        Assert.Equal(0, upstream.RateLimited);
        Assert.Equal(served, upstream.Requests);
        var refused = responses.Where(r => r.StatusCode != HttpStatusCode.OK).ToList();
        Assert.All(refused, r => Assert.Equal(HttpStatusCode.TooManyRequests, r.StatusCode));
        Assert.All(refused, r => Assert.InRange(r.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(120)));
        foreach (var r in refused)
        {
            var error = await BrokerEndpointTests.AssertError(r, HttpStatusCode.TooManyRequests, "rate_limited");
            var message = error.GetProperty("message").GetString()!;
            Assert.True(message.Contains("20/min, learned from upstream", StringComparison.Ordinal) || message.Contains("finding out upstream's limit", StringComparison.Ordinal), message);
        }

        // Every instance knows the organization's limit, whichever of them asked.
        Assert.All(Enumerable.Range(0, 3), i => Assert.Equal(20, State(i).Budgets[UpstreamResource.ClientSecrets].Limit));
    }

    [Fact]
    public async Task A_429_seen_by_one_instance_cools_all_of_them()
    {
        var upstream = new StrictUpstream(600, outOfQuota: false);
        var clients = Instances(upstream, 3, 600);
        Assert.Equal(HttpStatusCode.OK, (await clients[0].PostAsync("/api/realtime/client-secret", null)).StatusCode);

        // A long storm, so the check below still finds most of it left however long a busy machine takes to get there.
        upstream.StartStorm(1, TimeSpan.FromSeconds(120));
        var stormed = await clients[0].PostAsync("/api/realtime/client-secret", null);
        Assert.NotEqual(HttpStatusCode.OK, stormed.StatusCode);
        Assert.True((int)stormed.StatusCode < 500, $"no 5xx for a 429 upstream, got {(int)stormed.StatusCode}");

        await using (var waiter = StateWaiter(1, 2))
        {
            await waiter.UntilAsync(() => State(1).Cooldown.IsCoolingDown(DateTimeOffset.UtcNow) && State(2).Cooldown.IsCoolingDown(DateTimeOffset.UtcNow), "instances 1 and 2 to hear of the cooldown");
        }

        var before = upstream.Requests;
        var others = await Task.WhenAll(clients[1].PostAsync("/api/realtime/client-secret", null), clients[2].PostAsync("/api/realtime/client-secret", null));

        Assert.All(others, r => Assert.Equal(HttpStatusCode.TooManyRequests, r.StatusCode));
        Assert.All(others, r => Assert.InRange(r.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(121)));
        Assert.Equal(before, upstream.Requests);
    }

    [Fact]
    public async Task Insufficient_quota_is_asked_once_for_all_instances_until_the_recheck()
    {
        var upstream = new StrictUpstream(600, outOfQuota: true);
        var clients = Instances(upstream, 3, 600, maxQueueWait: "00:00:30");

        var responses = await Spread(clients, 60);

        foreach (var response in responses)
        {
            await BrokerEndpointTests.AssertError(response, HttpStatusCode.ServiceUnavailable, "insufficient_quota");
            Assert.NotNull(response.Headers.RetryAfter);
        }

        // One probe for the deployment; a second only if a probe's answer was slower than a waiter's patience.
        Assert.InRange(upstream.Requests, 1, 2);
        var again = await Spread(clients, 30);
        Assert.All(again, r => Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode));
        Assert.InRange(upstream.Requests, 1, 2);
    }

    [Fact]
    public async Task Redis_stopped_in_the_middle_and_started_again_costs_no_5xx_and_no_unanswered_request()
    {
        var upstream = new StrictUpstream(600, outOfQuota: false);
        // Callers may wait long: requests caught by the cut wait out Redis's timeout, and those after the restart wait for the
        // probe that relearns the limit; on a busy machine either can outlast the default 2 s and turn a slow answer into a 429.
        var clients = Instances(upstream, 2, 600, maxQueueWait: "00:00:30");
        Assert.All(await Spread(clients, 10), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.True(State(0).Status.IsShared);
        // Each instance's share is the learned limit over the instances it last saw alive: let both see each other first.
        await using (var heartbeats = new ConditionWaiter().OnHeartbeats(Members(0)).OnHeartbeats(Members(1)))
        {
            await heartbeats.UntilAsync(() => Members(0).LastSeenAlive == 2 && Members(1).LastSeenAlive == 2, "both instances to see each other alive");
        }

        await using var waiter = StateWaiter(0, 1);
        await _deployment.Redis.StopAsync();
        var during = await Spread(clients, 20);
        await waiter.UntilAsync(() => State(0).Status.IsDegraded && State(1).Status.IsDegraded, "both instances to see the store gone");
        var degraded = State(0).Status;
        Assert.NotNull(degraded.UnreachableSince);

        // The list of instances seen alive is kept while the store is away.
        Assert.Equal(2, Members(0).LastSeenAlive);
        var duringToo = await Spread(clients, 20);

        await _deployment.Redis.StartAsync();
        await waiter.UntilAsync(() => State(0).Status.IsShared && State(1).Status.IsShared, "both instances to share the store again");
        var after = await Spread(clients, 20);

        var all = during.Concat(duringToo).Concat(after).ToList();
        Assert.Equal(60, all.Count);
        Assert.DoesNotContain(all, r => (int)r.StatusCode >= 500);
        Assert.All(all, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, $"got {(int)r.StatusCode}"));
        Assert.True(all.Count(r => r.StatusCode == HttpStatusCode.OK) >= 40, "the instances kept serving on their shares");
        Assert.Equal(0, upstream.RateLimited);
        // 600/min learned, over the two instances seen alive at the cut.
        Assert.Contains(degraded.LocalSharePerMinute ?? new Dictionary<UpstreamResource, int>(), s => s.Key == UpstreamResource.ClientSecrets && s.Value == 300);
    }

    /// <summary>Wakes on any change of these instances' broker state or of their connection to the store.</summary>
    private ConditionWaiter StateWaiter(params int[] instances)
    {
        var waiter = new ConditionWaiter();
        foreach (var i in instances)
        {
            var state = State(i);
            waiter.On(h => state.Changed += h, h => state.Changed -= h).OnStore(RedisDeployment.StoreOf(_deployment.Instances[i]));
        }

        return waiter;
    }
}
