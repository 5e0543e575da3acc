using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RealtimeConsole.RateLimits;
using RealtimeConsole.Telemetry;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Tests.Tokens;
using RealtimeConsole.Tests.Upstream;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tests.Telemetry;

public sealed class BrokerTelemetryTests
{
    private static Func<HttpRequestMessage> Mint => () => new HttpRequestMessage(HttpMethod.Post, "http://upstream.test/v1/realtime/client_secrets");

    [Fact]
    public async Task Subscribers_hear_each_change_until_they_dispose_and_reset_zeroes_the_counters()
    {
        TimeProvider? clock = null;
        using var harness = new BrokerHarness((_, _) => FakeUpstreamHandler.Secret(clock!));
        clock = harness.Time;
        var notified = 0;
        var subscription = harness.Telemetry.Subscribe(() =>
        {
            Interlocked.Increment(ref notified);
            return Task.CompletedTask;
        });

        await harness.Broker.GetSecretAsync(null, CancellationToken.None);
        Assert.True(Volatile.Read(ref notified) > 0);
        var snapshot = harness.Telemetry.GetSnapshot();
        Assert.Equal(1, snapshot.Counters.Mints);
        Assert.NotNull(snapshot.Counters.LastMintLatencyMs);
        Assert.Equal(harness.Time.GetUtcNow().AddSeconds(600).ToUnixTimeSeconds(), snapshot.Secret.ExpiresAt!.Value.ToUnixTimeSeconds());
        Assert.Equal(0, snapshot.Secret.AgeSeconds);
        harness.Time.Fake.Advance(TimeSpan.FromSeconds(42));
        Assert.Equal(42, harness.Telemetry.GetSnapshot().Secret.AgeSeconds);

        subscription.Dispose();
        var before = Volatile.Read(ref notified);
        harness.Telemetry.ResetCounters();
        Assert.Equal(before, Volatile.Read(ref notified));
        var reset = harness.Telemetry.GetSnapshot();
        Assert.Equal(0, reset.Counters.Mints);
        Assert.Empty(reset.RecentCalls);
        Assert.Empty(reset.Resources.Single(r => r.Resource == "client_secrets").CountsByStatus);
    }

    [Fact]
    public async Task Shared_cache_hits_are_counted_unwatched_and_reach_a_subscriber_when_watched()
    {
        TimeProvider? clock = null;
        using var harness = new BrokerHarness((_, _) => FakeUpstreamHandler.Secret(clock!), new() { ["Realtime:SecretMode"] = "Shared" });
        clock = harness.Time;
        var minted = await harness.Broker.GetSecretAsync(null, CancellationToken.None);
        for (var i = 0; i < 100; i++)
        {
            Assert.Same(minted.Secret, (await harness.Broker.GetSecretAsync(null, CancellationToken.None)).Secret);
        }

        Assert.Equal(100, harness.Telemetry.GetSnapshot().Counters.CacheHits);

        using var heard = new SemaphoreSlim(0);
        using var subscription = harness.Telemetry.Subscribe(() =>
        {
            heard.Release();
            return Task.CompletedTask;
        });
        for (var i = 0; i < 1000; i++)
        {
            await harness.Broker.GetSecretAsync(null, CancellationToken.None);
        }

        // Hits notify through a queued, coalesced call: it arrives, bounded in time, without sleeping.
        Assert.True(await heard.WaitAsync(ConditionWaiter.Patience), "A watcher was never told about the cache hits.");
        var counters = harness.Telemetry.GetSnapshot().Counters;
        Assert.Equal((1100, 1, 1), (counters.CacheHits, counters.CacheMisses, counters.Mints));
        Assert.Equal(1, harness.Upstream.Count);
    }

    [Fact]
    public async Task Backoff_state_shows_the_retry_attempt_and_when_it_goes()
    {
        using var harness = new BrokerHarness((_, n) => n == 1
            ? FakeUpstreamHandler.Json(HttpStatusCode.ServiceUnavailable, """{"error":{"message":"busy","type":"server_error","code":null}}""")
            : FakeUpstreamHandler.Secret(TimeProvider.System));

        var send = harness.Gate.SendAsync(UpstreamResource.ClientSecrets, Mint, CancellationToken.None);
        await harness.Upstream.WaitForRequestAsync(1);
        await harness.Time.NextTimerAsync(due => due > TimeSpan.Zero && due < TimeSpan.FromSeconds(10));
        var backoff = harness.Telemetry.GetSnapshot().Backoff;

        Assert.Equal(new BackoffState(BackoffKind.Retrying, 2, 3, backoff!.Until, "client_secrets"), backoff);
        Assert.True(backoff.Until > harness.Time.GetUtcNow());
        harness.Time.Fake.Advance(backoff.Until!.Value - harness.Time.GetUtcNow());
        Assert.True((await send.WaitAsync(ConditionWaiter.Patience)).IsSuccess);
        Assert.Equal(BackoffKind.Idle, harness.Telemetry.GetSnapshot().Backoff.Kind);
    }

    [Fact]
    public async Task Api_telemetry_metrics_and_browser_reports_over_http()
    {
        var upstream = new FakeUpstreamHandler(TimeProvider.System, (_, _) =>
        {
            var response = FakeUpstreamHandler.Secret(TimeProvider.System);
            response.Headers.Add("x-ratelimit-limit-requests", "60");
            response.Headers.Add("x-ratelimit-remaining-requests", "59");
            response.Headers.Add("x-ratelimit-reset-requests", "1s");
            response.Headers.Add("x-request-id", "req_ok");
            return response;
        });
        using var app = new ConsoleAppFactory()
            .WithSetting("Realtime:BaseUrl", "http://upstream.test/v1")
            .WithServices(s => s.AddHttpClient(UpstreamGate.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => upstream));
        var client = app.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/api/realtime/client-secret", null)).StatusCode);

        var report = new { type = "rate_limits.updated", event_id = "ev_1", rate_limits = new object[]
        {
            new { name = "requests", limit = 60, remaining = 58, reset_seconds = 2.5 },
            new { name = "tokens", limit = 150000, remaining = 149000, reset_seconds = 0.4 },
        } };
        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsJsonAsync("/api/telemetry/rate-limits", report)).StatusCode);
        await BrokerEndpointTests.AssertError(await client.PostAsJsonAsync("/api/telemetry/rate-limits", new { rate_limits = new[] { new { name = "coins" } } }), HttpStatusCode.BadRequest, "invalid_rate_limits");

        using var json = JsonDocument.Parse(await client.GetStringAsync("/api/telemetry"));
        var root = json.RootElement;
        Assert.Equal("PerSession", root.GetProperty("secret").GetProperty("mode").GetString());
        Assert.Equal(1, root.GetProperty("counters").GetProperty("mints").GetInt64());
        Assert.Equal("Idle", root.GetProperty("backoff").GetProperty("kind").GetString());
        var call = root.GetProperty("recent_calls")[0];
        Assert.Equal(("client_secrets", 200, "req_ok"), (call.GetProperty("resource").GetString(), call.GetProperty("status").GetInt32(), call.GetProperty("request_id").GetString()));
        var resources = root.GetProperty("resources").EnumerateArray().ToDictionary(r => r.GetProperty("resource").GetString()!);
        Assert.Equal(1, resources["client_secrets"].GetProperty("counts_by_status").GetProperty("200").GetInt64());
        Assert.Equal(59, resources["client_secrets"].GetProperty("last_rate_limits")[0].GetProperty("remaining").GetInt32());
        Assert.Equal(2, resources["responses"].GetProperty("last_rate_limits").GetArrayLength());

        var metrics = await client.GetStringAsync("/metrics");
        Assert.Contains("realtime_broker_mints_total{", metrics, StringComparison.Ordinal);
        // OpenTelemetry listens to meters by name process-wide, so other apps in this test run may add to the count.
        Assert.Matches("realtime_upstream_requests_total\\{[^}]*resource=\"client_secrets\"[^}]*status=\"200\"[^}]*\\} [1-9]", metrics);
        Assert.Contains("realtime_upstream_budget_available{", metrics, StringComparison.Ordinal);
    }
}
