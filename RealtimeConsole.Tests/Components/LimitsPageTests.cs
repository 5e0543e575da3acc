using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using LimitsPage = RealtimeConsole.Components.Pages.RateLimits;
using RealtimeConsole.RateLimits;
using RealtimeConsole.Telemetry;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Tokens;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tests.Components;

public sealed class LimitsPageTests : ConsoleComponentTest
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));
    private readonly FakeTelemetryFeed _feed;
    private readonly FakeTelemetryActions _actions = new();

    public LimitsPageTests()
    {
        _feed = new FakeTelemetryFeed(LimitsStates.Empty(_time.GetUtcNow()));
        Services.AddSingleton<TimeProvider>(_time);
        Services.AddSingleton<ITelemetryFeed>(_feed);
        Services.AddSingleton<ITelemetryActions>(_actions);
        AddDeploymentTelemetry(_time.GetUtcNow());
        Services.AddSingleton<IRemoteTelemetryFeedFactory>(new FakeRemoteFeeds());
    }

    [Fact]
    public void A_pushed_update_shows_within_one_render_gap()
    {
        var cut = Render<LimitsPage>();
        Assert.Contains("No secret handed out yet", cut.Find("[data-testid=secret-panel]").TextContent);

        _feed.Push(LimitsStates.WithSecret(_time.GetUtcNow(), mints: 3));
        _time.Advance(LimitsPage.RenderGap);

        cut.WaitForAssertion(() => Assert.Contains("3 (0 failed)", cut.Find("[data-testid=secret-mints]").TextContent));
        Assert.Contains("75 %", cut.Find("[data-testid=secret-hit-ratio]").TextContent);
        Assert.Contains("Refresh in 7:30", cut.Find("[data-testid=secret-refresh]").TextContent);
    }

    [Fact]
    public void The_status_banner_comes_before_the_remote_watch_panel()
    {
        var cut = Render<LimitsPage>();
        var order = cut.FindAll("[data-testid=backoff], [data-testid=remote-panel]").Select(e => e.GetAttribute("data-testid"));
        Assert.Equal(["backoff", "remote-panel"], order);
    }

    [Fact]
    public void A_storm_of_updates_costs_one_render_per_gap()
    {
        var cut = Render<LimitsPage>();
        var before = _feed.Reads;

        for (var i = 1; i <= 200; i++)
        {
            _feed.Push(LimitsStates.WithSecret(_time.GetUtcNow(), mints: i));
        }

        Assert.Equal(before, _feed.Reads);
        _time.Advance(LimitsPage.RenderGap);
        cut.WaitForAssertion(() => Assert.Contains("200 (0 failed)", cut.Find("[data-testid=secret-mints]").TextContent));
        Assert.Equal(before + 1, _feed.Reads);
    }

    [Fact]
    public void Countdowns_move_with_the_injected_clock()
    {
        _feed.Push(LimitsStates.WithSecret(_time.GetUtcNow(), mints: 1));
        var cut = Render<LimitsPage>();
        Assert.Contains("Expires in 10:00", cut.Find("[data-testid=secret-expiry]").TextContent);

        _time.Advance(TimeSpan.FromSeconds(95));

        cut.WaitForAssertion(() => Assert.Contains("Expires in 8:25", cut.Find("[data-testid=secret-expiry]").TextContent));
        Assert.Contains("Refresh in 5:55", cut.Find("[data-testid=secret-refresh]").TextContent);
    }

    [Fact]
    public void An_idle_page_with_nothing_counting_down_does_not_render()
    {
        var cut = Render<LimitsPage>();
        var before = _feed.Reads;

        _time.Advance(TimeSpan.FromSeconds(30));

        Assert.Equal(before, _feed.Reads);
    }

    [Fact]
    public async Task Disposal_unsubscribes_and_stops_the_timer()
    {
        // A secret counts down, so a live timer would read the feed again within a second.
        _feed.Push(LimitsStates.WithSecret(_time.GetUtcNow(), mints: 1));
        Render<LimitsPage>();
        Assert.Equal(1, _feed.Subscribers);
        await DisposeComponentsAsync();

        Assert.Equal(0, _feed.Subscribers);
        var reads = _feed.Reads;
        _feed.Push(LimitsStates.WithSecret(_time.GetUtcNow(), mints: 9));
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(reads, _feed.Reads);
    }

    [Fact]
    public void Cooling_down_reads_in_words_with_until_why_and_the_last_429()
    {
        var now = _time.GetUtcNow();
        _feed.Push(LimitsStates.CoolingDown(now, TimeSpan.FromSeconds(20)));
        var cut = Render<LimitsPage>();

        var backoff = cut.Find("[data-testid=backoff]");
        Assert.Equal("CoolingDown", backoff.GetAttribute("data-kind"));
        Assert.Contains("mud-alert-filled-warning", backoff.ClassName);
        Assert.Contains("Cooling down after a 429", backoff.TextContent);
        Assert.Contains("until 10:00:20 UTC (in 20 s): Retry-After 20 s", backoff.TextContent);
        Assert.Equal("upstream", cut.Find("[data-testid=last-429]").GetAttribute("data-origin"));
        Assert.Contains("from OpenAI (upstream)", cut.Find("[data-testid=last-429]").TextContent);
        Assert.Equal("rate_limit_exceeded", cut.Find("[data-testid=upstream-429-code]").TextContent);
        Assert.Equal("x-request-id req_storm_1", cut.Find("[data-testid=upstream-429-request-id]").TextContent.Trim());
        Assert.Contains("Rate limit reached for requests", cut.Find("[data-testid=upstream-429-message]").TextContent);

        _time.Advance(TimeSpan.FromSeconds(12));
        cut.WaitForAssertion(() => Assert.Contains("(in 8 s)", cut.Find("[data-testid=backoff-detail]").TextContent));
    }

    [Theory]
    [InlineData(BackoffKind.Idle, "Idle", "mud-alert-filled-success")]
    [InlineData(BackoffKind.WaitingForBudget, "Waiting for budget", "mud-alert-filled-warning")]
    [InlineData(BackoffKind.Retrying, "Retrying (attempt 2 of 4)", "mud-alert-filled-warning")]
    [InlineData(BackoffKind.CircuitOpen, "Circuit open", "mud-alert-filled-error")]
    [InlineData(BackoffKind.QuotaExhausted, "Quota exhausted", "mud-alert-filled-error")]
    public void Each_backoff_state_has_its_words_and_colour(BackoffKind kind, string title, string cssClass)
    {
        var now = _time.GetUtcNow();
        var backoff = new BackoffState(kind, kind == BackoffKind.Retrying ? 2 : null, kind == BackoffKind.Retrying ? 4 : null, now.AddSeconds(30), "client_secrets");
        _feed.Push(LimitsStates.Empty(now) with { Snapshot = LimitsStates.Empty(now).Snapshot with { Backoff = backoff } });

        var cut = Render<LimitsPage>();

        Assert.Equal(title, cut.Find("[data-testid=backoff-title]").TextContent);
        Assert.Contains(cssClass, cut.Find("[data-testid=backoff]").ClassName);
        if (kind is not (BackoffKind.Idle or BackoffKind.WaitingForBudget))
        {
            Assert.Contains("10:00:30 UTC (in 30 s)", cut.Find("[data-testid=backoff-detail]").TextContent);
        }
    }

    [Fact]
    public void Budget_shows_gauges_with_reset_countdowns_and_the_local_budget()
    {
        _feed.Push(LimitsStates.CoolingDown(_time.GetUtcNow(), TimeSpan.FromSeconds(20)));
        var cut = Render<LimitsPage>();

        var gauge = cut.Find("[data-testid=gauge-client_secrets-requests]");
        Assert.Contains("requests: 3 of 100 left", gauge.TextContent);
        Assert.Contains("full again in 40 s", gauge.TextContent);
        Assert.Contains("Local budget 2 of 60/min · 5 queued", cut.Find("[data-testid=budget-client_secrets] [data-testid=local-budget]").TextContent);
    }

    [Theory]
    [InlineData(BackoffKind.CoolingDown, 95, "mud-warning-text", "cooling down: nothing is sent")]
    [InlineData(BackoffKind.CoolingDown, 3, "mud-error-text", "cooling down: nothing is sent")]
    [InlineData(BackoffKind.Idle, 95, "mud-warning-text", "429 at 10:00:00 UTC")]
    [InlineData(BackoffKind.Idle, 3, "mud-error-text", "429 at 10:00:00 UTC")]
    public void A_gauge_is_not_green_while_cooling_down_or_after_a_429_whatever_the_headers_say(BackoffKind kind, int remaining, string colour, string note)
    {
        var now = _time.GetUtcNow();
        var storm = LimitsStates.CoolingDown(now, TimeSpan.FromSeconds(20));
        var resources = storm.Snapshot.Resources.Select(r => r.LastRateLimits.Count == 0 ? r : r with { LastRateLimits = [r.LastRateLimits[0] with { Remaining = remaining }] }).ToList();
        _feed.Push(storm with { Snapshot = storm.Snapshot with { Resources = resources, Backoff = kind == BackoffKind.Idle ? BackoffState.Idle : storm.Snapshot.Backoff } });

        var cut = Render<LimitsPage>();

        var gauge = cut.Find("[data-testid=gauge-client_secrets-requests]");
        Assert.Contains(colour, gauge.QuerySelector(".mud-progress-circular")!.ClassName);
        Assert.Equal(note, gauge.QuerySelector("[data-testid=gauge-note]")!.TextContent);
    }

    [Fact]
    public void A_gauge_with_plenty_left_and_no_429_since_is_green()
    {
        var now = _time.GetUtcNow();
        var storm = LimitsStates.CoolingDown(now, TimeSpan.FromSeconds(20));
        var resources = storm.Snapshot.Resources.Select(r => r.LastRateLimits.Count == 0 ? r : r with { LastRateLimits = [r.LastRateLimits[0] with { Remaining = 95, At = now.AddSeconds(1) }] }).ToList();
        _feed.Push(storm with { Snapshot = storm.Snapshot with { Resources = resources, Backoff = BackoffState.Idle } });

        var cut = Render<LimitsPage>();

        var gauge = cut.Find("[data-testid=gauge-client_secrets-requests]");
        Assert.Contains("mud-success-text", gauge.QuerySelector(".mud-progress-circular")!.ClassName);
        Assert.Empty(gauge.QuerySelectorAll("[data-testid=gauge-note]"));
    }

    [Fact]
    public void A_local_refusal_says_nothing_was_sent_and_still_shows_the_last_upstream_429()
    {
        var now = _time.GetUtcNow();
        var storm = LimitsStates.CoolingDown(now, TimeSpan.FromSeconds(20));
        var local = new RateLimitEvent(now.AddSeconds(2), "client_secrets", "rate_limited", "Upstream asked us to slow down (Retry-After 20 s); every caller waits out the same cooldown. Try again in 18 s.", null, false);
        _feed.Push(storm with { Snapshot = storm.Snapshot with { Last429 = local, LastUpstream429 = storm.Snapshot.Last429 } });

        var cut = Render<LimitsPage>();

        var panel = cut.Find("[data-testid=last-429]");
        Assert.Equal("local", panel.GetAttribute("data-origin"));
        Assert.Contains("refused here, not by OpenAI", panel.TextContent);
        Assert.Equal("rate_limited", cut.Find("[data-testid=last-429-code]").TextContent);
        Assert.Contains("nothing was sent upstream, so there is no x-request-id", cut.Find("[data-testid=last-429-local]").TextContent);
        Assert.Contains("every caller waits out the same cooldown", cut.Find("[data-testid=last-429-message]").TextContent);
        Assert.Contains("Last 429 from OpenAI", cut.Find("[data-testid=upstream-429]").TextContent);
        Assert.Equal("x-request-id req_storm_1", cut.Find("[data-testid=upstream-429-request-id]").TextContent.Trim());
    }

    [Fact]
    public void An_upstream_429_without_a_request_id_says_so()
    {
        var now = _time.GetUtcNow();
        var storm = LimitsStates.CoolingDown(now, TimeSpan.FromSeconds(20));
        _feed.Push(storm with { Snapshot = storm.Snapshot with { Last429 = storm.Snapshot.Last429! with { UpstreamRequestId = null } } });

        var cut = Render<LimitsPage>();

        Assert.Equal("upstream", cut.Find("[data-testid=last-429]").GetAttribute("data-origin"));
        Assert.Equal("Upstream sent no x-request-id with this answer.", cut.Find("[data-testid=upstream-429-request-id]").TextContent.Trim());
    }

    [Fact]
    public void Requests_show_counts_by_status_per_window_and_the_chart()
    {
        _feed.Push(LimitsStates.CoolingDown(_time.GetUtcNow(), TimeSpan.FromSeconds(20)));
        var cut = Render<LimitsPage>();

        var row = cut.Find("[data-testid=requests-client_secrets]");
        Assert.Equal("200×4 429×6", row.QuerySelector("[data-testid=requests-minute]")!.TextContent);
        Assert.Equal("200×40 429×6 503×1", row.QuerySelector("[data-testid=requests-hour]")!.TextContent);
        Assert.Equal("200×41 429×6 503×1", row.QuerySelector("[data-testid=requests-total]")!.TextContent);
        Assert.NotEmpty(cut.FindAll("[data-testid=requests-chart] svg"));
    }

    [Fact]
    public void The_calls_table_filters_by_status()
    {
        _feed.Push(LimitsStates.CoolingDown(_time.GetUtcNow(), TimeSpan.FromSeconds(20)));
        var cut = Render<LimitsPage>();
        Assert.Equal(3, cut.FindAll("[data-testid=calls-table] tbody tr").Count);

        cut.Find("input[data-testid=calls-filter], [data-testid=calls-filter] input").Input("429");

        cut.WaitForAssertion(() => Assert.Equal(2, cut.FindAll("[data-testid=calls-table] tbody tr").Count));
        Assert.All(cut.FindAll("[data-testid=calls-table] tbody tr"), row => Assert.Contains("429", row.TextContent));
    }

    [Fact]
    public void Actions_reach_the_broker()
    {
        var cut = Render<LimitsPage>();

        cut.Find("[data-testid=force-refresh]").Click();
        cut.Find("[data-testid=reset-counters]").Click();

        cut.WaitForAssertion(() => Assert.Equal(1, _actions.Refreshes));
        Assert.Equal(1, _actions.Resets);
        Assert.Equal("/api/telemetry/export.csv", cut.Find("[data-testid=export-csv]").GetAttribute("href"));
        Assert.True(cut.Find("[data-testid=export-json]").HasAttribute("download"));
    }
}

/// <summary>Counts the dashboard's actions instead of touching a broker.</summary>
internal sealed class FakeTelemetryActions : ITelemetryActions
{
    public int Refreshes { get; private set; }

    public int Resets { get; private set; }

    public List<SecretMode> Modes { get; } = [];

    public Task ForceRefreshAsync(CancellationToken cancellationToken)
    {
        Refreshes++;
        return Task.CompletedTask;
    }

    public void SwitchMode(SecretMode mode) => Modes.Add(mode);

    public void ResetCounters() => Resets++;
}

/// <summary>A telemetry source the test pushes states through; counts reads and subscribers.</summary>
internal sealed class FakeTelemetryFeed(DashboardState initial) : ITelemetryFeed
{
    private readonly List<Func<Task>> _subscribers = [];

    private DashboardState _current = initial;

    public DashboardState Current
    {
        get
        {
            Reads++;
            return _current;
        }
    }

    /// <summary>The page reads the feed once per render, so this counts renders that fetched new state.</summary>
    public int Reads { get; private set; }

    public int Subscribers => _subscribers.Count;

    public IDisposable Subscribe(Func<Task> onChange)
    {
        _subscribers.Add(onChange);
        return new Unsubscribe(() => _subscribers.Remove(onChange));
    }

    public void Push(DashboardState state)
    {
        _current = state;
        foreach (var subscriber in _subscribers.ToList())
        {
            _ = subscriber();
        }
    }

    private sealed class Unsubscribe(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}

/// <summary>Dashboard states for the panel tests.</summary>
internal static class LimitsStates
{
    public static DashboardState Empty(DateTimeOffset now) => new(
        new BrokerTelemetrySnapshot(
            now,
            new SecretSnapshot(SecretMode.Shared, null, null, null, null, 0, 0),
            new SecretCounters(0, 0, 0, 0, 0, null, null),
            [Resource("client_secrets"), Resource("calls")],
            BackoffState.Idle,
            null,
            []),
        new RequestHistorySnapshot(10, [], []));

    public static DashboardState WithSecret(DateTimeOffset now, long mints)
    {
        var empty = Empty(now);
        return empty with
        {
            Snapshot = empty.Snapshot with
            {
                Secret = new SecretSnapshot(SecretMode.Shared, now, now.AddMinutes(10), now.AddSeconds(450), 0, 0, 0),
                Counters = new SecretCounters(mints, 0, 3, 1, 1, 0.75, 120),
            },
        };
    }

    public static DashboardState CoolingDown(DateTimeOffset now, TimeSpan left)
    {
        var state = WithSecret(now, 2);
        var secrets = Resource("client_secrets") with
        {
            CountsByStatus = Counts(("200", 41), ("429", 6), ("503", 1)),
            LastRateLimits = [new RateLimitValues("requests", 100, 3, 40, now, "x-ratelimit headers")],
            BudgetAvailable = 2,
            BudgetPerMinute = 60,
            BudgetQueued = 5,
        };
        return new DashboardState(
            state.Snapshot with
            {
                Resources = [secrets, Resource("calls")],
                Backoff = new BackoffState(BackoffKind.CoolingDown, Until: now + left, Reason: "Retry-After 20 s"),
                Last429 = new RateLimitEvent(now, "client_secrets", "rate_limit_exceeded", "Rate limit reached for requests", "req_storm_1", true),
                RecentCalls =
                [
                    new UpstreamCallRecord(now, UpstreamResource.ClientSecrets, 429, "rate_limit_exceeded", 12, 2, "req_storm_1"),
                    new UpstreamCallRecord(now.AddSeconds(-1), UpstreamResource.ClientSecrets, 429, "rate_limit_exceeded", 10, 1, "req_storm_0"),
                    new UpstreamCallRecord(now.AddSeconds(-5), UpstreamResource.ClientSecrets, 200, null, 90, 1, "req_ok"),
                ],
            },
            new RequestHistorySnapshot(
                10,
                Enumerable.Range(0, RequestHistory.BucketsCharted).Select(i => new HistoryBucket(now.AddSeconds(10 * (i - 59)), i == 59 ? 10 : 0, i == 59 ? 6 : 0, 0)).ToList(),
                [new ResourceWindow("client_secrets", Counts(("200", 4), ("429", 6)), Counts(("200", 40), ("429", 6), ("503", 1)))]));
    }

    private static ResourceSnapshot Resource(string name) => new(name, new Dictionary<string, long>(), 0, 0, [], null, null, 0, null);

    private static Dictionary<string, long> Counts(params (string Status, long Count)[] counts) => counts.ToDictionary(c => c.Status, c => c.Count);
}
