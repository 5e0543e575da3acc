using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Tests.Simulator;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tests.Tokens;

/// <summary>
/// The broker against the embedded simulator in the same in-memory app (no key set, so upstream is the simulator);
/// the named upstream HttpClient is pointed at the TestServer with the one-line override. Real time, a few seconds each.
/// </summary>
public sealed class BrokerAgainstSimulatorTests
{
    private static ConsoleAppFactory Create(string mode, int clientSecretsPerMinute, string maxQueueWait = "00:00:02", TimeProvider? time = null)
    {
        ConsoleAppFactory? app = null;
        app = new ConsoleAppFactory()
            .WithSetting("Realtime:MaxQueueWait", maxQueueWait)
            .WithSetting("Realtime:SecretMode", mode)
            .WithSetting("Realtime:ClientSecretsPerMinute", clientSecretsPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithSetting("Simulator:RequestsPerMinute:ClientSecrets", clientSecretsPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithSetting("Realtime:DoorPermitsPerMinute", "100000")
            .WithServices(s => s.AddHttpClient(UpstreamGate.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => app!.Server.CreateHandler()));
        if (time is not null)
        {
            // The broker and the simulator on one clock the test moves.
            app.WithServices(s => s.AddSingleton(time));
        }

        return app;
    }

    private static async Task<HttpResponseMessage[]> Burst(HttpClient client, int callers) =>
        await Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(() => client.PostAsync("/api/realtime/client-secret", null))))
            .WaitAsync(TimeSpan.FromSeconds(60));

    private static async Task<Dictionary<string, long>> UpstreamCounts(HttpClient client)
    {
        using var json = JsonDocument.Parse(await client.GetStringAsync("/api/telemetry"));
        return json.RootElement.GetProperty("resources").EnumerateArray()
            .Single(r => r.GetProperty("resource").GetString() == "client_secrets")
            .GetProperty("counts_by_status").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());
    }

    [Fact]
    public async Task Shared_mode_500_concurrent_callers_cost_one_mint_at_the_simulator()
    {
        using var app = Create("Shared", 60);
        var client = app.CreateClient();

        var responses = await Burst(client, 500);

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(new Dictionary<string, long> { ["200"] = 1 }, await UpstreamCounts(client));
        using var first = JsonDocument.Parse(await responses[0].Content.ReadAsStringAsync());
        Assert.StartsWith("ek_", first.RootElement.GetProperty("value").GetString(), StringComparison.Ordinal);
        Assert.Equal("/simulator/v1/realtime/calls", first.RootElement.GetProperty("calls_url").GetString());
    }

    [Fact]
    public async Task PerSession_at_20_rpm_60_callers_get_20_secrets_then_one_per_refill_429s_with_retry_after_and_no_upstream_429()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var app = Create("PerSession", 20, maxQueueWait: "00:00:05", time: time);
        var client = app.CreateClient();

        var responses = await HeldBurst.SixtyAgainstTwentyPerMinuteAsync(app.Services, client, time);

        var upstream = await UpstreamCounts(client);
        // Answers overtaking each other on a busy machine once lent out a slot upstream no longer had (#11): never again.
        Assert.Equal(0, upstream.GetValueOrDefault("429"));
        Assert.Equal(21, upstream.GetValueOrDefault("200"));
        foreach (var refused in responses.Where(r => r.StatusCode != HttpStatusCode.OK))
        {
            var message = (await BrokerEndpointTests.AssertError(refused, HttpStatusCode.TooManyRequests, "rate_limited")).GetProperty("message").GetString()!;
            Assert.Contains("20/min, learned from upstream", message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Insufficient_quota_at_the_simulator_gives_no_secret_and_at_most_a_couple_of_upstream_requests()
    {
        // The 39 callers behind the first wait for its answer (the quota probe); a cold first request on a busy machine
        // can take longer than the default 2 s queue wait, after which they would be let through to ask for themselves.
        using var app = Create("PerSession", 60, maxQueueWait: "00:00:30");
        var client = app.CreateClient();
        var fault = await client.PostAsJsonAsync("/simulator/admin/faults", new { kind = "insufficient_quota", seconds = 300, resource = "client_secrets" });
        Assert.Equal(HttpStatusCode.Created, fault.StatusCode);

        var responses = await Burst(client, 40);

        foreach (var response in responses)
        {
            var error = await BrokerEndpointTests.AssertError(response, HttpStatusCode.ServiceUnavailable, "insufficient_quota");
            Assert.Contains("quota", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        Assert.InRange((await UpstreamCounts(client)).Values.Sum(), 1, 2);
    }

    [Fact]
    public async Task The_sdp_exchange_goes_through_the_server_and_the_call_hangs_up_through_it()
    {
        using var app = Create("PerSession", 60);
        var client = app.CreateClient();

        var response = await client.PostAsync("/api/realtime/calls", new StringContent(SimulatorTestApp.Offer, Encoding.UTF8, "application/sdp"));

        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        Assert.Equal("application/sdp", response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("v=0", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var location = response.Headers.Location?.OriginalString;
        Assert.Matches("^/api/realtime/calls/rtc_[A-Za-z0-9_-]+$", location);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync(location)).StatusCode);
    }
}
