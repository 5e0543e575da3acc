using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RealtimeConsole.Simulator;

/// <summary>Realtime session configurations: OpenAI's validation of the <c>session</c> object and its defaults.</summary>
public static class SimulatorSessions
{
    private static readonly string[] Modalities = ["audio", "text"];

    /// <summary>The first problem with <paramref name="session"/> as OpenAI would report it, or null.</summary>
    public static OpenAiError? Validate(JsonElement session, string path)
    {
        if (session.ValueKind != JsonValueKind.Object)
        {
            return OpenAiError.InvalidType(path, "an object");
        }

        if (!session.TryGetProperty("type", out var type) || type.ValueKind == JsonValueKind.Null)
        {
            return OpenAiError.MissingParameter(path + ".type");
        }

        if (type.ValueKind != JsonValueKind.String || !(type.ValueEquals("realtime") || type.ValueEquals("transcription")))
        {
            return OpenAiError.InvalidRequest($"Invalid value: '{type.GetRawText()}'. Supported values are: 'realtime' and 'transcription'.", path + ".type", "invalid_value");
        }

        foreach (var name in (ReadOnlySpan<string>)["model", "instructions"])
        {
            if (session.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.String)
            {
                return OpenAiError.InvalidType($"{path}.{name}", "a string");
            }
        }

        if (session.TryGetProperty("output_modalities", out var modalities))
        {
            if (modalities.ValueKind != JsonValueKind.Array)
            {
                return OpenAiError.InvalidType(path + ".output_modalities", "an array of strings");
            }

            foreach (var item in modalities.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String || Array.IndexOf(Modalities, item.GetString()) < 0)
                {
                    return OpenAiError.InvalidRequest($"Invalid value in '{path}.output_modalities': {item.GetRawText()}. Supported values are: 'audio' and 'text'.", path + ".output_modalities", "invalid_value");
                }
            }
        }

        if (session.TryGetProperty("audio", out var audio))
        {
            if (audio.ValueKind != JsonValueKind.Object)
            {
                return OpenAiError.InvalidType(path + ".audio", "an object");
            }

            if (audio.TryGetProperty("output", out var output) && output.ValueKind == JsonValueKind.Object
                && output.TryGetProperty("voice", out var voice) && voice.ValueKind != JsonValueKind.String)
            {
                return OpenAiError.InvalidType(path + ".audio.output.voice", "a string");
            }
        }

        if (session.TryGetProperty("tools", out var tools) && tools.ValueKind != JsonValueKind.Array)
        {
            return OpenAiError.InvalidType(path + ".tools", "an array");
        }

        return null;
    }

    /// <summary>
    /// The full session as JSON: OpenAI's defaults with <paramref name="requested"/> merged over them, written in one
    /// pass without building a node tree (this is the mint hot path).
    /// </summary>
    public static string ToJsonWithDefaults(JsonElement? requested, string model)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, OpenAiError.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("type", "realtime");
            writer.WriteString("object", "realtime.session");
            writer.WriteString("id", NewSessionId());
            writer.WriteString("model", model);
            WriteMergedProperties(writer, Defaults, requested, skipTop: true);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    // Session ids only need to be unique, not secret: a cheap generator keeps the mint path light.
    private static string NewSessionId()
    {
        Span<byte> random = stackalloc byte[12];
        Random.Shared.NextBytes(random);
        return "sess_" + Convert.ToHexStringLower(random);
    }

    private static readonly JsonElement Defaults = JsonDocument.Parse("""
        {"output_modalities":["audio"],"instructions":"You are a helpful assistant.","tools":[],"tool_choice":"auto",
         "max_output_tokens":"inf","tracing":null,"truncation":"auto","prompt":null,
         "audio":{"input":{"format":{"type":"audio/pcm","rate":24000},"transcription":null,"noise_reduction":null,
                           "turn_detection":{"type":"server_vad","threshold":0.5,"prefix_padding_ms":300,"silence_duration_ms":200,"create_response":true,"interrupt_response":true}},
                  "output":{"format":{"type":"audio/pcm","rate":24000},"voice":"alloy","speed":1.0}}}
        """).RootElement.Clone();

    private static void WriteMergedProperties(Utf8JsonWriter writer, JsonElement defaults, JsonElement? overrides, bool skipTop)
    {
        foreach (var property in defaults.EnumerateObject())
        {
            writer.WritePropertyName(property.Name);
            if (overrides is { } o && o.TryGetProperty(property.Name, out var replacement))
            {
                if (replacement.ValueKind == JsonValueKind.Object && property.Value.ValueKind == JsonValueKind.Object)
                {
                    writer.WriteStartObject();
                    WriteMergedProperties(writer, property.Value, replacement, skipTop: false);
                    writer.WriteEndObject();
                }
                else
                {
                    replacement.WriteTo(writer);
                }
            }
            else
            {
                property.Value.WriteTo(writer);
            }
        }

        if (overrides is not { } extra)
        {
            return;
        }

        foreach (var property in extra.EnumerateObject())
        {
            // The top level's type/object/id/model were written first; "model" from the request wins there.
            var isTopFixed = skipTop && property.NameEquals("type") | property.NameEquals("object") | property.NameEquals("id") | property.NameEquals("model");
            if (!isTopFixed && !defaults.TryGetProperty(property.Name, out _))
            {
                property.WriteTo(writer);
            }
        }
    }

    /// <summary>A full session as a node tree: OpenAI's defaults with <paramref name="requested"/> merged over them.</summary>
    public static JsonObject WithDefaults(JsonElement? requested, string model) =>
        JsonNode.Parse(ToJsonWithDefaults(requested, model))!.AsObject();

    /// <summary>Copies <paramref name="overrides"/> into <paramref name="target"/>: objects merge, everything else replaces.</summary>
    public static void MergeInto(JsonObject target, JsonObject overrides)
    {
        foreach (var (name, value) in overrides)
        {
            if (value is JsonObject child && target[name] is JsonObject existing)
            {
                MergeInto(existing, child);
            }
            else
            {
                target[name] = value?.DeepClone();
            }
        }
    }
}
