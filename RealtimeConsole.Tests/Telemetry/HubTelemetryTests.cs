using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.RateLimits;
using RealtimeConsole.Telemetry;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Upstream;
using RealtimeConsole.Tokens;

namespace RealtimeConsole.Tests.Telemetry;

public sealed class HubTelemetryTests : IAsyncLifetime
{
    private readonly LoopbackConsoleServer _server = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_mint_on_the_server_reaches_a_hub_client_as_a_snapshot_and_a_call()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var connection = TelemetryHubClient.Build(new Uri(_server.BaseAddress, TelemetryHubFeature.HubPath));
        await connection.StartAsync(timeout.Token);
        var snapshots = connection.StreamAsync<DashboardState>(nameof(TelemetryHub.Snapshots), timeout.Token).GetAsyncEnumerator(timeout.Token);
        var calls = connection.StreamAsync<IReadOnlyList<UpstreamCallRecord>>(nameof(TelemetryHub.Calls), timeout.Token).GetAsyncEnumerator(timeout.Token);
        Assert.True(await snapshots.MoveNextAsync());
        Assert.Equal(0, snapshots.Current.Snapshot.Counters.Mints);
        Assert.True(await calls.MoveNextAsync());
        Assert.Empty(calls.Current);

        using var http = _server.CreateLoopbackClient();
        var minted = await http.PostAsJsonAsync("api/realtime/client-secret", new { }, timeout.Token);
        minted.EnsureSuccessStatusCode();

        // Snapshots from before the mint may still be queued on a busy machine; the first one counting it must show it whole.
        DashboardState? seen = null;
        while (seen is null)
        {
            Assert.True(await snapshots.MoveNextAsync());
            seen = snapshots.Current.Snapshot.Counters.Mints == 1 ? snapshots.Current : null;
        }

        Assert.NotNull(seen.Snapshot.Secret.ExpiresAt);
        var call = Assert.Single(seen.Snapshot.RecentCalls);
        Assert.Equal((UpstreamResource.ClientSecrets, 200), (call.Resource, call.Status));
        Assert.Equal(1, seen.History.Windows.Single(w => w.Resource == "client_secrets").LastMinute["200"]);

        Assert.True(await calls.MoveNextAsync());
        var streamed = Assert.Single(calls.Current);
        Assert.Equal(call.RequestId, streamed.RequestId);
        await snapshots.DisposeAsync();
        await calls.DisposeAsync();
    }

    [Fact]
    public async Task The_watch_verb_prints_the_live_state_and_stops_after_count()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var output = new StringWriter();
        using var errors = new StringWriter();

        var code = await WatchCommand.RunAsync(["--url", _server.BaseAddress.ToString(), "--count", "2"], output, errors, timeout.Token);

        Assert.Equal(0, code);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("Watching http://127.0.0.1:", lines[0]);
        Assert.Equal(2, lines.Count(l => l.Contains("[Idle] Idle: Requests go straight upstream.", StringComparison.Ordinal)));
        Assert.Empty(errors.ToString());
    }

    [Theory]
    [InlineData(new string[0], "Missing --url.")]
    [InlineData(new[] { "--url", "ftp://example" }, "is not an http(s) URL")]
    [InlineData(new[] { "--url", "http://127.0.0.1:1", "--count", "zero" }, "Unknown or incomplete option '--count'")]
    public async Task The_watch_verb_explains_bad_arguments(string[] args, string message)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();

        var code = await WatchCommand.RunAsync(args, output, errors, CancellationToken.None);

        Assert.Equal(2, code);
        Assert.Contains(message, errors.ToString());
        Assert.Contains("Usage: watch --url", errors.ToString());
    }

    [Fact]
    public void Request_history_counts_per_bucket_minute_and_hour_and_forgets_after_an_hour()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));
        using var meters = new TestMeterFactory();
        using var state = new MemoryBrokerStateStore(new BudgetGuesses(60, 60), time);
        var telemetry = new BrokerTelemetry(time, new BrokerMetrics(meters), state, new UpstreamSignals(), new SecretSignals(), NullLogger<BrokerTelemetry>.Instance);
        var history = new RequestHistory(time, telemetry);
        void Call(int status) => history.Record(new UpstreamCallRecord(time.GetUtcNow(), UpstreamResource.ClientSecrets, status, null, 5, 1, null));

        Call(200);
        time.Advance(TimeSpan.FromMinutes(5));
        Call(200);
        Call(429);
        Call(503);

        var snapshot = history.GetSnapshot();
        Assert.Equal(RequestHistory.BucketsCharted, snapshot.Buckets.Count);
        Assert.Equal(new HistoryBucket(time.GetUtcNow(), 3, 1, 1), snapshot.Buckets[^1]);
        Assert.Equal(1, snapshot.Buckets[^31].Requests);
        var window = snapshot.Windows.Single(w => w.Resource == "client_secrets");
        Assert.Equal(new Dictionary<string, long> { ["200"] = 1, ["429"] = 1, ["503"] = 1 }, window.LastMinute);
        Assert.Equal(2, window.LastHour["200"]);

        time.Advance(TimeSpan.FromMinutes(58));
        Assert.Equal(1, history.GetSnapshot().Windows.Single(w => w.Resource == "client_secrets").LastHour["200"]);
        history.Reset();
        Assert.Empty(history.GetSnapshot().Windows.Single(w => w.Resource == "client_secrets").LastHour);
    }

    private sealed class TestMeterFactory : System.Diagnostics.Metrics.IMeterFactory
    {
        private readonly List<System.Diagnostics.Metrics.Meter> _meters = [];

        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options)
        {
            var meter = new System.Diagnostics.Metrics.Meter(options);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose() => _meters.ForEach(m => m.Dispose());
    }
}
