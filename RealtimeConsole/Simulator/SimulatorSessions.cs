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
    /// The full session: OpenAI's defaults with <paramref name="requested"/> merged over them, written in one pass without
    /// building a node tree (this is the mint hot path). Sessions with the same settings share one body; only ids differ.
    /// </summary>
    public static SimulatorSession Create(JsonElement? requested, string model)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer, OpenAiError.WriterOptions);
        writer.Reset(buffer);
        writer.WriteStartObject();
        writer.WriteString("model", model);
        WriteMergedProperties(writer, Defaults, requested, skipTop: true);
        writer.WriteEndObject();
        writer.Flush();

        // Minting the same configuration over and over (the usual case) keeps one copy of its body alive, not one per key.
        var written = buffer.WrittenSpan[1..];
        var last = Volatile.Read(ref s_lastBody);
        if (last is null || !written.SequenceEqual(last))
        {
            last = written.ToArray();
            Volatile.Write(ref s_lastBody, last);
        }

        return new SimulatorSession(NewSessionId(), last);
    }

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private static byte[]? s_lastBody;

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
    public static JsonObject WithDefaults(JsonElement? requested, string model) => Create(requested, model).ToJsonObject();

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

/// <summary>
/// A session configuration as OpenAI returns it: <c>{"type":"realtime","object":"realtime.session","id":…,"model":…,…}</c>.
/// Held as its id and the UTF-8 of everything after it (<paramref name="body"/>: <c>"model":…}</c>), which sessions with
/// the same settings share, so the simulator can keep hundreds of thousands of live keys cheaply.
/// </summary>
public sealed class SimulatorSession(string id, byte[] body)
{
    private static ReadOnlySpan<byte> Head => "{\"type\":\"realtime\",\"object\":\"realtime.session\",\"id\":\""u8;

    public string Id => id;

    /// <summary>The whole session object as UTF-8 JSON.</summary>
    public byte[] ToUtf8()
    {
        var bytes = new byte[Head.Length + id.Length + 2 + body.Length];
        Head.CopyTo(bytes);
        var at = Head.Length + Encoding.UTF8.GetBytes(id, bytes.AsSpan(Head.Length));
        bytes[at++] = (byte)'"';
        bytes[at++] = (byte)',';
        body.CopyTo(bytes, at);
        return bytes;
    }

    public string ToJsonString() => Encoding.UTF8.GetString(ToUtf8());

    /// <summary>A fresh, mutable copy as a node tree.</summary>
    public JsonObject ToJsonObject() => JsonNode.Parse(ToUtf8())!.AsObject();

    /// <summary>Writes the session as the current value of <paramref name="writer"/>.</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        var length = Head.Length + id.Length + 2 + body.Length;
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var span = rented.AsSpan(0, length);
            Head.CopyTo(span);
            var at = Head.Length + Encoding.UTF8.GetBytes(id, span[Head.Length..]);
            span[at++] = (byte)'"';
            span[at++] = (byte)',';
            body.CopyTo(span[at..]);
            writer.WriteRawValue(span, skipInputValidation: true);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
