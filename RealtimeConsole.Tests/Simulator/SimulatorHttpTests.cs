using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using RealtimeConsole.Simulator;
using RealtimeConsole.Simulator.Media;

namespace RealtimeConsole.Tests.Simulator;

public sealed class SimulatorHttpTests
{
    [Fact]
    public async Task Mint_answers_value_expires_at_and_session_with_rate_limit_headers()
    {
        await using var app = new SimulatorTestApp();
        var response = await app.MintAsync("""{"expires_after":{"anchor":"created_at","seconds":120},"session":{"type":"realtime","instructions":"Be brief.","audio":{"output":{"voice":"marin"}}}}""");

        Assert.Equal(200, (int)response.StatusCode);
        var body = await SimulatorTestApp.ReadJsonAsync(response);
        Assert.Equal(["value", "expires_at", "session"], body.Select(p => p.Key));
        Assert.Matches("^ek_[A-Za-z0-9]{32}$", body["value"]!.GetValue<string>());
        Assert.Equal(app.Time.GetUtcNow().AddSeconds(120).ToUnixTimeSeconds(), body["expires_at"]!.GetValue<long>());
        var session = body["session"]!.AsObject();
        Assert.Equal("realtime", session["type"]!.GetValue<string>());
        Assert.Equal("gpt-realtime", session["model"]!.GetValue<string>());
        Assert.Equal("Be brief.", session["instructions"]!.GetValue<string>());
        Assert.Equal("marin", session["audio"]!["output"]!["voice"]!.GetValue<string>());
        Assert.Equal("server_vad", session["audio"]!["input"]!["turn_detection"]!["type"]!.GetValue<string>());

        Assert.Equal("60", SimulatorTestApp.Header(response, "x-ratelimit-limit-requests"));
        Assert.Equal("59", SimulatorTestApp.Header(response, "x-ratelimit-remaining-requests"));
        Assert.Equal("1s", SimulatorTestApp.Header(response, "x-ratelimit-reset-requests"));
        Assert.Matches("^req_[0-9a-f]{32}$", SimulatorTestApp.Header(response, "x-request-id"));
    }

    [Theory]
    [InlineData(9, "integer_below_min_value")]
    [InlineData(7201, "integer_above_max_value")]
    public async Task Expiry_outside_10_to_7200_seconds_is_a_400_naming_the_field(int seconds, string code)
    {
        await using var app = new SimulatorTestApp();
        var response = await app.MintAsync($$$"""{"expires_after":{"anchor":"created_at","seconds":{{{seconds}}}},"session":{"type":"realtime"}}""");

        var error = await SimulatorTestApp.ReadErrorAsync(response, 400, code);
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal("expires_after.seconds", error["param"]!.GetValue<string>());
        Assert.Contains(seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("Invalid 'expires_after.seconds'", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"expires_after":{"anchor":"now","seconds":60}}""", "expires_after.anchor", "invalid_value")]
    [InlineData("""{"expires_after":{"seconds":"60"}}""", "expires_after.seconds", "invalid_type")]
    [InlineData("""{"model":"gpt-realtime"}""", "model", "unknown_parameter")]
    [InlineData("""{"session":{"model":"gpt-realtime"}}""", "session.type", "missing_required_parameter")]
    [InlineData("""{"session":{"type":"realtime","output_modalities":["video"]}}""", "session.output_modalities[0]", "invalid_value")]
    public async Task Bad_mint_bodies_get_OpenAI_validation_errors(string body, string param, string code)
    {
        await using var app = new SimulatorTestApp();
        var error = await SimulatorTestApp.ReadErrorAsync(await app.MintAsync(body), 400, code);
        Assert.Equal(param, error["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task Invalid_json_is_an_OpenAI_shaped_400()
    {
        await using var app = new SimulatorTestApp();
        var error = await SimulatorTestApp.ReadErrorAsync(await app.MintAsync("{\"session\": "), 400, null);
        Assert.Contains("could not parse the JSON body", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_wrong_and_ephemeral_keys_on_client_secrets_are_401s()
    {
        await using var app = new SimulatorTestApp();
        var missing = await SimulatorTestApp.ReadErrorAsync(await app.MintAsync(key: null), 401, null);
        Assert.Contains("didn't provide an API key", missing["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var wrong = await SimulatorTestApp.ReadErrorAsync(await app.MintAsync(key: "sk-not-the-simulators-key"), 401, "invalid_api_key");
        Assert.Equal("invalid_request_error", wrong["type"]!.GetValue<string>());
        Assert.DoesNotContain("sk-not-the-simulators-key", wrong["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var ek = await app.MintKeyAsync();
        await SimulatorTestApp.ReadErrorAsync(await app.MintAsync(key: ek), 401, "invalid_api_key");
    }

    [Fact]
    public async Task Calls_without_a_media_peer_answer_an_honest_503_never_an_sdp()
    {
        await using var app = new SimulatorTestApp(peer: new UnavailableMediaPeer());
        var ek = await app.MintKeyAsync();
        var response = await app.PostSdpAsync("/simulator/v1/realtime/calls", SimulatorTestApp.Offer, ek);

        var error = await SimulatorTestApp.ReadErrorAsync(response, 503, "media_peer_unavailable");
        Assert.Contains("media peer is not available", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("60", SimulatorTestApp.Header(response, "x-ratelimit-limit-requests"));
    }

    [Fact]
    public async Task Calls_beyond_the_peers_capacity_answer_503_saying_so_never_a_bare_500()
    {
        await using var app = new SimulatorTestApp(peer: new FullMediaPeer());
        var ek = await app.MintKeyAsync();
        var response = await app.PostSdpAsync("/simulator/v1/realtime/calls", SimulatorTestApp.Offer, ek);

        var error = await SimulatorTestApp.ReadErrorAsync(response, 503, "media_peer_at_capacity");
        Assert.Contains("MaxConcurrentCalls", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Calls_with_an_ephemeral_key_pass_the_keys_session_to_the_peer_and_answer_201_sdp()
    {
        var peer = new RecordingMediaPeer();
        await using var app = new SimulatorTestApp(peer: peer);
        var ek = await app.MintKeyAsync();

        var response = await app.PostSdpAsync("/simulator/v1/realtime/calls", SimulatorTestApp.Offer, ek);

        Assert.Equal(201, (int)response.StatusCode);
        Assert.Equal("application/sdp", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("/simulator/v1/realtime/calls/" + RecordingMediaPeer.CallId, response.Headers.Location?.OriginalString);
        Assert.Equal(RecordingMediaPeer.Answer, await response.Content.ReadAsStringAsync());
        Assert.Equal(SimulatorTestApp.Offer, peer.LastOffer);
        Assert.Equal("Be brief.", peer.LastSession!["instructions"]!.GetValue<string>());
        Assert.Equal("marin", peer.LastSession["audio"]!["output"]!["voice"]!.GetValue<string>());
        Assert.Equal("59", SimulatorTestApp.Header(response, "x-ratelimit-remaining-requests"));

        var hangup = await app.SendAsync(HttpMethod.Post, $"/simulator/v1/realtime/calls/{RecordingMediaPeer.CallId}/hangup", null);
        Assert.Equal(200, (int)hangup.StatusCode);
        var unknown = await app.SendAsync(HttpMethod.Post, "/simulator/v1/realtime/calls/rtc_nope/hangup", null);
        await SimulatorTestApp.ReadErrorAsync(unknown, 404, "call_not_found");
    }

    [Fact]
    public async Task Calls_with_the_standard_key_take_multipart_sdp_and_session()
    {
        var peer = new RecordingMediaPeer();
        await using var app = new SimulatorTestApp(peer: peer);
        using var form = new MultipartFormDataContent
        {
            { new StringContent(SimulatorTestApp.Offer, Encoding.UTF8, "application/sdp"), "sdp" },
            { new StringContent("""{"type":"realtime","model":"gpt-realtime-mini","instructions":"Server side."}""", Encoding.UTF8, "application/json"), "session" },
        };

        var response = await app.SendAsync(HttpMethod.Post, "/simulator/v1/realtime/calls", form);

        Assert.Equal(201, (int)response.StatusCode);
        Assert.Equal(SimulatorTestApp.Offer, peer.LastOffer);
        Assert.Equal("gpt-realtime-mini", peer.LastSession!["model"]!.GetValue<string>());
        Assert.Equal("Server side.", peer.LastSession["instructions"]!.GetValue<string>());
        Assert.Equal("server_vad", peer.LastSession["audio"]!["input"]!["turn_detection"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Calls_reject_bad_content_type_size_sdp_model_query_and_expired_keys()
    {
        await using var app = new SimulatorTestApp(peer: new RecordingMediaPeer());
        var ek = await app.MintKeyAsync("""{"expires_after":{"anchor":"created_at","seconds":10},"session":{"type":"realtime"}}""");

        var text = await app.SendAsync(HttpMethod.Post, "/simulator/v1/realtime/calls", new StringContent(SimulatorTestApp.Offer), ek);
        var unsupported = await SimulatorTestApp.ReadErrorAsync(text, 415, "unsupported_content_type");
        Assert.Contains("application/sdp", unsupported["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var huge = SimulatorTestApp.Offer + "a=x-padding:" + new string('x', 70_000) + "\r\n";
        var tooLarge = await SimulatorTestApp.ReadErrorAsync(await app.PostSdpAsync("/simulator/v1/realtime/calls", huge, ek), 413, "request_too_large");
        Assert.Contains("65536 bytes (64 KiB)", tooLarge["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var malformed = await SimulatorTestApp.ReadErrorAsync(await app.PostSdpAsync("/simulator/v1/realtime/calls", "hello", ek), 400, "invalid_offer");
        Assert.Contains("v=0", malformed["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var noFingerprint = SimulatorTestApp.Offer.Replace("a=fingerprint:", "a=finger:", StringComparison.Ordinal);
        var fingerprint = await SimulatorTestApp.ReadErrorAsync(await app.PostSdpAsync("/simulator/v1/realtime/calls", noFingerprint, ek), 400, "invalid_offer");
        Assert.Contains("fingerprint", fingerprint["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var withModel = await SimulatorTestApp.ReadErrorAsync(await app.PostSdpAsync("/simulator/v1/realtime/calls?model=gpt-realtime", SimulatorTestApp.Offer, ek), 400, "unknown_parameter");
        Assert.Equal("model", withModel["param"]!.GetValue<string>());

        app.Time.Advance(TimeSpan.FromSeconds(10));
        var expired = await SimulatorTestApp.ReadErrorAsync(await app.PostSdpAsync("/simulator/v1/realtime/calls", SimulatorTestApp.Offer, ek), 401, "invalid_api_key");
        Assert.Contains("expired", expired["message"]!.GetValue<string>(), StringComparison.Ordinal);
        await SimulatorTestApp.ReadErrorAsync(await app.PostSdpAsync("/simulator/v1/realtime/calls", SimulatorTestApp.Offer, "ek_unknown"), 401, "invalid_api_key");
    }

    [Fact]
    public async Task The_429_carries_exact_retry_after_headers_and_the_rate_limit_exceeded_body()
    {
        await using var app = new SimulatorTestApp(f => f.WithSetting("Simulator:RequestsPerMinute:ClientSecrets", "6"));
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(200, (int)(await app.MintAsync()).StatusCode);
        }

        app.Time.Advance(TimeSpan.FromMilliseconds(2500));
        var response = await app.MintAsync();

        var error = await SimulatorTestApp.ReadErrorAsync(response, 429, "rate_limit_exceeded");
        Assert.Equal(
            "Rate limit reached for gpt-realtime in organization org-sim on requests per min (RPM): Limit 6, Used 6, Requested 1. Please try again in 7.5s.",
            error["message"]!.GetValue<string>());
        Assert.Equal("requests", error["type"]!.GetValue<string>());
        Assert.Null(error["param"]);
        Assert.Equal("7500", SimulatorTestApp.Header(response, "retry-after-ms"));
        Assert.Equal("8", SimulatorTestApp.Header(response, "retry-after"));
        Assert.Equal("6", SimulatorTestApp.Header(response, "x-ratelimit-limit-requests"));
        Assert.Equal("0", SimulatorTestApp.Header(response, "x-ratelimit-remaining-requests"));
        Assert.Equal("57.5s", SimulatorTestApp.Header(response, "x-ratelimit-reset-requests"));

        app.Time.Advance(TimeSpan.FromMilliseconds(7499));
        Assert.Equal(429, (int)(await app.MintAsync()).StatusCode);
        app.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(200, (int)(await app.MintAsync()).StatusCode);
    }

    [Fact]
    public async Task Hundred_concurrent_mints_against_30_rpm_admit_exactly_30()
    {
        await using var app = new SimulatorTestApp();
        var limit = await app.SendAsync(HttpMethod.Put, "/simulator/admin/limits/client_secrets", SimulatorTestApp.Json("""{"requestsPerMinute":30}"""), key: null);
        Assert.Equal(200, (int)limit.StatusCode);

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => app.MintAsync()));

        Assert.Equal(30, responses.Count(r => (int)r.StatusCode == 200));
        Assert.Equal(70, responses.Count(r => (int)r.StatusCode == 429));
        var remaining = responses.Where(r => (int)r.StatusCode == 200).Select(r => int.Parse(SimulatorTestApp.Header(r, "x-ratelimit-remaining-requests")!, System.Globalization.CultureInfo.InvariantCulture)).Order();
        Assert.Equal(Enumerable.Range(0, 30), remaining);

        var stats = await SimulatorTestApp.ReadJsonAsync(await app.Client.GetAsync("/simulator/admin/stats"));
        Assert.Equal("""{"total":100,"byStatus":{"200":30,"429":70}}""", SimulatorTestApp.Canonical(stats["endpoints"]!["client_secrets"]!));
    }

    [Fact]
    public async Task Failed_requests_count_against_the_budget_unless_the_setting_says_otherwise()
    {
        await using (var counted = new SimulatorTestApp())
        {
            var bad = await counted.MintAsync("""{"nope":1}""");
            Assert.Equal("59", SimulatorTestApp.Header(bad, "x-ratelimit-remaining-requests"));
        }

        await using var uncounted = new SimulatorTestApp(f => f.WithSetting("Simulator:CountFailedRequests", "false"));
        var refunded = await uncounted.MintAsync("""{"nope":1}""");
        Assert.Equal(400, (int)refunded.StatusCode);
        Assert.Equal("60", SimulatorTestApp.Header(refunded, "x-ratelimit-remaining-requests"));
    }

    [Fact]
    public async Task Legacy_beta_shapes_are_off_by_default_like_OpenAI_now()
    {
        await using var app = new SimulatorTestApp(peer: new RecordingMediaPeer());
        var sessions = await app.SendAsync(HttpMethod.Post, "/simulator/v1/realtime/sessions", SimulatorTestApp.Json("""{"model":"gpt-4o-mini-realtime-preview","voice":"ash"}"""));
        var error = await SimulatorTestApp.ReadErrorAsync(sessions, 400, "beta_api_shape_disabled");
        Assert.Contains("/v1/realtime/client_secrets", error["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var ek = await app.MintKeyAsync();
        await SimulatorTestApp.ReadErrorAsync(await app.PostSdpAsync("/simulator/v1/realtime?model=gpt-4o-mini-realtime-preview", SimulatorTestApp.Offer, ek), 400, "beta_api_shape_disabled");
    }

    [Fact]
    public async Task Legacy_beta_shapes_reproduce_the_forum_posts_flow_when_switched_on()
    {
        var peer = new RecordingMediaPeer();
        await using var app = new SimulatorTestApp(f => f.WithSetting("Simulator:LegacyBetaShapes", "true"), peer);

        // The forum post: POST /v1/realtime/sessions {model, voice}, read data.client_secret.value, then POST /v1/realtime?model=...
        var sessions = await app.SendAsync(HttpMethod.Post, "/simulator/v1/realtime/sessions", SimulatorTestApp.Json("""{"model":"gpt-4o-mini-realtime-preview","voice":"ash"}"""));
        Assert.Equal(200, (int)sessions.StatusCode);
        var body = await SimulatorTestApp.ReadJsonAsync(sessions);
        Assert.Equal("gpt-4o-mini-realtime-preview", body["model"]!.GetValue<string>());
        Assert.Equal("ash", body["voice"]!.GetValue<string>());
        var token = body["client_secret"]!["value"]!.GetValue<string>();
        Assert.Equal(app.Time.GetUtcNow().AddMinutes(1).ToUnixTimeSeconds(), body["client_secret"]!["expires_at"]!.GetValue<long>());
        Assert.Equal("59", SimulatorTestApp.Header(sessions, "x-ratelimit-remaining-requests"));

        var call = await app.PostSdpAsync("/simulator/v1/realtime?model=gpt-4o-mini-realtime-preview&instructions=Be%20helpful&voice=ash", SimulatorTestApp.Offer, token);
        Assert.Equal(201, (int)call.StatusCode);
        Assert.Equal(RecordingMediaPeer.Answer, await call.Content.ReadAsStringAsync());
        Assert.Equal("Be helpful", peer.LastSession!["instructions"]!.GetValue<string>());

        app.Time.Advance(TimeSpan.FromMinutes(1));
        await SimulatorTestApp.ReadErrorAsync(await app.PostSdpAsync("/simulator/v1/realtime?model=gpt-4o-mini-realtime-preview", SimulatorTestApp.Offer, token), 401, "invalid_api_key");
    }

    [Theory]
    [InlineData("GET", "/simulator/v1/realtime/client_secrets")]
    [InlineData("POST", "/simulator/v1/models/nope")]
    [InlineData("DELETE", "/simulator/admin/nothing-here")]
    public async Task Unknown_paths_and_methods_are_OpenAI_shaped_404s(string method, string path)
    {
        await using var app = new SimulatorTestApp();
        var response = await app.SendAsync(new HttpMethod(method), path, null);
        Assert.Equal(404, (int)response.StatusCode);
        var body = await SimulatorTestApp.ReadJsonAsync(response);
        Assert.StartsWith("Invalid URL (" + method, body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_api_key_never_appears_in_any_answer()
    {
        await using var app = new SimulatorTestApp();
        var answers = new[]
        {
            await app.MintAsync(),
            await app.MintAsync("{"),
            await app.PostSdpAsync("/simulator/v1/realtime/calls", SimulatorTestApp.Offer, SimulatorTestApp.ApiKey),
            await app.Client.GetAsync("/simulator/admin/stats"),
        };
        foreach (var answer in answers)
        {
            Assert.DoesNotContain(SimulatorTestApp.ApiKey, await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }
}
