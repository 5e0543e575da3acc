using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using LimitsPage = RealtimeConsole.Components.Pages.RateLimits;
using RealtimeConsole.Components.Panels;
using RealtimeConsole.Deployment;
using RealtimeConsole.Telemetry;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Components;

/// <summary>/limits for a deployment: the instance table, the totals, one instance alone, and the shared store's banner.</summary>
public sealed class LimitsDeploymentTests : ConsoleComponentTest
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));
    private readonly FakeTelemetryFeed _feed;
    private readonly DeploymentMembers _members;

    public LimitsDeploymentTests()
    {
        _feed = new FakeTelemetryFeed(Shared(LimitsStates.WithSecret(_time.GetUtcNow(), mints: 1), Store()));
        Services.AddSingleton<TimeProvider>(_time);
        Services.AddSingleton<ITelemetryFeed>(_feed);
        Services.AddSingleton<ITelemetryActions>(new FakeTelemetryActions());
        Services.AddSingleton<IRemoteTelemetryFeedFactory>(new FakeRemoteFeeds());
        _members = AddDeploymentTelemetry(_time.GetUtcNow().AddMinutes(-5));
    }

    [Fact]
    public void Alone_the_table_has_one_row_and_the_page_shows_this_instance()
    {
        _feed.Push(LimitsStates.WithSecret(_time.GetUtcNow(), mints: 1));
        var cut = Render<LimitsPage>();

        Assert.Equal("This instance", cut.Find("[data-testid=showing]").TextContent);
        var row = Assert.Single(cut.FindAll("[data-testid=instance-id]"));
        Assert.Contains("console-a", row.TextContent);
        Assert.Contains("this one", row.TextContent);
        Assert.Equal("5:00", cut.Find("[data-testid=instance-uptime]").TextContent);
        Assert.Equal("now", cut.Find("[data-testid=instance-last-seen]").TextContent);
        Assert.Contains("runs alone", cut.Find("[data-testid=instances-summary]").TextContent);
        Assert.Empty(cut.FindAll("[data-testid=instance-show]"));
        Assert.Empty(cut.FindAll("[data-testid=store-banner]"));
    }

    [Fact]
    public void Two_instances_show_a_row_each_the_totals_and_one_alone_on_request()
    {
        var cut = Render<LimitsPage>();
        JoinBeta(mints: 4, hits: 10, misses: 2);

        _time.Advance(LimitsPage.RenderGap);
        cut.WaitForAssertion(() => Assert.Equal("Whole deployment: 2 instances", cut.Find("[data-testid=showing]").TextContent));
        Assert.Equal(["console-a", "console-b"], cut.FindAll("[data-testid=instance-id] code").Select(e => e.TextContent));
        Assert.Equal(["http://10.0.0.1:5080", "http://10.0.0.2:5080"], cut.FindAll("[data-testid=instance-address]").Select(e => e.TextContent));
        Assert.Equal(["4", "12"], cut.FindAll("[data-testid=instance-secrets]").Select(e => e.TextContent));
        Assert.Equal(["16"], cut.FindAll("[data-testid=instances-total-secrets]").Select(e => e.TextContent));
        Assert.Equal(["2 s ago", "4 s ago"], cut.FindAll("[data-testid=instance-last-seen]").Select(e => e.TextContent));

        // The panels add both up: 1 + 4 mints.
        Assert.Contains("5 (0 failed)", cut.Find("[data-testid=secret-mints]").TextContent);

        cut.Find("[data-testid=instance-show][data-id=console-b]").Click();

        Assert.Equal("Instance console-b alone", cut.Find("[data-testid=showing]").TextContent);
        Assert.Contains("4 (0 failed)", cut.Find("[data-testid=secret-mints]").TextContent);
        Assert.Single(cut.FindAll("[data-testid=instance-showing]"));
        cut.Find("[data-testid=instances-whole]").Click();
        Assert.Contains("5 (0 failed)", cut.Find("[data-testid=secret-mints]").TextContent);
    }

    [Fact]
    public void An_instance_shown_alone_that_leaves_brings_back_the_whole_deployment()
    {
        var cut = Render<LimitsPage>();
        JoinBeta(mints: 4, hits: 0, misses: 4);
        _time.Advance(LimitsPage.RenderGap);
        cut.WaitForAssertion(() => cut.Find("[data-testid=instance-show][data-id=console-b]").Click());
        Assert.Equal("Instance console-b alone", cut.Find("[data-testid=showing]").TextContent);

        _members.Update([Member("console-a", "http://10.0.0.1:5080", _time.GetUtcNow())]);
        _time.Advance(LimitsPage.RenderGap);

        cut.WaitForAssertion(() => Assert.Equal("This instance", cut.Find("[data-testid=showing]").TextContent));
        Assert.Contains("1 (0 failed)", cut.Find("[data-testid=secret-mints]").TextContent);
    }

    [Fact]
    public void The_banner_says_since_when_the_store_is_unreachable_and_on_what_share()
    {
        var since = _time.GetUtcNow().AddSeconds(-3);
        _feed.Push(Shared(LimitsStates.WithSecret(_time.GetUtcNow(), 1), Store() with { UnreachableSince = since, LocalSharePerMinute = new Dictionary<string, int> { ["client_secrets"] = 7, ["calls"] = 3 } }));

        var cut = Render<LimitsPage>();

        var banner = cut.Find("[data-testid=store-banner]");
        Assert.Equal("degraded", banner.GetAttribute("data-state"));
        Assert.Contains("mud-alert-filled-warning", banner.ClassName);
        Assert.Contains("Shared store unreachable since 09:59:57 UTC, running on a local share of 3/min (calls) and 7/min (client_secrets).", banner.TextContent);
        var order = cut.FindAll("[data-testid=store-banner], [data-testid=backoff]").Select(e => e.GetAttribute("data-testid"));
        Assert.Equal(["store-banner", "backoff"], order);
    }

    [Fact]
    public void Once_the_store_is_back_the_banner_says_recovered_for_a_while_then_goes()
    {
        var now = _time.GetUtcNow();
        var recovered = Store() with { RecoveredAt = now, LastOutageSince = now.AddSeconds(-42) };
        var cut = Render<LimitsStoreBanner>(p => p.Add(b => b.Store, recovered));

        var banner = cut.Find("[data-testid=store-banner]");
        Assert.Equal("recovered", banner.GetAttribute("data-state"));
        Assert.Contains("Shared store recovered at 10:00:00 UTC after 42 s unreachable", banner.TextContent);

        _time.Advance(TelemetryText.RecoveredNoticeFor);
        cut.WaitForAssertion(() => Assert.Empty(cut.FindAll("[data-testid=store-banner]")));
    }

    [Fact]
    public void A_healthy_shared_store_shows_no_banner()
    {
        var cut = Render<LimitsStoreBanner>(p => p.Add(b => b.Store, Store()));

        Assert.Empty(cut.FindAll("[data-testid=store-banner]"));
    }

    private void JoinBeta(long mints, long hits, long misses)
    {
        var now = _time.GetUtcNow();
        var beta = LimitsStates.WithSecret(now, mints);
        beta = beta with { Snapshot = beta.Snapshot with { Counters = beta.Snapshot.Counters with { Mints = mints, CacheHits = hits, CacheMisses = misses } } };
        var deployment = Services.GetRequiredService<DeploymentTelemetry>();
        ((IHeartbeatContribution)deployment).Receive(new Dictionary<string, byte[]>
        {
            ["console-b"] = JsonSerializer.SerializeToUtf8Bytes(beta, TelemetryEndpoints.SnapshotJson),
        });
        _members.Update([Member("console-a", "http://10.0.0.1:5080", now.AddSeconds(-1)), Member("console-b", "http://10.0.0.2:5080", now.AddSeconds(-3))]);
    }

    private DeploymentMember Member(string id, string address, DateTimeOffset lastSeen) => new(id, address, _time.GetUtcNow().AddMinutes(-5), lastSeen);

    private static StoreSnapshot Store() => new("redis", IsShared: true, UnreachableSince: null, new Dictionary<string, int>());

    private static DashboardState Shared(DashboardState state, StoreSnapshot store) => state with { Snapshot = state.Snapshot with { Store = store } };
}
