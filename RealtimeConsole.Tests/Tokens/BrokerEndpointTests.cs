using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Tests.Upstream;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tests.Tokens;

/// <summary>The browser-facing endpoints over the in-memory app, with a scripted upstream behind the named HttpClient.</summary>
public sealed class BrokerEndpointTests
{
    private const string Offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n"
        + "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijabcdefghijab\r\na=fingerprint:sha-256 00:11\r\na=setup:actpass\r\n";

    private static (ConsoleAppFactory App, FakeUpstreamHandler Upstream) Create(Func<HttpRequestMessage, int, HttpResponseMessage> responder, params (string Key, string Value)[] settings)
    {
        var upstream = new FakeUpstreamHandler(TimeProvider.System, responder);
        var app = new ConsoleAppFactory()
            .WithSetting("OPENAI_API_KEY", "sk-test-endpoints")
            .WithSetting("Realtime:BaseUrl", "http://upstream.test/v1")
            .WithServices(s => s.AddHttpClient(UpstreamGate.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => upstream));
        foreach (var (key, value) in settings)
        {
            app.WithSetting(key, value);
        }

        return (app, upstream);
    }

    [Fact]
    public async Task Client_secret_answers_value_expiry_mode_and_where_to_post_the_sdp()
    {
        var (app, upstream) = Create((_, _) => FakeUpstreamHandler.Secret(TimeProvider.System, 600, "ek_abc"));
        using var _ = app;

        var response = await app.CreateClient().PostAsync("/api/realtime/client-secret", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("ek_abc", body.RootElement.GetProperty("value").GetString());
        Assert.InRange(body.RootElement.GetProperty("expires_at").GetInt64() - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 590, 601);
        Assert.Equal("PerSession", body.RootElement.GetProperty("mode").GetString());
        Assert.Equal("http://upstream.test/v1/realtime/calls", body.RootElement.GetProperty("calls_url").GetString());

        var (_, request, sent) = upstream.Requests.Single();
        Assert.Equal("http://upstream.test/v1/realtime/client_secrets", request.RequestUri!.ToString());
        using var mint = JsonDocument.Parse(sent);
        Assert.Equal("created_at", mint.RootElement.GetProperty("expires_after").GetProperty("anchor").GetString());
        Assert.Equal(600, mint.RootElement.GetProperty("expires_after").GetProperty("seconds").GetInt32());
        Assert.Equal("realtime", mint.RootElement.GetProperty("session").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Session_overrides_reach_upstream_and_bad_ones_get_400_or_415()
    {
        var (app, upstream) = Create((_, _) => FakeUpstreamHandler.Secret(TimeProvider.System));
        using var _ = app;
        var client = app.CreateClient();

        var ok = await client.PostAsJsonAsync("/api/realtime/client-secret", new { voice = "ash", instructions = "Speak French." });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        using var mint = JsonDocument.Parse(upstream.Requests.Single().Body);
        Assert.Equal("ash", mint.RootElement.GetProperty("session").GetProperty("audio").GetProperty("output").GetProperty("voice").GetString());

        var badJson = await client.PostAsync("/api/realtime/client-secret", new StringContent("{nope", Encoding.UTF8, "application/json"));
        await AssertError(badJson, HttpStatusCode.BadRequest, "invalid_json");
        var badTools = await client.PostAsJsonAsync("/api/realtime/client-secret", new { tools = "all" });
        await AssertError(badTools, HttpStatusCode.BadRequest, "invalid_session");
        var notJson = await client.PostAsync("/api/realtime/client-secret", new StringContent("voice=ash", Encoding.UTF8, "text/plain"));
        await AssertError(notJson, HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        Assert.Single(upstream.Requests);
    }

    [Fact]
    public async Task Calls_exchange_the_sdp_upstream_as_multipart_with_the_key_and_answer_201()
    {
        var (app, upstream) = Create((_, _) =>
        {
            var answer = new HttpResponseMessage(HttpStatusCode.Created) { Content = new StringContent("v=0\r\nanswer\r\n", Encoding.UTF8, "application/sdp") };
            answer.Headers.Location = new Uri("/v1/realtime/calls/rtc_123", UriKind.Relative);
            return answer;
        });
        using var _ = app;

        var response = await app.CreateClient().PostAsync("/api/realtime/calls", new StringContent(Offer, Encoding.UTF8, "application/sdp"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("application/sdp", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("v=0\r\nanswer\r\n", await response.Content.ReadAsStringAsync());
        Assert.Equal("/api/realtime/calls/rtc_123", response.Headers.Location?.OriginalString);

        var (_, request, body) = upstream.Requests.Single();
        Assert.Equal("Bearer sk-test-endpoints", request.Headers.Authorization?.ToString());
        Assert.Equal("multipart/form-data", request.Content!.Headers.ContentType?.MediaType);
        Assert.Contains("name=sdp", body, StringComparison.Ordinal);
        Assert.Contains("name=session", body, StringComparison.Ordinal);
        Assert.Contains(Offer, body, StringComparison.Ordinal);

        var hangup = await app.CreateClient().DeleteAsync("/api/realtime/calls/rtc_123");
        Assert.Equal(HttpStatusCode.NoContent, hangup.StatusCode);
        Assert.EndsWith("/v1/realtime/calls/rtc_123/hangup", upstream.Requests.Last().Request.RequestUri!.AbsolutePath, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_sdp_gets_400_413_or_415_without_going_upstream()
    {
        var (app, upstream) = Create((_, _) => throw new InvalidOperationException("must not be called"));
        using var _ = app;
        var client = app.CreateClient();

        await AssertError(await client.PostAsync("/api/realtime/calls", new StringContent(Offer, Encoding.UTF8, "text/plain")), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        await AssertError(await client.PostAsync("/api/realtime/calls", new StringContent("hello", Encoding.UTF8, "application/sdp")), HttpStatusCode.BadRequest, "invalid_sdp");
        await AssertError(await client.PostAsync("/api/realtime/calls", new StringContent("", Encoding.UTF8, "application/sdp")), HttpStatusCode.BadRequest, "invalid_sdp");
        var huge = Offer + new string('a', 70 * 1024);
        await AssertError(await client.PostAsync("/api/realtime/calls", new StringContent(huge, Encoding.UTF8, "application/sdp")), HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        await AssertError(await client.DeleteAsync("/api/realtime/calls/..%2Fetc"), HttpStatusCode.BadRequest, "invalid_call_id");
        Assert.Equal(0, upstream.Count);
    }

    [Fact]
    public async Task Upstream_trouble_becomes_honest_429_503_502_answers()
    {
        var script = new Queue<Func<HttpResponseMessage>>([
            () => FakeUpstreamHandler.RateLimited(retryAfter: "3600", requestId: "req_rl"),
        ]);
        var (app, _) = Create((_, _) => script.Count > 0 ? script.Dequeue()() : FakeUpstreamHandler.Json(HttpStatusCode.Unauthorized,
            """{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}""", "req_401"));
        using var _ = app;
        var client = app.CreateClient();

        var limited = await client.PostAsync("/api/realtime/client-secret", null);
        var body = await AssertError(limited, HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
        Assert.Equal("3600", limited.Headers.RetryAfter?.ToString());
        Assert.Equal(3600, body.GetProperty("retry_after_seconds").GetInt32());
        Assert.Equal("req_rl", body.GetProperty("upstream_request_id").GetString());

        // Still cooling down: answered locally, with the time left.
        var cooling = await client.PostAsync("/api/realtime/client-secret", null);
        await AssertError(cooling, HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.NotNull(cooling.Headers.RetryAfter);
    }

    [Fact]
    public async Task A_refused_key_upstream_is_a_502_with_the_upstream_request_id()
    {
        var (app, _) = Create((_, _) => FakeUpstreamHandler.Json(HttpStatusCode.Unauthorized,
            """{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}""", "req_401"));
        using var _ = app;

        var body = await AssertError(await app.CreateClient().PostAsync("/api/realtime/client-secret", null), HttpStatusCode.BadGateway, "upstream_rejected");
        Assert.Equal("req_401", body.GetProperty("upstream_request_id").GetString());
    }

    [Fact]
    public async Task Insufficient_quota_is_a_503_that_says_quota()
    {
        var (app, upstream) = Create((_, _) => FakeUpstreamHandler.InsufficientQuota());
        using var _ = app;
        var client = app.CreateClient();

        for (var i = 0; i < 5; i++)
        {
            var body = await AssertError(await client.PostAsync("/api/realtime/client-secret", null), HttpStatusCode.ServiceUnavailable, "insufficient_quota");
            Assert.Contains("quota", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(1, upstream.Count);
    }

    [Fact]
    public async Task One_client_cannot_drain_the_budget_past_the_door_limit()
    {
        var (app, upstream) = Create((_, _) => FakeUpstreamHandler.Secret(TimeProvider.System), ("Realtime:DoorPermitsPerMinute", "3"));
        using var _ = app;
        var client = app.CreateClient();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            statuses.Add((await client.PostAsync("/api/realtime/client-secret", null)).StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        Assert.Equal(3, upstream.Count);
        await AssertError(await client.PostAsync("/api/realtime/client-secret", null), HttpStatusCode.TooManyRequests, "client_rate_limited");
    }

    internal static async Task<JsonElement> AssertError(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {status}, got {response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(text);
        var error = document.RootElement.GetProperty("error").Clone();
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        return error;
    }
}
