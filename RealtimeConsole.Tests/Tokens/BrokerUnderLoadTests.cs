using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tests.Tokens;

/// <summary>
/// The whole app under concurrent load against an in-test upstream that enforces requests-per-minute the way OpenAI
/// and the embedded simulator do (continuous refill, x-ratelimit-* headers, 429 bodies). Real time: each test ends
/// within a few seconds (the 2 s queue wait is the longest part).
/// </summary>
public sealed class BrokerUnderLoadTests
{
    private static (ConsoleAppFactory App, StrictUpstream Upstream) Create(string mode, int requestsPerMinute, bool outOfQuota = false, string maxQueueWait = "00:00:02", int? guess = null)
    {
        var upstream = new StrictUpstream(requestsPerMinute, outOfQuota);
        return (Instance(upstream, mode, guess ?? requestsPerMinute, maxQueueWait), upstream);
    }

    /// <summary>One console instance in front of <paramref name="upstream"/>, configured with a guess of the limit.</summary>
    private static ConsoleAppFactory Instance(StrictUpstream upstream, string mode, int guess, string maxQueueWait = "00:00:02") =>
        new ConsoleAppFactory()
            .WithSetting("Realtime:MaxQueueWait", maxQueueWait)
            .WithSetting("Realtime:BaseUrl", "http://upstream.test/v1")
            .WithSetting("Realtime:SecretMode", mode)
            .WithSetting("Realtime:ClientSecretsPerMinute", guess.ToString(CultureInfo.InvariantCulture))
            .WithSetting("Realtime:DoorPermitsPerMinute", "100000")
            .WithServices(s => s.AddHttpClient(UpstreamGate.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => upstream));

    private static async Task<HttpResponseMessage[]> Burst(HttpClient client, int callers) =>
        await Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(() => client.PostAsync("/api/realtime/client-secret", null))))
            .WaitAsync(TimeSpan.FromSeconds(60));

    [Fact]
    public async Task Shared_mode_500_concurrent_callers_cost_one_upstream_mint()
    {
        var (app, upstream) = Create("Shared", 60);
        using var _ = app;

        var responses = await Burst(app.CreateClient(), 500);

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var values = await Task.WhenAll(responses.Select(async r => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("value").GetString()));
        Assert.Single(values.Distinct());
        Assert.Equal(1, upstream.Requests);
    }

    [Fact]
    public async Task PerSession_at_20_rpm_60_concurrent_callers_get_about_20_secrets_and_honest_429s_with_no_upstream_429()
    {
        var (app, upstream) = Create("PerSession", 20);
        using var _ = app;

        var started = Stopwatch.GetTimestamp();
        var responses = await Burst(app.CreateClient(), 60);
        var elapsed = Stopwatch.GetElapsedTime(started);

        // The whole budget (20), plus one slot per 3 s refill while the burst lasted (a busy machine may stretch it).
        var served = responses.Count(r => r.StatusCode == HttpStatusCode.OK);
        var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.InRange(served, 19, 20 + (int)Math.Ceiling(elapsed.TotalSeconds / 3));
        Assert.Equal(60 - served, refused.Count);
        Assert.All(refused, r => Assert.InRange(r.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(120)));
        foreach (var r in refused)
        {
            var error = await BrokerEndpointTests.AssertError(r, HttpStatusCode.TooManyRequests, "rate_limited");
            Assert.True(error.GetProperty("retry_after_seconds").GetInt32() >= 1);
        }

        Assert.DoesNotContain(responses, r => (int)r.StatusCode >= 500);
        Assert.Equal(0, upstream.RateLimited);
        Assert.Equal(served, upstream.Requests);
    }

    [Theory]
    [InlineData(60)] // configured 3× the real limit
    [InlineData(7)]  // configured a third of it
    public async Task From_a_cold_start_whatever_the_guess_60_callers_against_20_rpm_cause_no_upstream_429(int guess)
    {
        var (app, upstream) = Create("PerSession", 20, guess: guess);
        using var _ = app;

        var started = Stopwatch.GetTimestamp();
        var responses = await Burst(app.CreateClient(), 60);
        var elapsed = Stopwatch.GetElapsedTime(started);

        var served = responses.Count(r => r.StatusCode == HttpStatusCode.OK);
        // At most one slot fewer: an answer that overtook another on the way costs its slot until the next refill (never a 429).
        Assert.InRange(served, 19, 20 + (int)Math.Ceiling(elapsed.TotalSeconds / 3));
        Assert.Equal(0, upstream.RateLimited);
        Assert.Equal(served, upstream.Requests);
        var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.Equal(60 - served, refused.Count);
        foreach (var r in refused)
        {
            var error = await BrokerEndpointTests.AssertError(r, HttpStatusCode.TooManyRequests, "rate_limited");
            var message = error.GetProperty("message").GetString()!;
            // The refusal names the limit upstream enforces, not the configured guess.
            Assert.True(message.Contains("20/min, learned from upstream", StringComparison.Ordinal) || message.Contains("finding out upstream's limit", StringComparison.Ordinal), message);
            Assert.InRange(r.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(120));
        }
    }

    [Fact]
    public async Task Two_instances_with_different_guesses_each_learn_the_organizations_real_limit()
    {
        var upstream = new StrictUpstream(20, outOfQuota: false);
        using var high = Instance(upstream, "PerSession", guess: 60);
        using var low = Instance(upstream, "PerSession", guess: 7);
        var clients = new[] { high.CreateClient(), low.CreateClient() };

        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < 10; i++)
        {
            var response = await clients[i % 2].PostAsync("/api/realtime/client-secret", null);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        foreach (var client in clients)
        {
            using var telemetry = JsonDocument.Parse(await client.GetStringAsync("/api/telemetry"));
            var secrets = telemetry.RootElement.GetProperty("resources").EnumerateArray().Single(r => r.GetProperty("resource").GetString() == "client_secrets");
            Assert.Equal(20, secrets.GetProperty("budget_per_minute").GetInt32());
            Assert.Equal("upstream", secrets.GetProperty("budget_limit_source").GetString());
            // Each budget follows the organization's remaining, including what the other instance spent (plus what upstream
            // refilled meanwhile: one slot per 3 s, which a busy machine stretches).
            var refilled = (int)Math.Ceiling(Stopwatch.GetElapsedTime(started).TotalSeconds / 3);
            Assert.InRange(secrets.GetProperty("budget_available").GetInt64(), 10, 11 + refilled);
        }

        Assert.Equal(0, upstream.RateLimited);
    }

    [Fact]
    public async Task Insufficient_quota_gives_no_secret_only_the_quota_answer_and_at_most_a_couple_of_upstream_requests()
    {
        // The 39 callers behind the first wait for its answer (the quota probe); a cold first request on a busy machine
        // can take longer than the default 2 s queue wait, after which they would be let through to ask for themselves.
        var (app, upstream) = Create("PerSession", 60, outOfQuota: true, maxQueueWait: "00:00:30");
        using var _ = app;

        var responses = await Burst(app.CreateClient(), 40);

        foreach (var response in responses)
        {
            var error = await BrokerEndpointTests.AssertError(response, HttpStatusCode.ServiceUnavailable, "insufficient_quota");
            Assert.Contains("quota", error.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.NotNull(response.Headers.RetryAfter);
        }

        Assert.InRange(upstream.Requests, 1, 2);
    }
}
