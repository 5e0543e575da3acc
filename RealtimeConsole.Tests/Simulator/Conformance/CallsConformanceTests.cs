using System.Text;

namespace RealtimeConsole.Tests.Simulator.Conformance;

/// <summary>
/// <c>/v1/realtime/calls</c> and its <c>accept</c>, <c>reject</c>, <c>refer</c>, <c>hangup</c> against openapi.yaml: each
/// case names the operation or schema it checks.
/// </summary>
public sealed class CallsConformanceTests
{
    private const string CallPath = "/simulator/v1/realtime/calls/" + RecordingMediaPeer.CallId;

    [Fact]
    public async Task Create_call_Location_is_a_relative_url_that_leads_back_to_the_simulators_call()
    {
        await using var app = new SimulatorTestApp(peer: new RecordingMediaPeer());
        var ek = await app.MintKeyAsync();

        var response = await app.PostSdpAsync("/simulator/v1/realtime/calls", SimulatorTestApp.Offer, ek);

        Assert.Equal(201, (int)response.StatusCode);
        var location = response.Headers.Location!;
        Assert.False(location.IsAbsoluteUri);
        Assert.Equal(CallPath, location.OriginalString);
        // Resolved against the request, as a client does, it names this simulator's call, which hangup then finds.
        var hangup = await app.SendAsync(HttpMethod.Post, new Uri(app.Client.BaseAddress!, location).AbsolutePath + "/hangup", null);
        Assert.Equal(200, (int)hangup.StatusCode);
    }

    [Fact]
    public async Task RealtimeCallCreateRequest_takes_only_the_sdp_and_session_parts()
    {
        await using var app = new SimulatorTestApp(peer: new RecordingMediaPeer());
        using var form = new MultipartFormDataContent
        {
            { new StringContent(SimulatorTestApp.Offer, Encoding.UTF8, "application/sdp"), "sdp" },
            { new StringContent("gpt-realtime"), "model" },
        };

        var error = await SimulatorTestApp.ReadErrorAsync(await app.SendAsync(HttpMethod.Post, "/simulator/v1/realtime/calls", form), 400, "unknown_parameter");
        Assert.Equal("model", error["param"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"type":"realtime","audio":{"output":{"speed":3.0}}}""", 400, "session.audio.output.speed", "decimal_above_max_value")]
    [InlineData("""{"type":"realtime","model":"gpt-nonexistent"}""", 404, "session.model", "model_not_found")]
    public async Task RealtimeCallCreateRequest_session_part_is_checked_like_a_client_secrets_session(string session, int status, string param, string code)
    {
        await using var app = new SimulatorTestApp(peer: new RecordingMediaPeer());
        using var form = new MultipartFormDataContent
        {
            { new StringContent(SimulatorTestApp.Offer, Encoding.UTF8, "application/sdp"), "sdp" },
            { new StringContent(session, Encoding.UTF8, "application/json"), "session" },
        };

        var error = await SimulatorTestApp.ReadErrorAsync(await app.SendAsync(HttpMethod.Post, "/simulator/v1/realtime/calls", form), status, code);
        Assert.Equal(param, error["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_non_realtime_model_is_minted_but_refused_at_calls_as_users_report_live()
    {
        // Live behaviour, not the spec: hurttlocker/o8 #2165 (mint 200, then invalid_model "not supported in realtime mode").
        await using var app = new SimulatorTestApp(peer: new RecordingMediaPeer());
        var ek = await app.MintKeyAsync("""{"session":{"type":"realtime","model":"gpt-4o"}}""");

        var error = await SimulatorTestApp.ReadErrorAsync(await app.PostSdpAsync("/simulator/v1/realtime/calls", SimulatorTestApp.Offer, ek), 400, "invalid_model");
        Assert.Contains("not supported in realtime mode", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("accept", """{"type":"realtime","instructions":"You are Alex."}""")]
    [InlineData("reject", """{"status_code":486}""")]
    [InlineData("reject", "")]
    [InlineData("refer", """{"target_uri":"tel:+14155550123"}""")]
    public async Task Sip_call_control_on_a_WebRTC_call_is_the_wrong_kind_of_call(string action, string body)
    {
        await using var app = new SimulatorTestApp(peer: new RecordingMediaPeer());

        var response = await app.SendAsync(HttpMethod.Post, $"{CallPath}/{action}", SimulatorTestApp.Json(body));

        var error = await SimulatorTestApp.ReadErrorAsync(response, 400, "invalid_call_type");
        Assert.Equal("call_id", error["param"]!.GetValue<string>());
        Assert.Contains("SIP", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.NotNull(SimulatorTestApp.Header(response, "x-ratelimit-remaining-requests"));
    }

    [Theory]
    [InlineData("accept", """{"type":"realtime"}""")]
    [InlineData("reject", "{}")]
    [InlineData("refer", """{"target_uri":"sip:agent@example.com"}""")]
    public async Task Sip_call_control_on_an_unknown_call_is_a_404(string action, string body)
    {
        await using var app = new SimulatorTestApp(peer: new RecordingMediaPeer());
        var error = await SimulatorTestApp.ReadErrorAsync(await app.SendAsync(HttpMethod.Post, $"/simulator/v1/realtime/calls/rtc_nope/{action}", SimulatorTestApp.Json(body)), 404, "call_not_found");
        Assert.Equal("call_id", error["param"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("accept", "{}", "type", "missing_required_parameter")] // accept's body is RealtimeSessionCreateRequestGA (type required)
    [InlineData("accept", """{"type":"realtime","audio":{"output":{"speed":3}}}""", "audio.output.speed", "decimal_above_max_value")]
    [InlineData("reject", """{"status_code":"busy"}""", "status_code", "invalid_type")] // RealtimeCallRejectRequest.status_code integer
    [InlineData("reject", """{"status_code":486,"reason":"busy"}""", "reason", "unknown_parameter")] // additionalProperties: false
    [InlineData("refer", "{}", "target_uri", "missing_required_parameter")] // RealtimeCallReferRequest requires target_uri
    [InlineData("refer", """{"target_uri":"https://example.com"}""", "target_uri", "invalid_value")]
    public async Task Sip_call_control_bodies_are_checked_against_their_schemas(string action, string body, string param, string code)
    {
        await using var app = new SimulatorTestApp(peer: new RecordingMediaPeer());
        var error = await SimulatorTestApp.ReadErrorAsync(await app.SendAsync(HttpMethod.Post, $"{CallPath}/{action}", SimulatorTestApp.Json(body)), 400, code);
        Assert.Equal(param, error["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task Sip_call_control_needs_the_standard_key()
    {
        await using var app = new SimulatorTestApp(peer: new RecordingMediaPeer());
        var ek = await app.MintKeyAsync();
        await SimulatorTestApp.ReadErrorAsync(await app.SendAsync(HttpMethod.Post, $"{CallPath}/reject", SimulatorTestApp.Json("{}"), ek), 401, "invalid_api_key");
    }

    [Fact]
    public async Task A_key_opens_many_sessions_until_it_expires_by_default_as_the_spec_says()
    {
        await using var app = new SimulatorTestApp(peer: new RecordingMediaPeer());
        var ek = await app.MintKeyAsync();

        Assert.Equal(201, (int)(await app.PostSdpAsync("/simulator/v1/realtime/calls", SimulatorTestApp.Offer, ek)).StatusCode);
        Assert.Equal(201, (int)(await app.PostSdpAsync("/simulator/v1/realtime/calls", SimulatorTestApp.Offer, ek)).StatusCode);
    }

    [Fact]
    public async Task SecretReuse_SingleUse_refuses_a_second_session_with_401_as_users_report_live()
    {
        await using var app = new SimulatorTestApp(f => f.WithSetting("Simulator:SecretReuse", "SingleUse"), new RecordingMediaPeer());
        var ek = await app.MintKeyAsync();

        Assert.Equal(201, (int)(await app.PostSdpAsync("/simulator/v1/realtime/calls", SimulatorTestApp.Offer, ek)).StatusCode);
        var second = await SimulatorTestApp.ReadErrorAsync(await app.PostSdpAsync("/simulator/v1/realtime/calls", SimulatorTestApp.Offer, ek), 401, "invalid_api_key");
        Assert.Contains("already opened a session", second["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain(ek, second["message"]!.GetValue<string>(), StringComparison.Ordinal);

        // The same key still hangs up its call, and a fresh key opens a new session.
        Assert.Equal(200, (int)(await app.SendAsync(HttpMethod.Post, CallPath + "/hangup", null, ek)).StatusCode);
        Assert.Equal(201, (int)(await app.PostSdpAsync("/simulator/v1/realtime/calls", SimulatorTestApp.Offer, await app.MintKeyAsync())).StatusCode);
    }
}
