using System.Text.Json.Nodes;

namespace RealtimeConsole.Tests.Simulator.Conformance;

/// <summary>
/// <c>POST /v1/realtime/client_secrets</c> and <c>/v1/realtime/translations/client_secrets</c> against openapi.yaml
/// (openai/openai-openapi f85dbe2): each case names the schema whose constraint it checks.
/// </summary>
public sealed class ClientSecretsConformanceTests
{
    /// <summary>Invalid session fields: the issue's seventeen accepted-with-200 values first, then more of the spec's constraints.</summary>
    public static TheoryData<string, string, string, string> InvalidSessions => new()
    {
        { "RealtimeSessionCreateRequestGA.audio.output.speed maximum 1.5", """{"audio":{"output":{"speed":3.0}}}""", "session.audio.output.speed", "decimal_above_max_value" },
        { "RealtimeSessionCreateRequestGA.audio.output.speed minimum 0.25", """{"audio":{"output":{"speed":0.1}}}""", "session.audio.output.speed", "decimal_below_min_value" },
        { "RealtimeAudioFormats PCM rate enum [24000]", """{"audio":{"input":{"format":{"type":"audio/pcm","rate":16000}}}}""", "session.audio.input.format.rate", "invalid_value" },
        { "RealtimeAudioFormats type enum", """{"audio":{"output":{"format":{"type":"audio/opus"}}}}""", "session.audio.output.format.type", "invalid_value" },
        { "RealtimeTurnDetection type server_vad|semantic_vad", """{"audio":{"input":{"turn_detection":{"type":"bogus_vad"}}}}""", "session.audio.input.turn_detection.type", "invalid_value" },
        { "RealtimeTurnDetection.idle_timeout_ms minimum 5000", """{"audio":{"input":{"turn_detection":{"type":"server_vad","idle_timeout_ms":1000}}}}""", "session.audio.input.turn_detection.idle_timeout_ms", "integer_below_min_value" },
        { "RealtimeTurnDetection.idle_timeout_ms maximum 30000", """{"audio":{"input":{"turn_detection":{"type":"server_vad","idle_timeout_ms":30001}}}}""", "session.audio.input.turn_detection.idle_timeout_ms", "integer_above_max_value" },
        { "NoiseReductionType enum near_field|far_field", """{"audio":{"input":{"noise_reduction":{"type":"mid_field"}}}}""", "session.audio.input.noise_reduction.type", "invalid_value" },
        { "ToolChoiceOptions enum none|auto|required", """{"tool_choice":"sometimes"}""", "session.tool_choice", "invalid_value" },
        { "max_output_tokens integer or 'inf'", """{"max_output_tokens":"lots"}""", "session.max_output_tokens", "invalid_value" },
        { "max_output_tokens at most 4096", """{"max_output_tokens":5000}""", "session.max_output_tokens", "integer_above_max_value" },
        { "max_output_tokens at least 1", """{"max_output_tokens":0}""", "session.max_output_tokens", "integer_below_min_value" },
        { "RealtimeTruncation.retention_ratio maximum 1", """{"truncation":{"type":"retention_ratio","retention_ratio":2}}""", "session.truncation.retention_ratio", "decimal_above_max_value" },
        { "include items enum", """{"include":["bogus"]}""", "session.include[0]", "invalid_value" },
        { "tracing null|'auto'|object", """{"tracing":5}""", "session.tracing", "invalid_type" },
        { "tools items RealtimeFunctionTool|MCPTool", """{"tools":[{"type":"bogus"}]}""", "session.tools[0].type", "invalid_value" },
        { "output_modalities: not both text and audio", """{"output_modalities":["text","audio"]}""", "session.output_modalities", "invalid_value" },
        { "output_modalities items enum", """{"output_modalities":["video"]}""", "session.output_modalities[0]", "invalid_value" },
        { "Semantic VAD has no threshold", """{"audio":{"input":{"turn_detection":{"type":"semantic_vad","threshold":0.5}}}}""", "session.audio.input.turn_detection.threshold", "unknown_parameter" },
        { "Semantic VAD eagerness enum", """{"audio":{"input":{"turn_detection":{"type":"semantic_vad","eagerness":"eager"}}}}""", "session.audio.input.turn_detection.eagerness", "invalid_value" },
        { "Server VAD threshold 0..1", """{"audio":{"input":{"turn_detection":{"type":"server_vad","threshold":1.5}}}}""", "session.audio.input.turn_detection.threshold", "decimal_above_max_value" },
        { "Server VAD create_response boolean", """{"audio":{"input":{"turn_detection":{"type":"server_vad","create_response":"yes"}}}}""", "session.audio.input.turn_detection.create_response", "invalid_type" },
        { "VoiceIdsOrCustomVoice string or {id}", """{"audio":{"output":{"voice":5}}}""", "session.audio.output.voice", "invalid_type" },
        { "VoiceIdsOrCustomVoice object additionalProperties false", """{"audio":{"output":{"voice":{"id":"voice_1","name":"x"}}}}""", "session.audio.output.voice.name", "unknown_parameter" },
        { "ToolChoiceFunction requires name", """{"tool_choice":{"type":"function"}}""", "session.tool_choice.name", "missing_required_parameter" },
        { "MCPTool requires server_label", """{"tools":[{"type":"mcp","server_url":"https://example.com/mcp"}]}""", "session.tools[0].server_label", "missing_required_parameter" },
        { "Prompt requires id", """{"prompt":{"version":"1"}}""", "session.prompt.id", "missing_required_parameter" },
        { "RealtimeReasoningEffort enum", """{"reasoning":{"effort":"max"}}""", "session.reasoning.effort", "invalid_value" },
        { "parallel_tool_calls boolean", """{"parallel_tool_calls":"yes"}""", "session.parallel_tool_calls", "invalid_type" },
        { "instructions string", """{"instructions":5}""", "session.instructions", "invalid_type" },
        { "GA sessions have no temperature", """{"temperature":0.8}""", "session.temperature", "unknown_parameter" },
        { "AudioTranscription.delay enum", """{"audio":{"input":{"transcription":{"model":"gpt-realtime-whisper","delay":"slow"}}}}""", "session.audio.input.transcription.delay", "invalid_value" },
        { "Only audio/pcm takes a rate", """{"audio":{"input":{"format":{"type":"audio/pcmu","rate":8000}}}}""", "session.audio.input.format.rate", "unknown_parameter" },
        { "tracing object fields are strings", """{"tracing":{"workflow_name":5}}""", "session.tracing.workflow_name", "invalid_type" },
        { "RealtimeTruncation string enum", """{"truncation":"sometimes"}""", "session.truncation", "invalid_value" },
    };

    [Theory]
    [MemberData(nameof(InvalidSessions))]
    public async Task RealtimeSessionCreateRequestGA_constraint_is_a_400_naming_the_param(string constraint, string sessionFields, string param, string code)
    {
        await using var app = new SimulatorTestApp();
        var session = JsonNode.Parse(sessionFields)!.AsObject();
        session.Insert(0, "type", "realtime");

        var response = await app.MintAsync(new JsonObject { ["session"] = session }.ToJsonString());

        var error = await SimulatorTestApp.ReadErrorAsync(response, 400, code);
        Assert.True(param == error["param"]?.GetValue<string>(), $"{constraint}: param was {error["param"]}");
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"type":"transcription","audio":{"output":{"voice":"marin"}}}""", "session.audio.output", "unknown_parameter")]
    [InlineData("""{"type":"transcription","model":"gpt-realtime"}""", "session.model", "unknown_parameter")]
    [InlineData("""{"type":"transcription","audio":{"input":{"transcription":{"model":5}}}}""", "session.audio.input.transcription.model", "invalid_type")]
    [InlineData("""{"type":"transcription","include":["bogus"]}""", "session.include[0]", "invalid_value")]
    public async Task RealtimeTranscriptionSessionCreateRequestGA_constraints_are_400s(string session, string param, string code)
    {
        await using var app = new SimulatorTestApp();
        var error = await SimulatorTestApp.ReadErrorAsync(await app.MintAsync($$"""{"session":{{session}}}"""), 400, code);
        Assert.Equal(param, error["param"]?.GetValue<string>());
    }

    [Fact]
    public async Task RealtimeSessionCreateRequestGA_model_is_honoured()
    {
        await using var app = new SimulatorTestApp();
        var body = await SimulatorTestApp.ReadJsonAsync(await app.MintAsync("""{"session":{"type":"realtime","model":"gpt-realtime-mini"}}"""));
        Assert.Equal("gpt-realtime-mini", body["session"]!["model"]!.GetValue<string>());

        var defaulted = await SimulatorTestApp.ReadJsonAsync(await app.MintAsync("""{"session":{"type":"realtime"}}"""));
        Assert.Equal("gpt-realtime", defaulted["session"]!["model"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"type":"realtime","model":"gpt-5-realtime-ultra"}""", "session.model", "gpt-5-realtime-ultra")]
    [InlineData("""{"type":"transcription","audio":{"input":{"transcription":{"model":"whisper-9"}}}}""", "session.audio.input.transcription.model", "whisper-9")]
    public async Task A_model_OpenAI_does_not_serve_is_a_404_model_not_found(string session, string param, string model)
    {
        await using var app = new SimulatorTestApp();
        var error = await SimulatorTestApp.ReadErrorAsync(await app.MintAsync($$"""{"session":{{session}}}"""), 404, "model_not_found");
        Assert.Equal(param, error["param"]?.GetValue<string>());
        Assert.Equal($"The model `{model}` does not exist or you do not have access to it.", error["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task RealtimeSessionCreateResponseGA_carries_every_field_of_the_specs_example()
    {
        await using var app = new SimulatorTestApp();
        var session = (await SimulatorTestApp.ReadJsonAsync(await app.MintAsync()))["session"]!.AsObject();

        // The keys of the spec's RealtimeCreateClientSecretResponse example session, in any order.
        string[] exampleKeys = ["type", "object", "id", "model", "output_modalities", "instructions", "tools", "tool_choice", "max_output_tokens",
            "tracing", "truncation", "prompt", "expires_at", "audio", "include"];
        Assert.Equal(exampleKeys.Order(), session.Select(p => p.Key).Order());
        Assert.Equal("realtime.session", session["object"]!.GetValue<string>());
        Assert.Matches("^sess_", session["id"]!.GetValue<string>());
        Assert.Equal(0, session["expires_at"]!.GetValue<long>());
        Assert.Null(session["include"]);
        var vad = session["audio"]!["input"]!["turn_detection"]!.AsObject();
        Assert.Equal(["type", "threshold", "prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms", "create_response", "interrupt_response"], vad.Select(p => p.Key));
        Assert.Null(vad["idle_timeout_ms"]);
        Assert.Equal("""{"type":"audio/pcm","rate":24000}""", SimulatorTestApp.Canonical(session["audio"]!["output"]!["format"]!));
    }

    [Fact]
    public async Task RealtimeTurnDetection_semantic_vad_answers_without_server_vads_fields()
    {
        await using var app = new SimulatorTestApp();
        var body = await SimulatorTestApp.ReadJsonAsync(await app.MintAsync("""{"session":{"type":"realtime","audio":{"input":{"turn_detection":{"type":"semantic_vad","eagerness":"low"}}}}}"""));

        Assert.Equal("""{"type":"semantic_vad","eagerness":"low","create_response":true,"interrupt_response":true}""",
            SimulatorTestApp.Canonical(body["session"]!["audio"]!["input"]!["turn_detection"]!));
    }

    [Fact]
    public async Task Requested_values_replace_whole_objects_where_the_spec_has_alternatives()
    {
        await using var app = new SimulatorTestApp();
        var body = await SimulatorTestApp.ReadJsonAsync(await app.MintAsync(
            """{"session":{"type":"realtime","audio":{"input":{"format":{"type":"audio/pcmu"},"turn_detection":null,"noise_reduction":{"type":"far_field"}},"output":{"voice":{"id":"voice_1234"},"speed":1.5}},"include":["item.input_audio_transcription.logprobs"],"truncation":{"type":"retention_ratio","retention_ratio":0.8}}}"""));
        var session = body["session"]!;

        // RealtimeAudioFormats: PCMU has no rate, so none is merged in from the PCM default.
        Assert.Equal("""{"type":"audio/pcmu"}""", SimulatorTestApp.Canonical(session["audio"]!["input"]!["format"]!));
        Assert.Null(session["audio"]!["input"]!["turn_detection"]);
        Assert.Equal("far_field", session["audio"]!["input"]!["noise_reduction"]!["type"]!.GetValue<string>());
        // VoiceIdsOrCustomVoice: a custom voice is an object with its id.
        Assert.Equal("""{"id":"voice_1234"}""", SimulatorTestApp.Canonical(session["audio"]!["output"]!["voice"]!));
        Assert.Equal(1.5, session["audio"]!["output"]!["speed"]!.GetValue<double>());
        Assert.Equal("""["item.input_audio_transcription.logprobs"]""", SimulatorTestApp.Canonical(session["include"]!));
        Assert.Equal(0.8, session["truncation"]!["retention_ratio"]!.GetValue<double>());
    }

    [Fact]
    public async Task RealtimeTranscriptionSessionCreateResponseGA_shape_for_a_transcription_session()
    {
        await using var app = new SimulatorTestApp();
        var body = await SimulatorTestApp.ReadJsonAsync(await app.MintAsync(
            """{"session":{"type":"transcription","audio":{"input":{"transcription":{"model":"whisper-1","language":"en"}}},"include":["item.input_audio_transcription.logprobs"]}}"""));
        var session = body["session"]!.AsObject();

        Assert.Equal("transcription", session["type"]!.GetValue<string>());
        Assert.Equal("realtime.transcription_session", session["object"]!.GetValue<string>());
        Assert.Matches("^sess_", session["id"]!.GetValue<string>());
        Assert.Null(session["model"]);
        Assert.Null(session["audio"]!["output"]);
        Assert.Equal("whisper-1", session["audio"]!["input"]!["transcription"]!["model"]!.GetValue<string>());
        Assert.Equal("en", session["audio"]!["input"]!["transcription"]!["language"]!.GetValue<string>());
        Assert.Equal("server_vad", session["audio"]!["input"]!["turn_detection"]!["type"]!.GetValue<string>());
        Assert.Equal("""["item.input_audio_transcription.logprobs"]""", SimulatorTestApp.Canonical(session["include"]!));
        Assert.Equal(["type", "object", "id", "expires_at", "include", "audio"], session.Select(p => p.Key));
    }

    [Fact]
    public async Task RealtimeTranslationClientSecretCreateResponse_for_the_specs_example_request()
    {
        await using var app = new SimulatorTestApp();
        var response = await app.SendAsync(HttpMethod.Post, "/simulator/v1/realtime/translations/client_secrets", SimulatorTestApp.Json(
            """{"expires_after":{"anchor":"created_at","seconds":600},"session":{"model":"gpt-realtime-translate","audio":{"input":{"transcription":{"model":"gpt-realtime-whisper"},"noise_reduction":null},"output":{"language":"es"}}}}"""));

        Assert.Equal(200, (int)response.StatusCode);
        var body = await SimulatorTestApp.ReadJsonAsync(response);
        Assert.Matches("^ek_", body["value"]!.GetValue<string>());
        var expiresAt = app.Time.GetUtcNow().AddSeconds(600).ToUnixTimeSeconds();
        Assert.Equal(expiresAt, body["expires_at"]!.GetValue<long>());
        var session = body["session"]!.AsObject();
        Assert.Equal(["type", "id", "expires_at", "model", "audio"], session.Select(p => p.Key));
        Assert.Equal("translation", session["type"]!.GetValue<string>());
        Assert.Equal(expiresAt, session["expires_at"]!.GetValue<long>());
        Assert.Equal("""{"input":{"transcription":{"model":"gpt-realtime-whisper"},"noise_reduction":null},"output":{"language":"es"}}""", SimulatorTestApp.Canonical(session["audio"]!));
        Assert.NotNull(SimulatorTestApp.Header(response, "x-ratelimit-remaining-requests"));
    }

    [Theory]
    [InlineData("""{}""", 400, "session", "missing_required_parameter")]
    [InlineData("""{"session":{}}""", 400, "session.model", "missing_required_parameter")]
    [InlineData("""{"session":{"model":"gpt-realtime-translate","audio":{"output":{"voice":"marin"}}}}""", 400, "session.audio.output.voice", "unknown_parameter")]
    [InlineData("""{"session":{"model":"gpt-realtime-translate","audio":{"input":{"noise_reduction":{}}}}}""", 400, "session.audio.input.noise_reduction.type", "missing_required_parameter")]
    [InlineData("""{"session":{"model":"gpt-realtime-translate"},"expires_after":{"seconds":5}}""", 400, "expires_after.seconds", "integer_below_min_value")]
    [InlineData("""{"session":{"model":"gpt-translate-ultra"}}""", 404, "session.model", "model_not_found")]
    public async Task RealtimeTranslationClientSecretCreateRequest_constraints(string body, int status, string param, string code)
    {
        await using var app = new SimulatorTestApp();
        var response = await app.SendAsync(HttpMethod.Post, "/simulator/v1/realtime/translations/client_secrets", SimulatorTestApp.Json(body));
        var error = await SimulatorTestApp.ReadErrorAsync(response, status, code);
        Assert.Equal(param, error["param"]?.GetValue<string>());
    }

    [Fact]
    public async Task Translation_client_secrets_need_the_standard_key()
    {
        await using var app = new SimulatorTestApp();
        var ek = await app.MintKeyAsync();
        var response = await app.SendAsync(HttpMethod.Post, "/simulator/v1/realtime/translations/client_secrets", SimulatorTestApp.Json("""{"session":{"model":"gpt-realtime-translate"}}"""), ek);
        await SimulatorTestApp.ReadErrorAsync(response, 401, "invalid_api_key");
    }
}
