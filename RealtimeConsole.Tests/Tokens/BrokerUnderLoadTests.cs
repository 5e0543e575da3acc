using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
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

    /// <summary>One instance in PerSession mode with a 5 s queue wait, its clock and upstream's the fake <paramref name="time"/>.</summary>
    private static (ConsoleAppFactory App, StrictUpstream Upstream) OnFakeClock(FakeTimeProvider time, int guess)
    {
        var upstream = new StrictUpstream(20, outOfQuota: false, time);
        return (Instance(upstream, "PerSession", guess, maxQueueWait: "00:00:05").WithServices(s => s.AddSingleton<TimeProvider>(time)), upstream);
    }

    [Fact]
    public async Task PerSession_at_20_rpm_60_concurrent_callers_get_20_secrets_then_one_per_refill_and_honest_429s_with_no_upstream_429()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (app, upstream) = OnFakeClock(time, guess: 20);
        using var _ = app;

        var responses = await HeldBurst.SixtyAgainstTwentyPerMinuteAsync(app.Services, app.CreateClient(), time);

        foreach (var r in responses.Where(r => r.StatusCode != HttpStatusCode.OK))
        {
            var error = await BrokerEndpointTests.AssertError(r, HttpStatusCode.TooManyRequests, "rate_limited");
            Assert.True(error.GetProperty("retry_after_seconds").GetInt32() >= 1);
        }

        Assert.Equal(0, upstream.RateLimited);
        Assert.Equal(21, upstream.Requests);
    }

    [Theory]
    [InlineData(60)] // configured 3× the real limit
    [InlineData(7)]  // configured a third of it
    public async Task From_a_cold_start_whatever_the_guess_60_callers_against_20_rpm_cause_no_upstream_429(int guess)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (app, upstream) = OnFakeClock(time, guess);
        using var _ = app;

        var responses = await HeldBurst.SixtyAgainstTwentyPerMinuteAsync(app.Services, app.CreateClient(), time);

        Assert.Equal(0, upstream.RateLimited);
        Assert.Equal(21, upstream.Requests);
        foreach (var r in responses.Where(r => r.StatusCode != HttpStatusCode.OK))
        {
            var message = (await BrokerEndpointTests.AssertError(r, HttpStatusCode.TooManyRequests, "rate_limited")).GetProperty("message").GetString()!;
            // The refusal names the limit upstream enforces, not the configured guess.
            Assert.Contains("20/min, learned from upstream", message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Two_instances_with_different_guesses_each_learn_the_organizations_real_limit()
    {
        // One clock for both instances and upstream, standing still: no slot refills while the test runs.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var upstream = new StrictUpstream(20, outOfQuota: false, time);
        using var high = Instance(upstream, "PerSession", guess: 60).WithServices(s => s.AddSingleton<TimeProvider>(time));
        using var low = Instance(upstream, "PerSession", guess: 7).WithServices(s => s.AddSingleton<TimeProvider>(time));
        var clients = new[] { high.CreateClient(), low.CreateClient() };

        for (var i = 0; i < 10; i++)
        {
            var response = await clients[i % 2].PostAsync("/api/realtime/client-secret", null);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Each budget follows the organization's remaining, including what the other instance spent: the high-guess instance
        // last heard upstream after the 9th request (11 left), the low one after the 10th (10 left).
        foreach (var (client, available) in clients.Zip([11L, 10L]))
        {
            using var telemetry = JsonDocument.Parse(await client.GetStringAsync("/api/telemetry"));
            var secrets = telemetry.RootElement.GetProperty("resources").EnumerateArray().Single(r => r.GetProperty("resource").GetString() == "client_secrets");
            Assert.Equal(20, secrets.GetProperty("budget_per_minute").GetInt32());
            Assert.Equal("upstream", secrets.GetProperty("budget_limit_source").GetString());
            Assert.Equal(available, secrets.GetProperty("budget_available").GetInt64());
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
