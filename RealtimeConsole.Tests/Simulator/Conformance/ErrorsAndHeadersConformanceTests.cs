using System.Text.Json.Nodes;

namespace RealtimeConsole.Tests.Simulator.Conformance;

/// <summary>
/// Error bodies and response headers on every simulator answer, as OpenAI sends them (the spec's error object, the
/// rate-limit guide's <c>x-ratelimit-*</c> headers for requests and tokens, <c>x-request-id</c>).
/// </summary>
public sealed class ErrorsAndHeadersConformanceTests
{
    public static TheoryData<string, string, string?, int> Answers => new()
    {
        { "POST", "/simulator/v1/realtime/client_secrets", """{"session":{"type":"realtime"}}""", 200 },
        { "POST", "/simulator/v1/realtime/client_secrets", """{"session":{"type":"realtime","max_output_tokens":"lots"}}""", 400 },
        { "POST", "/simulator/v1/realtime/client_secrets", """{"session":{"type":"realtime","model":"gpt-nope"}}""", 404 },
        { "POST", "/simulator/v1/realtime/translations/client_secrets", """{"session":{"model":"gpt-realtime-translate"}}""", 200 },
        { "POST", "/simulator/v1/realtime/calls/rtc_nope/reject", null, 404 },
        { "POST", "/simulator/v1/realtime/calls/rtc_nope/hangup", null, 404 },
    };

    [Theory]
    [MemberData(nameof(Answers))]
    public async Task Every_answer_carries_request_and_token_rate_limit_headers_and_a_request_id(string method, string path, string? body, int status)
    {
        await using var app = new SimulatorTestApp(peer: new RecordingMediaPeer());
        var response = await app.SendAsync(new HttpMethod(method), path, body is null ? null : SimulatorTestApp.Json(body));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Matches("^req_[0-9a-f]{32}$", SimulatorTestApp.Header(response, "x-request-id"));
        foreach (var kind in (string[])["requests", "tokens"])
        {
            Assert.Matches("^[0-9]+$", SimulatorTestApp.Header(response, "x-ratelimit-limit-" + kind));
            Assert.Matches("^[0-9]+$", SimulatorTestApp.Header(response, "x-ratelimit-remaining-" + kind));
            Assert.Matches(@"^([0-9]+(\.[0-9]+)?(h|m|s|ms))+$", SimulatorTestApp.Header(response, "x-ratelimit-reset-" + kind));
        }

        if (status >= 400)
        {
            // The error object: exactly message, type, param, code.
            var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.AsObject();
            Assert.Equal(["message", "type", "param", "code"], error.Select(p => p.Key));
            Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Token_headers_follow_the_organizations_tokens_per_minute_set_through_the_admin_api()
    {
        await using var app = new SimulatorTestApp();
        var before = await app.MintAsync();
        Assert.Equal("40000", SimulatorTestApp.Header(before, "x-ratelimit-limit-tokens"));

        var put = await app.SendAsync(HttpMethod.Put, "/simulator/admin/limits/tokens", SimulatorTestApp.Json("""{"tokensPerMinute":1500}"""), key: null);
        Assert.Equal(200, (int)put.StatusCode);
        Assert.Equal(1500, JsonNode.Parse(await put.Content.ReadAsStringAsync())!["limits"]!["tokens"]!["tokensPerMinute"]!.GetValue<int>());

        var after = await app.MintAsync();
        Assert.Equal("1500", SimulatorTestApp.Header(after, "x-ratelimit-limit-tokens"));
        Assert.Equal("1500", SimulatorTestApp.Header(after, "x-ratelimit-remaining-tokens"));
        Assert.Equal("0s", SimulatorTestApp.Header(after, "x-ratelimit-reset-tokens"));

        await SimulatorTestApp.ReadErrorAsync(await app.SendAsync(HttpMethod.Put, "/simulator/admin/limits/tokens", SimulatorTestApp.Json("""{"tokensPerMinute":0}"""), null), 400, "invalid_value");
        await SimulatorTestApp.ReadErrorAsync(await app.SendAsync(HttpMethod.Put, "/simulator/admin/limits/tokens", SimulatorTestApp.Json("""{"requestsPerMinute":5}"""), null), 400, "invalid_type");
    }

    [Fact]
    public async Task Validation_errors_name_the_param_in_the_message_as_OpenAI_words_them()
    {
        await using var app = new SimulatorTestApp();

        var bound = await SimulatorTestApp.ReadErrorAsync(await app.MintAsync("""{"session":{"type":"realtime","audio":{"output":{"speed":3.0}}}}"""), 400, "decimal_above_max_value");
        Assert.Equal("Invalid 'session.audio.output.speed': decimal above maximum value. Expected a value <= 1.5, but got 3.0 instead.", bound["message"]!.GetValue<string>());

        var choice = await SimulatorTestApp.ReadErrorAsync(await app.MintAsync("""{"session":{"type":"realtime","audio":{"input":{"noise_reduction":{"type":"mid_field"}}}}}"""), 400, "invalid_value");
        Assert.Equal("Invalid value: 'mid_field'. Supported values are: 'near_field' and 'far_field'.", choice["message"]!.GetValue<string>());

        var type = await SimulatorTestApp.ReadErrorAsync(await app.MintAsync("""{"session":{"type":"realtime","tracing":5}}"""), 400, "invalid_type");
        Assert.Equal("Invalid type for 'session.tracing': expected one of 'auto', an object or null, but got an integer instead.", type["message"]!.GetValue<string>());

        var unknown = await SimulatorTestApp.ReadErrorAsync(await app.MintAsync("""{"session":{"type":"realtime","voice":"marin"}}"""), 400, "unknown_parameter");
        Assert.Equal("Unknown parameter: 'session.voice'.", unknown["message"]!.GetValue<string>());
    }
}
