using System.Text.Json;

namespace RealtimeConsole.Simulator.Validation;

/// <summary>
/// OpenAI's published constraints on a session configuration (openapi.yaml: <c>RealtimeSessionCreateRequestGA</c>,
/// <c>RealtimeTranscriptionSessionCreateRequestGA</c>, <c>RealtimeTranslationSessionCreateRequest</c>) and on
/// <c>response.create</c>'s <c>RealtimeResponseCreateParams</c>: every field's type, enum and bounds, unknown fields
/// refused, the first failure answered as a 400 naming its <c>param</c>.
/// </summary>
public static class RealtimeSessionRules
{
    /// <summary>The spec's enum of Realtime models (<c>RealtimeSessionCreateRequestGA.model</c>).</summary>
    public static readonly string[] RealtimeModels =
    [
        "gpt-realtime", "gpt-realtime-1.5", "gpt-realtime-2", "gpt-realtime-2.1", "gpt-realtime-2.1-mini", "gpt-realtime-2025-08-28",
        "gpt-4o-realtime-preview", "gpt-4o-realtime-preview-2024-10-01", "gpt-4o-realtime-preview-2024-12-17", "gpt-4o-realtime-preview-2025-06-03",
        "gpt-4o-mini-realtime-preview", "gpt-4o-mini-realtime-preview-2024-12-17", "gpt-realtime-mini", "gpt-realtime-mini-2025-10-06",
        "gpt-realtime-mini-2025-12-15", "gpt-audio-1.5", "gpt-audio-mini", "gpt-audio-mini-2025-10-06", "gpt-audio-mini-2025-12-15",
    ];

    /// <summary>The spec's enum of transcription models (<c>AudioTranscription.model</c>).</summary>
    public static readonly string[] TranscriptionModels =
    [
        "whisper-1", "gpt-transcribe", "gpt-live-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-mini-transcribe-2025-12-15",
        "gpt-4o-transcribe", "gpt-4o-transcribe-diarize", "gpt-realtime-whisper",
    ];

    /// <summary>
    /// OpenAI models that exist but are not Realtime models. Live, a client secret is minted for them and the SDP exchange
    /// then fails with <c>invalid_model</c> "not supported in realtime mode" (third-party report, hurttlocker/o8 #2165,
    /// 2026-09-10), so the simulator refuses them at <c>/calls</c>, not at minting.
    /// </summary>
    public static readonly string[] NonRealtimeModels =
        ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-5", "gpt-5-mini", "gpt-5-nano", "o3", "o4-mini", "gpt-4o-audio-preview", "gpt-4o-mini-audio-preview"];

    /// <summary>OpenAI's answer at <c>/calls</c> to a session whose model is not a Realtime model (see <see cref="NonRealtimeModels"/>).</summary>
    public static OpenAiError? NotRealtimeModel(string? model) => model is not null && System.Array.IndexOf(NonRealtimeModels, model) >= 0
        ? OpenAiError.InvalidRequest($"Model \"{model}\" is not supported in realtime mode.", "model", "invalid_model")
        : null;

    /// <summary>The translation model the spec's examples name (the spec types it as a free string).</summary>
    public static readonly string[] TranslationModels = ["gpt-realtime-translate"];

    private static readonly string[] RealtimeFields =
    [
        "type", "model", "output_modalities", "instructions", "audio", "include", "tracing", "tools", "tool_choice",
        "parallel_tool_calls", "reasoning", "max_output_tokens", "truncation", "prompt",
    ];

    private static readonly string[] ResponseFields =
    [
        "output_modalities", "instructions", "audio", "tools", "tool_choice", "parallel_tool_calls", "reasoning",
        "max_output_tokens", "conversation", "metadata", "prompt", "input",
    ];

    private static readonly string[] Voices = ["alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"];

    /// <summary>
    /// A session for <c>/v1/realtime/client_secrets</c> or a call's <c>session</c> part: <c>type</c> picks the realtime
    /// or the transcription schema. <paramref name="update"/> is a <c>session.update</c>, where <c>type</c> may be left out.
    /// </summary>
    public static OpenAiError? Check(JsonElement session, string param, bool update = false)
    {
        var rules = new JsonRules();
        if (session.ValueKind != JsonValueKind.Object)
        {
            rules.WrongType(session, param, "an object");
            return rules.Error;
        }

        if (!session.TryGetProperty("type", out var type) || type.ValueKind == JsonValueKind.Null)
        {
            if (!update)
            {
                rules.Required(session, "type", param, out _);
                return rules.Error;
            }
        }
        else if (!rules.Enum(type, JsonRules.Child(param, "type"), "realtime", "transcription"))
        {
            return rules.Error;
        }

        if (type.ValueKind == JsonValueKind.String && type.ValueEquals("transcription"))
        {
            CheckTranscription(rules, session, param);
        }
        else
        {
            CheckRealtime(rules, session, param);
        }

        return rules.Error;
    }

    /// <summary>The model a valid session names, or null for the configured default.</summary>
    public static string? Model(JsonElement session) =>
        session.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String ? model.GetString() : null;

    /// <summary>
    /// OpenAI's answer to a model it does not serve. A nonexistent model is a 404 <c>model_not_found</c> on every
    /// OpenAI endpoint; the message is the one the Chat and Responses APIs give for the same mistake.
    /// </summary>
    public static OpenAiError UnknownModel(string model, string param) => OpenAiError.InvalidRequest(
        $"The model `{model}` does not exist or you do not have access to it.", param, "model_not_found", StatusCodes.Status404NotFound);

    /// <summary>The unknown model named by <paramref name="session"/> (realtime or transcription), or null.</summary>
    public static OpenAiError? ModelProblem(JsonElement session, string param)
    {
        if (Model(session) is { } model && System.Array.IndexOf(RealtimeModels, model) < 0 && System.Array.IndexOf(NonRealtimeModels, model) < 0)
        {
            return UnknownModel(model, JsonRules.Child(param, "model"));
        }

        if (session.TryGetProperty("audio", out var audio) && audio.ValueKind == JsonValueKind.Object
            && audio.TryGetProperty("input", out var input) && input.ValueKind == JsonValueKind.Object
            && input.TryGetProperty("transcription", out var transcription) && transcription.ValueKind == JsonValueKind.Object
            && transcription.TryGetProperty("model", out var transcriber) && transcriber.ValueKind == JsonValueKind.String
            && System.Array.IndexOf(TranscriptionModels, transcriber.GetString()) < 0)
        {
            return UnknownModel(transcriber.GetString()!, param + ".audio.input.transcription.model");
        }

        return null;
    }

    /// <summary><c>RealtimeTranslationClientSecretCreateRequest.session</c>: a model (required) and its audio.</summary>
    public static OpenAiError? CheckTranslation(JsonElement session, string param)
    {
        var rules = new JsonRules();
        if (rules.Object(session, param, "model", "audio") && rules.Required(session, "model", param, out var model) && rules.String(model, JsonRules.Child(param, "model")))
        {
            rules.Optional(session, "audio", param, (audio, p) =>
                rules.Object(audio, p, "input", "output")
                && rules.Optional(audio, "input", p, (input, ip) =>
                    rules.Object(input, ip, "transcription", "noise_reduction")
                    && rules.Nullable(input, "transcription", ip, (t, tp) =>
                        rules.Object(t, tp, "model") && rules.Required(t, "model", tp, out var m) && rules.String(m, JsonRules.Child(tp, "model")))
                    && rules.Nullable(input, "noise_reduction", ip, (n, np) => NoiseReduction(rules, n, np, required: true)))
                && rules.Optional(audio, "output", p, (output, op) =>
                    rules.Object(output, op, "language") && rules.Optional(output, "language", op, rules.String)));
            if (!rules.Failed && System.Array.IndexOf(TranslationModels, model.GetString()) < 0)
            {
                rules.Fail(UnknownModel(model.GetString()!, JsonRules.Child(param, "model")));
            }
        }

        return rules.Error;
    }

    /// <summary><c>response.create</c>'s <c>response</c> (<c>RealtimeResponseCreateParams</c>).</summary>
    public static OpenAiError? CheckResponse(JsonElement response, string param)
    {
        var rules = new JsonRules();
        _ = rules.Object(response, param, ResponseFields)
            && rules.Optional(response, "output_modalities", param, (v, p) => OutputModalities(rules, v, p))
            && rules.Optional(response, "instructions", param, rules.String)
            && rules.Optional(response, "audio", param, (audio, p) =>
                rules.Object(audio, p, "output") && rules.Optional(audio, "output", p, (output, op) =>
                    rules.Object(output, op, "format", "voice") && rules.Optional(output, "format", op, (f, fp) => Format(rules, f, fp))
                    && rules.Optional(output, "voice", op, (v, vp) => Voice(rules, v, vp))))
            && CommonModelFields(rules, response, param)
            && rules.Optional(response, "conversation", param, (v, p) => rules.Enum(v, p, "auto", "none"))
            && rules.Nullable(response, "metadata", param, (v, p) => Metadata(rules, v, p))
            && rules.Nullable(response, "prompt", param, (v, p) => Prompt(rules, v, p))
            && rules.Optional(response, "input", param, (v, p) => rules.Array(v, p, (item, ip) => rules.Object(item, ip, ConversationItemFields)));
        return rules.Error;
    }

    /// <summary>The fields a <c>RealtimeConversationItem</c> may carry (any of its variants).</summary>
    public static readonly string[] ConversationItemFields =
        ["id", "object", "type", "status", "role", "content", "call_id", "name", "arguments", "output", "server_label", "approval_request_id", "approve", "reason", "tools", "error"];

    private static void CheckRealtime(JsonRules rules, JsonElement session, string param)
    {
        _ = rules.Object(session, param, RealtimeFields)
            && rules.Optional(session, "model", param, rules.String)
            && rules.Optional(session, "output_modalities", param, (v, p) => OutputModalities(rules, v, p))
            && rules.Optional(session, "instructions", param, rules.String)
            && rules.Optional(session, "audio", param, (audio, p) =>
                rules.Object(audio, p, "input", "output")
                && rules.Optional(audio, "input", p, (input, ip) => AudioInput(rules, input, ip))
                && rules.Optional(audio, "output", p, (output, op) =>
                    rules.Object(output, op, "format", "voice", "speed")
                    && rules.Optional(output, "format", op, (f, fp) => Format(rules, f, fp))
                    && rules.Optional(output, "voice", op, (v, vp) => Voice(rules, v, vp))
                    && rules.Optional(output, "speed", op, (v, vp) => rules.Number(v, vp, 0.25, 1.5))))
            && rules.Nullable(session, "include", param, (v, p) => Include(rules, v, p))
            && rules.Nullable(session, "tracing", param, (v, p) => Tracing(rules, v, p))
            && CommonModelFields(rules, session, param)
            && rules.Optional(session, "truncation", param, (v, p) => Truncation(rules, v, p))
            && rules.Nullable(session, "prompt", param, (v, p) => Prompt(rules, v, p));
    }

    private static void CheckTranscription(JsonRules rules, JsonElement session, string param)
    {
        _ = rules.Object(session, param, "type", "audio", "include")
            && rules.Optional(session, "audio", param, (audio, p) =>
                rules.Object(audio, p, "input") && rules.Optional(audio, "input", p, (input, ip) => AudioInput(rules, input, ip)))
            && rules.Nullable(session, "include", param, (v, p) => Include(rules, v, p));
    }

    private static bool CommonModelFields(JsonRules rules, JsonElement parent, string param) =>
        rules.Optional(parent, "tools", param, (v, p) => rules.Array(v, p, (tool, tp) => Tool(rules, tool, tp)))
        && rules.Optional(parent, "tool_choice", param, (v, p) => ToolChoice(rules, v, p))
        && rules.Optional(parent, "parallel_tool_calls", param, rules.Boolean)
        && rules.Optional(parent, "reasoning", param, (v, p) =>
            rules.Object(v, p, "effort") && rules.Optional(v, "effort", p, (e, ep) => rules.Enum(e, ep, "minimal", "low", "medium", "high", "xhigh")))
        && rules.Optional(parent, "max_output_tokens", param, (v, p) => MaxOutputTokens(rules, v, p));

    private static bool OutputModalities(JsonRules rules, JsonElement value, string param)
    {
        if (!rules.Array(value, param, (item, p) => rules.Enum(item, p, "text", "audio")))
        {
            return false;
        }

        // The spec: "It is not possible to request both `text` and `audio` at the same time."
        return value.GetArrayLength() <= 1
            || rules.Fail($"Invalid value: {value.GetRawText()}. Supported values are: ['audio'] and ['text'] (audio always comes with its transcript, so both at once is not possible).", param, "invalid_value");
    }

    private static bool AudioInput(JsonRules rules, JsonElement input, string param) =>
        rules.Object(input, param, "format", "transcription", "noise_reduction", "turn_detection")
        && rules.Optional(input, "format", param, (f, p) => Format(rules, f, p))
        && rules.Nullable(input, "transcription", param, (t, p) => Transcription(rules, t, p))
        && rules.Nullable(input, "noise_reduction", param, (n, p) => NoiseReduction(rules, n, p, required: false))
        && rules.Nullable(input, "turn_detection", param, (t, p) => TurnDetection(rules, t, p));

    /// <summary><c>RealtimeAudioFormats</c>: PCM at 24 kHz, PCMU or PCMA.</summary>
    private static bool Format(JsonRules rules, JsonElement format, string param)
    {
        if (!rules.Object(format, param, "type", "rate"))
        {
            return false;
        }

        if (!format.TryGetProperty("type", out var type))
        {
            return rules.Required(format, "type", param, out _);
        }

        if (!rules.Enum(type, JsonRules.Child(param, "type"), "audio/pcm", "audio/pcmu", "audio/pcma"))
        {
            return false;
        }

        if (!format.TryGetProperty("rate", out var rate))
        {
            return true;
        }

        if (!type.ValueEquals("audio/pcm"))
        {
            return rules.Fail($"Unknown parameter: '{param}.rate'. Only 'audio/pcm' takes a rate.", param + ".rate", "unknown_parameter");
        }

        return rules.Integer(rate, param + ".rate")
            && (rate.GetInt64() == 24000 || rules.Fail($"Invalid value: {rate.GetRawText()}. Supported values are: 24000.", param + ".rate", "invalid_value"));
    }

    private static bool Transcription(JsonRules rules, JsonElement value, string param) =>
        rules.Object(value, param, "model", "language", "languages", "keywords", "prompt", "delay")
        && rules.Optional(value, "model", param, rules.String)
        && rules.Optional(value, "language", param, rules.String)
        && rules.Optional(value, "languages", param, (v, p) =>
            rules.Array(v, p, rules.String) && (v.GetArrayLength() >= 1 || rules.Fail($"Invalid '{p}': empty array. Expected an array with minimum length 1, but got an empty array instead.", p, "empty_array")))
        && rules.Optional(value, "keywords", param, (v, p) => rules.Array(v, p, rules.String))
        && rules.Optional(value, "prompt", param, rules.String)
        && rules.Optional(value, "delay", param, (v, p) => rules.Enum(v, p, "minimal", "low", "medium", "high", "xhigh"));

    private static bool NoiseReduction(JsonRules rules, JsonElement value, string param, bool required) =>
        rules.Object(value, param, "type")
        && (!required || rules.Required(value, "type", param, out _))
        && rules.Optional(value, "type", param, (v, p) => rules.Enum(v, p, "near_field", "far_field"));

    /// <summary><c>RealtimeTurnDetection</c>: server VAD with its tuning, or semantic VAD with only its eagerness.</summary>
    private static bool TurnDetection(JsonRules rules, JsonElement value, string param)
    {
        if (!rules.Object(value, param, "type", "threshold", "prefix_padding_ms", "silence_duration_ms", "create_response", "interrupt_response", "idle_timeout_ms", "eagerness")
            || !rules.Required(value, "type", param, out var type)
            || !rules.Enum(type, param + ".type", "server_vad", "semantic_vad"))
        {
            return false;
        }

        if (type.ValueEquals("semantic_vad"))
        {
            return rules.Object(value, param, "type", "eagerness", "create_response", "interrupt_response")
                && rules.Optional(value, "eagerness", param, (v, p) => rules.Enum(v, p, "low", "medium", "high", "auto"))
                && rules.Optional(value, "create_response", param, rules.Boolean)
                && rules.Optional(value, "interrupt_response", param, rules.Boolean);
        }

        return rules.Object(value, param, "type", "threshold", "prefix_padding_ms", "silence_duration_ms", "create_response", "interrupt_response", "idle_timeout_ms")
            && rules.Optional(value, "threshold", param, (v, p) => rules.Number(v, p, 0, 1))
            && rules.Optional(value, "prefix_padding_ms", param, (v, p) => rules.Integer(v, p, 0))
            && rules.Optional(value, "silence_duration_ms", param, (v, p) => rules.Integer(v, p, 0))
            && rules.Optional(value, "create_response", param, rules.Boolean)
            && rules.Optional(value, "interrupt_response", param, rules.Boolean)
            && rules.Nullable(value, "idle_timeout_ms", param, (v, p) => rules.Integer(v, p, 5000, 30000));
    }

    /// <summary><c>VoiceIdsOrCustomVoice</c>: a voice name (built-in names are not the only ones) or <c>{"id": "voice_…"}</c>.</summary>
    private static bool Voice(JsonRules rules, JsonElement value, string param)
    {
        if (value.ValueKind == JsonValueKind.Object)
        {
            return rules.Object(value, param, "id") && rules.Required(value, "id", param, out var id) && rules.String(id, param + ".id");
        }

        return value.ValueKind == JsonValueKind.String || rules.WrongType(value, param, $"one of {JsonRules.List(Voices)} or an object with an 'id'");
    }

    private static bool Include(JsonRules rules, JsonElement value, string param) =>
        rules.Array(value, param, (item, p) => rules.Enum(item, p, "item.input_audio_transcription.logprobs"));

    private static bool Tracing(JsonRules rules, JsonElement value, string param)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            return rules.Enum(value, param, "auto");
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            return rules.WrongType(value, param, "one of 'auto', an object or null");
        }

        return rules.Object(value, param, "workflow_name", "group_id", "metadata")
            && rules.Optional(value, "workflow_name", param, rules.String)
            && rules.Optional(value, "group_id", param, rules.String)
            && rules.Optional(value, "metadata", param, (m, p) => m.ValueKind == JsonValueKind.Object || rules.WrongType(m, p, "an object"));
    }

    /// <summary><c>RealtimeFunctionTool</c> or <c>MCPTool</c>.</summary>
    private static bool Tool(JsonRules rules, JsonElement tool, string param)
    {
        if (!rules.Object(tool, param, "type", "name", "description", "parameters", "server_label", "server_url", "connector_id", "tunnel_id", "authorization",
                "server_description", "headers", "allowed_tools", "allowed_callers", "require_approval", "defer_loading")
            || !rules.Required(tool, "type", param, out var type)
            || !rules.Enum(type, param + ".type", "function", "mcp"))
        {
            return false;
        }

        if (type.ValueEquals("function"))
        {
            return rules.Object(tool, param, "type", "name", "description", "parameters")
                && rules.Optional(tool, "name", param, rules.String)
                && rules.Optional(tool, "description", param, rules.String)
                && rules.Optional(tool, "parameters", param, (p, pp) => p.ValueKind == JsonValueKind.Object || rules.WrongType(p, pp, "an object"));
        }

        if (!rules.Required(tool, "server_label", param, out var label) || !rules.String(label, param + ".server_label"))
        {
            return false;
        }

        var targets = 0;
        foreach (var name in (ReadOnlySpan<string>)["server_url", "connector_id", "tunnel_id"])
        {
            targets += tool.TryGetProperty(name, out _) ? 1 : 0;
        }

        return (targets > 0 || rules.Fail($"Missing required parameter: one of '{param}.server_url', '{param}.connector_id' or '{param}.tunnel_id'.", param + ".server_url", "missing_required_parameter"))
            && rules.Optional(tool, "server_url", param, rules.String)
            && rules.Optional(tool, "connector_id", param, (v, p) => rules.Enum(v, p, "connector_dropbox", "connector_gmail", "connector_googlecalendar", "connector_googledrive",
                "connector_microsoftteams", "connector_outlookcalendar", "connector_outlookemail", "connector_sharepoint"))
            && rules.Optional(tool, "tunnel_id", param, rules.String)
            && rules.Optional(tool, "authorization", param, rules.String)
            && rules.Optional(tool, "server_description", param, rules.String)
            && rules.Optional(tool, "defer_loading", param, rules.Boolean);
    }

    /// <summary><c>ToolChoiceOptions</c>, <c>ToolChoiceFunction</c> or <c>ToolChoiceMCP</c>.</summary>
    private static bool ToolChoice(JsonRules rules, JsonElement value, string param)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            return rules.Enum(value, param, "none", "auto", "required");
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            return rules.WrongType(value, param, "one of 'none', 'auto', 'required' or an object");
        }

        if (!rules.Required(value, "type", param, out var type) || !rules.Enum(type, param + ".type", "function", "mcp"))
        {
            return false;
        }

        return type.ValueEquals("function")
            ? rules.Object(value, param, "type", "name") && rules.Required(value, "name", param, out var name) && rules.String(name, param + ".name")
            : rules.Object(value, param, "type", "server_label", "name") && rules.Required(value, "server_label", param, out var label) && rules.String(label, param + ".server_label")
                && rules.Nullable(value, "name", param, rules.String);
    }

    private static bool MaxOutputTokens(JsonRules rules, JsonElement value, string param)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            return value.ValueEquals("inf") || rules.Fail($"Invalid value: '{value.GetString()}'. Supported values are: an integer from 1 to 4096, or 'inf'.", param, "invalid_value");
        }

        return value.ValueKind == JsonValueKind.Number
            ? rules.Integer(value, param, 1, 4096)
            : rules.WrongType(value, param, "one of an integer or 'inf'");
    }

    /// <summary><c>RealtimeTruncation</c>: <c>auto</c>, <c>disabled</c> or a retention ratio in 0..1.</summary>
    private static bool Truncation(JsonRules rules, JsonElement value, string param)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            return rules.Enum(value, param, "auto", "disabled");
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            return rules.WrongType(value, param, "one of 'auto', 'disabled' or an object");
        }

        return rules.Object(value, param, "type", "retention_ratio", "token_limits")
            && rules.Required(value, "type", param, out var type) && rules.Enum(type, param + ".type", "retention_ratio")
            && rules.Required(value, "retention_ratio", param, out var ratio) && rules.Number(ratio, param + ".retention_ratio", 0, 1)
            && rules.Optional(value, "token_limits", param, (limits, p) =>
                rules.Object(limits, p, "post_instructions") && rules.Optional(limits, "post_instructions", p, (v, vp) => rules.Integer(v, vp, 0)));
    }

    private static bool Prompt(JsonRules rules, JsonElement value, string param) =>
        rules.Object(value, param, "id", "version", "variables")
        && rules.Required(value, "id", param, out var id) && rules.String(id, param + ".id")
        && rules.Nullable(value, "version", param, rules.String)
        && rules.Optional(value, "variables", param, (v, p) => v.ValueKind == JsonValueKind.Object || rules.WrongType(v, p, "an object"));

    /// <summary><c>Metadata</c>: at most 16 string pairs, keys up to 64 characters, values up to 512.</summary>
    private static bool Metadata(JsonRules rules, JsonElement value, string param)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            return rules.WrongType(value, param, "an object");
        }

        var count = 0;
        foreach (var pair in value.EnumerateObject())
        {
            var p = JsonRules.Child(param, pair.Name);
            if (++count > 16)
            {
                return rules.Fail($"Invalid '{param}': too many properties. Expected an object with at most 16 properties, but got more.", param, "object_above_max_properties");
            }

            if (pair.Name.Length > 64)
            {
                return rules.Fail($"Invalid '{param}': a key is longer than 64 characters.", param, "invalid_value");
            }

            if (!rules.String(pair.Value, p))
            {
                return false;
            }

            if (pair.Value.GetString()!.Length > 512)
            {
                return rules.Fail($"Invalid '{p}': string too long. Expected a string with maximum length 512.", p, "string_above_max_length");
            }
        }

        return true;
    }
}
