using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using LimitsPage = RealtimeConsole.Components.Pages.RateLimits;
using RealtimeConsole.Telemetry;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Components;

public sealed class LimitsRemoteTests : ConsoleComponentTest
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));
    private readonly FakeTelemetryFeed _local;
    private readonly FakeTelemetryActions _actions = new();
    private readonly FakeRemoteFeeds _remotes = new(
        new RemoteInstance("lab", new Uri("http://10.1.2.3:5000/"), "key-lab"),
        new RemoteInstance("eu-1", new Uri("http://10.9.9.9:5080/"), "key-eu"));

    public LimitsRemoteTests()
    {
        _local = new FakeTelemetryFeed(LimitsStates.WithSecret(_time.GetUtcNow(), mints: 1));
        Services.AddSingleton<TimeProvider>(_time);
        Services.AddSingleton<ITelemetryFeed>(_local);
        Services.AddSingleton<ITelemetryActions>(_actions);
        AddDeploymentTelemetry(_time.GetUtcNow());
        Services.AddSingleton<IRemoteTelemetryFeedFactory>(_remotes);
    }

    [Fact]
    public void Watching_shows_the_remote_panels_and_its_connection_state()
    {
        var cut = Render<LimitsPage>();

        var remote = Watch(cut, "lab");

        Assert.Equal(new Uri("http://10.1.2.3:5000/"), remote.Instance);
        Assert.True(remote.Started);
        Assert.Equal("Connecting", cut.Find("[data-testid=remote-state]").GetAttribute("data-state"));
        Assert.Contains("Connecting to 10.1.2.3:5000", cut.Find("[data-testid=remote-state]").TextContent);
        Assert.Contains("Nothing received from 10.1.2.3:5000 yet", cut.Find("[data-testid=remote-waiting]").TextContent);
        Assert.Empty(cut.FindAll("[data-testid=secret-panel]"));

        remote.SetConnection(new RemoteConnectionState(RemoteConnectionKind.Connected));
        remote.Push(LimitsStates.CoolingDown(_time.GetUtcNow(), TimeSpan.FromSeconds(20)) with { });
        _time.Advance(LimitsPage.RenderGap);

        cut.WaitForAssertion(() => Assert.Equal("Connected", cut.Find("[data-testid=remote-state]").GetAttribute("data-state")));
        Assert.Contains("its live state, not this instance's", cut.Find("[data-testid=remote-state]").TextContent);
        Assert.Equal("Remote instance 10.1.2.3:5000", cut.Find("[data-testid=showing]").TextContent);
        Assert.Contains("2 (0 failed)", cut.Find("[data-testid=secret-mints]").TextContent);
        Assert.Equal("CoolingDown", cut.Find("[data-testid=backoff]").GetAttribute("data-kind"));
        Assert.Equal(3, cut.FindAll("[data-testid=calls-table] tbody tr").Count);
    }

    [Fact]
    public void Local_only_actions_are_off_while_watching_and_the_exports_point_at_the_remote()
    {
        var cut = Render<LimitsPage>();
        Watch(cut, "lab");

        Assert.True(cut.Find("button[data-testid=force-refresh]").HasAttribute("disabled"));
        Assert.True(cut.Find("button[data-testid=reset-counters]").HasAttribute("disabled"));
        Assert.Contains("act on this instance only", cut.Find("[data-testid=actions-remote-note]").TextContent);
        Assert.Equal("http://10.1.2.3:5000/api/telemetry/export.json", cut.Find("[data-testid=export-json]").GetAttribute("href"));
        Assert.Equal("http://10.1.2.3:5000/api/telemetry/export.csv", cut.Find("[data-testid=export-csv]").GetAttribute("href"));
    }

    [Fact]
    public void Reconnecting_shows_the_try_and_a_countdown_to_it_and_how_old_the_panels_are()
    {
        var cut = Render<LimitsPage>();
        var remote = Watch(cut, "lab");
        remote.SetConnection(new RemoteConnectionState(RemoteConnectionKind.Connected));
        remote.Push(LimitsStates.WithSecret(_time.GetUtcNow(), mints: 5));
        _time.Advance(TimeSpan.FromSeconds(3));

        remote.SetConnection(new RemoteConnectionState(RemoteConnectionKind.Reconnecting, 3, _time.GetUtcNow().AddSeconds(5), "Cannot reach it: Connection refused (10.1.2.3:5000)"));
        _time.Advance(LimitsPage.RenderGap);

        cut.WaitForAssertion(() => Assert.Equal("Reconnecting", cut.Find("[data-testid=remote-state]").GetAttribute("data-state")));
        var state = cut.Find("[data-testid=remote-state]");
        Assert.Contains("mud-alert-text-warning", state.ClassName);
        Assert.Contains("Lost the connection to 10.1.2.3:5000; reconnecting, try 3 at 10:00:08 UTC (in 5 s). Cannot reach it: Connection refused", state.TextContent);
        Assert.Contains("last update, received at 10:00:00 UTC (4 s ago)", cut.Find("[data-testid=remote-stale]").TextContent);
        Assert.Contains("5 (0 failed)", cut.Find("[data-testid=secret-mints]").TextContent);

        _time.Advance(TimeSpan.FromSeconds(2));
        cut.WaitForAssertion(() => Assert.Contains("(in 3 s)", cut.Find("[data-testid=remote-state-text]").TextContent));
    }

    [Fact]
    public void A_remote_instance_whose_clock_runs_ahead_counts_down_on_its_own_clock_and_says_so()
    {
        var cut = Render<LimitsPage>();
        var remote = Watch(cut, "lab");
        remote.SetConnection(new RemoteConnectionState(RemoteConnectionKind.Connected));
        var remoteNow = _time.GetUtcNow().AddMinutes(5);

        remote.Push(LimitsStates.CoolingDown(remoteNow, TimeSpan.FromSeconds(20)), receivedAt: _time.GetUtcNow());
        _time.Advance(LimitsPage.RenderGap);

        cut.WaitForAssertion(() => Assert.Contains("Its clock is 5:00 ahead of this machine's", cut.Find("[data-testid=remote-clock]").TextContent));
        Assert.Contains("until 10:05:20 UTC (in 20 s)", cut.Find("[data-testid=backoff-detail]").TextContent);
        Assert.Contains("Expires in 10:00", cut.Find("[data-testid=secret-expiry]").TextContent);

        _time.Advance(TimeSpan.FromSeconds(2));
        cut.WaitForAssertion(() => Assert.Contains("(in 18 s)", cut.Find("[data-testid=backoff-detail]").TextContent));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(1)]
    public void A_clock_difference_of_network_latency_size_goes_unmentioned(int seconds)
    {
        var cut = Render<LimitsPage>();
        var remote = Watch(cut, "lab");
        remote.SetConnection(new RemoteConnectionState(RemoteConnectionKind.Connected));

        remote.Push(LimitsStates.WithSecret(_time.GetUtcNow().AddSeconds(seconds), mints: 7), receivedAt: _time.GetUtcNow());
        _time.Advance(LimitsPage.RenderGap);

        cut.WaitForAssertion(() => Assert.Contains("7 (0 failed)", cut.Find("[data-testid=secret-mints]").TextContent));
        Assert.Empty(cut.FindAll("[data-testid=remote-clock]"));
    }

    [Fact]
    public void A_remote_clock_running_behind_is_named_as_behind()
    {
        var cut = Render<LimitsPage>();
        var remote = Watch(cut, "lab");
        remote.SetConnection(new RemoteConnectionState(RemoteConnectionKind.Connected));

        remote.Push(LimitsStates.WithSecret(_time.GetUtcNow().AddSeconds(-42), mints: 7), receivedAt: _time.GetUtcNow());
        _time.Advance(LimitsPage.RenderGap);

        cut.WaitForAssertion(() => Assert.Contains("Its clock is 42 s behind this machine's", cut.Find("[data-testid=remote-clock]").TextContent));
        Assert.Contains("Expires in 10:00", cut.Find("[data-testid=secret-expiry]").TextContent);
    }

    [Fact]
    public void Disconnected_says_why_in_words()
    {
        var cut = Render<LimitsPage>();
        var remote = Watch(cut, "lab");

        remote.SetConnection(new RemoteConnectionState(RemoteConnectionKind.Disconnected, Reason: "The instance closed the connection."));
        _time.Advance(LimitsPage.RenderGap);

        cut.WaitForAssertion(() => Assert.Equal("Disconnected", cut.Find("[data-testid=remote-state]").GetAttribute("data-state")));
        Assert.Contains("mud-alert-text-error", cut.Find("[data-testid=remote-state]").ClassName);
        Assert.Equal("Disconnected from 10.1.2.3:5000. The instance closed the connection.", cut.Find("[data-testid=remote-state-text]").TextContent);
    }

    [Fact]
    public void The_picker_offers_exactly_the_configured_instances()
    {
        var cut = Render<LimitsPage>();

        var offered = cut.FindAll("[data-testid=remote-watch]").Select(b => (b.GetAttribute("data-name"), b.TextContent.Trim())).ToList();

        Assert.Equal([("lab", "lab (10.1.2.3:5000)"), ("eu-1", "eu-1 (10.9.9.9:5080)")], offered);
        Assert.Empty(cut.FindAll("input[data-testid=remote-url], [data-testid=remote-url] input"));
        Assert.Empty(_remotes.Created);
    }

    [Fact]
    public void With_no_instances_configured_the_panel_says_where_to_list_them()
    {
        Services.AddSingleton<IRemoteTelemetryFeedFactory>(new FakeRemoteFeeds());
        var cut = Render<LimitsPage>();

        Assert.Contains("Telemetry:RemoteInstances", cut.Find("[data-testid=remote-none]").TextContent);
        Assert.Empty(cut.FindAll("[data-testid=remote-watch]"));
    }

    [Fact]
    public void Stop_disconnects_and_goes_back_to_this_instance()
    {
        var cut = Render<LimitsPage>();
        var remote = Watch(cut, "lab");
        remote.Push(LimitsStates.WithSecret(_time.GetUtcNow(), mints: 42));
        _time.Advance(LimitsPage.RenderGap);
        cut.WaitForAssertion(() => Assert.Contains("42 (0 failed)", cut.Find("[data-testid=secret-mints]").TextContent));

        cut.Find("[data-testid=remote-stop]").Click();

        cut.WaitForAssertion(() => Assert.Equal("This instance", cut.Find("[data-testid=showing]").TextContent));
        Assert.True(remote.Disposed);
        Assert.Equal(0, remote.Subscribers);
        Assert.Contains("1 (0 failed)", cut.Find("[data-testid=secret-mints]").TextContent);
        Assert.False(cut.Find("button[data-testid=force-refresh]").HasAttribute("disabled"));
        Assert.Equal(1, _local.Subscribers);

        _local.Push(LimitsStates.WithSecret(_time.GetUtcNow(), mints: 2));
        _time.Advance(LimitsPage.RenderGap);
        cut.WaitForAssertion(() => Assert.Contains("2 (0 failed)", cut.Find("[data-testid=secret-mints]").TextContent));
    }

    [Fact]
    public async Task Disposing_the_page_disconnects_the_remote_instance()
    {
        var cut = Render<LimitsPage>();
        var remote = Watch(cut, "lab");
        Assert.Equal(1, remote.Subscribers);

        await DisposeComponentsAsync();

        Assert.True(remote.Disposed);
        Assert.Equal(0, remote.Subscribers);
    }

    private FakeRemoteFeed Watch(IRenderedComponent<LimitsPage> cut, string name)
    {
        cut.Find($"[data-testid=remote-watch][data-name='{name}']").Click();
        cut.WaitForAssertion(() => Assert.Single(_remotes.Created));
        return _remotes.Created[0];
    }
}

/// <summary>Hands out <see cref="FakeRemoteFeed"/>s and keeps them for the test.</summary>
internal sealed class FakeRemoteFeeds(params RemoteInstance[] instances) : IRemoteTelemetryFeedFactory
{
    public List<FakeRemoteFeed> Created { get; } = [];

    public IReadOnlyList<RemoteInstance> Instances { get; } = instances;

    public IRemoteTelemetryFeed? Create(string name)
    {
        if (Instances.FirstOrDefault(i => i.Name == name) is not { } instance)
        {
            return null;
        }

        var feed = new FakeRemoteFeed(instance.Url);
        Created.Add(feed);
        return feed;
    }
}

/// <summary>A watched instance the test drives: it pushes states and connection changes through it.</summary>
internal sealed class FakeRemoteFeed(Uri instance) : IRemoteTelemetryFeed
{
    private readonly List<Func<Task>> _subscribers = [];

    public Uri Instance { get; } = instance;

    public RemoteConnectionState Connection { get; private set; } = new(RemoteConnectionKind.Connecting, 1);

    public DashboardState? Latest { get; private set; }

    public DateTimeOffset? LatestAt { get; private set; }

    public TimeSpan ClockOffset { get; private set; }

    public DashboardState Current => Latest ?? RemoteTelemetryFeed.EmptyState(DateTimeOffset.UnixEpoch);

    public bool Started { get; private set; }

    public bool Disposed { get; private set; }

    public int Subscribers => _subscribers.Count;

    public IDisposable Subscribe(Func<Task> onChange)
    {
        _subscribers.Add(onChange);
        return new Unsubscribe(() => _subscribers.Remove(onChange));
    }

    public void Start() => Started = true;

    public Task StopAsync() => Task.CompletedTask;

    public ValueTask DisposeAsync()
    {
        Disposed = true;
        return ValueTask.CompletedTask;
    }

    public void Push(DashboardState state) => Push(state, receivedAt: state.Snapshot.CapturedAt);

    /// <summary>An update captured on the instance's clock and received at <paramref name="receivedAt"/> on ours.</summary>
    public void Push(DashboardState state, DateTimeOffset receivedAt)
    {
        Latest = state;
        LatestAt = receivedAt;
        ClockOffset = state.Snapshot.CapturedAt - receivedAt;
        Notify();
    }

    public void SetConnection(RemoteConnectionState state)
    {
        Connection = state;
        Notify();
    }

    private void Notify()
    {
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
