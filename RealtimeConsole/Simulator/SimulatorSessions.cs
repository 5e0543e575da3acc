using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RealtimeConsole.Simulator.Validation;

namespace RealtimeConsole.Simulator;

/// <summary>Session configurations: OpenAI's validation of the <c>session</c> object and the session it answers with.</summary>
public static class SimulatorSessions
{
    /// <summary>The first problem with <paramref name="session"/> as OpenAI would report it (schema, then model), or null.</summary>
    public static OpenAiError? Validate(JsonElement session, string path) =>
        RealtimeSessionRules.Check(session, path) ?? RealtimeSessionRules.ModelProblem(session, path);

    /// <summary>
    /// The full session: OpenAI's defaults for its <c>type</c> with <paramref name="requested"/> merged over them, written in
    /// one pass without building a node tree (this is the mint hot path). Sessions with the same settings share one body;
    /// only ids differ. <paramref name="model"/> is used when a realtime session names none.
    /// </summary>
    public static SimulatorSession Create(JsonElement? requested, string model)
    {
        var kind = requested is { } r && r.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.ValueEquals("transcription")
            ? SimulatorSessionKind.Transcription
            : SimulatorSessionKind.Realtime;
        return Write(kind, requested, writer =>
        {
            if (kind == SimulatorSessionKind.Realtime)
            {
                writer.WriteString("model", requested is { } session ? RealtimeSessionRules.Model(session) ?? model : model);
            }

            WriteMergedProperties(writer, kind == SimulatorSessionKind.Realtime ? RealtimeDefaults : TranscriptionDefaults, requested, top: true);
        });
    }

    /// <summary>A translation session (<c>RealtimeTranslationSession</c>): its model, audio and the key's expiry.</summary>
    public static SimulatorSession CreateTranslation(JsonElement requested, DateTimeOffset expiresAt) =>
        Write(SimulatorSessionKind.Translation, requested, writer =>
        {
            writer.WriteNumber("expires_at", expiresAt.ToUnixTimeSeconds());
            writer.WriteString("model", RealtimeSessionRules.Model(requested));
            WriteMergedProperties(writer, TranslationDefaults, requested, top: true);
        });

    private static SimulatorSession Write(SimulatorSessionKind kind, JsonElement? requested, Action<Utf8JsonWriter> writeBody)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer, OpenAiError.WriterOptions);
        writer.Reset(buffer);
        writer.WriteStartObject();
        writeBody(writer);
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

        return new SimulatorSession(NewSessionId(), last, kind);
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

    // The spec's client_secrets example: a session not yet started has "expires_at": 0; "include" and "idle_timeout_ms" are null.
    private static readonly JsonElement RealtimeDefaults = JsonDocument.Parse("""
        {"output_modalities":["audio"],"instructions":"You are a helpful assistant.","tools":[],"tool_choice":"auto",
         "max_output_tokens":"inf","tracing":null,"truncation":"auto","prompt":null,"expires_at":0,
         "audio":{"input":{"format":{"type":"audio/pcm","rate":24000},"transcription":null,"noise_reduction":null,
                           "turn_detection":{"type":"server_vad","threshold":0.5,"prefix_padding_ms":300,"silence_duration_ms":200,"idle_timeout_ms":null,"create_response":true,"interrupt_response":true}},
                  "output":{"format":{"type":"audio/pcm","rate":24000},"voice":"alloy","speed":1.0}},
         "include":null}
        """).RootElement.Clone();

    // RealtimeTranscriptionSessionCreateResponseGA's example, in the GA audio shape.
    private static readonly JsonElement TranscriptionDefaults = JsonDocument.Parse("""
        {"expires_at":0,"include":null,
         "audio":{"input":{"format":{"type":"audio/pcm","rate":24000},"transcription":{"model":"gpt-4o-transcribe","language":null,"prompt":""},"noise_reduction":null,
                           "turn_detection":{"type":"server_vad","threshold":0.5,"prefix_padding_ms":300,"silence_duration_ms":200}}}}
        """).RootElement.Clone();

    private static readonly JsonElement TranslationDefaults = JsonDocument.Parse("""
        {"audio":{"input":{"transcription":null,"noise_reduction":null},"output":{"language":"en"}}}
        """).RootElement.Clone();

    /// <summary>What each kind of turn detection answers with when the request gives only its type (semantic VAD has none of server VAD's tuning).</summary>
    public static JsonElement TurnDetectionDefaults(string? type) => type == "semantic_vad" ? SemanticVadDefaults : ServerVadDefaults;

    private static readonly JsonElement ServerVadDefaults = RealtimeDefaults.GetProperty("audio").GetProperty("input").GetProperty("turn_detection");

    private static readonly JsonElement SemanticVadDefaults = JsonDocument.Parse("""
        {"type":"semantic_vad","eagerness":"auto","create_response":true,"interrupt_response":true}
        """).RootElement.Clone();

    /// <summary>Objects that merge field by field; every other value (formats, voice, tools, tracing…) is replaced whole.</summary>
    public static bool Merges(string name) => name is "audio" or "input" or "output" or "transcription";

    private static void WriteMergedProperties(Utf8JsonWriter writer, JsonElement defaults, JsonElement? overrides, bool top)
    {
        foreach (var property in defaults.EnumerateObject())
        {
            writer.WritePropertyName(property.Name);
            if (overrides is { } o && o.TryGetProperty(property.Name, out var replacement))
            {
                if (replacement.ValueKind == JsonValueKind.Object && property.NameEquals("turn_detection"))
                {
                    // A turn detection of another type starts from that type's defaults, not from server VAD's fields.
                    var kind = replacement.TryGetProperty("type", out var t) ? t.GetString() : null;
                    var start = property.Value.ValueKind == JsonValueKind.Object && kind == property.Value.GetProperty("type").GetString() ? property.Value : TurnDetectionDefaults(kind);
                    writer.WriteStartObject();
                    WriteMergedProperties(writer, start, replacement, top: false);
                    writer.WriteEndObject();
                }
                else if (replacement.ValueKind == JsonValueKind.Object && property.Value.ValueKind == JsonValueKind.Object && Merges(property.Name))
                {
                    writer.WriteStartObject();
                    WriteMergedProperties(writer, property.Value, replacement, top: false);
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
            // The top level's type/object/id/model/expires_at are the server's; "model" from the request was written first.
            var isTopFixed = top && (property.NameEquals("type") || property.NameEquals("object") || property.NameEquals("id") || property.NameEquals("model") || property.NameEquals("expires_at"));
            if (!isTopFixed && !defaults.TryGetProperty(property.Name, out _))
            {
                property.WriteTo(writer);
            }
        }
    }

    /// <summary>A full session as a node tree: OpenAI's defaults with <paramref name="requested"/> merged over them.</summary>
    public static JsonObject WithDefaults(JsonElement? requested, string model) => Create(requested, model).ToJsonObject();

    /// <summary>
    /// Applies <paramref name="overrides"/> (a call's <c>session</c> part, a <c>session.update</c>) to <paramref name="target"/>
    /// with the rules of <see cref="Create"/>: audio settings merge, a turn detection of a new type starts from that
    /// type's defaults, everything else is replaced. The server's own fields (<c>id</c>, <c>object</c>, <c>expires_at</c>) stay.
    /// </summary>
    public static void MergeInto(JsonObject target, JsonObject overrides, bool top = true)
    {
        foreach (var (name, value) in overrides)
        {
            if (top && name is "id" or "object" or "expires_at")
            {
                continue;
            }

            if (name == "turn_detection" && value is JsonObject detection)
            {
                var kind = detection["type"]?.GetValue<string>();
                if (target[name] is JsonObject current && current["type"]?.GetValue<string>() == kind)
                {
                    MergeInto(current, detection, top: false);
                }
                else
                {
                    var fresh = JsonNode.Parse(TurnDetectionDefaults(kind).GetRawText())!.AsObject();
                    MergeInto(fresh, detection, top: false);
                    target[name] = fresh;
                }
            }
            else if (value is JsonObject child && target[name] is JsonObject existing && Merges(name))
            {
                MergeInto(existing, child, top: false);
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
public sealed class SimulatorSession(string id, byte[] body, SimulatorSessionKind kind = SimulatorSessionKind.Realtime)
{
    private ReadOnlySpan<byte> Head => kind switch
    {
        SimulatorSessionKind.Transcription => "{\"type\":\"transcription\",\"object\":\"realtime.transcription_session\",\"id\":\""u8,
        SimulatorSessionKind.Translation => "{\"type\":\"translation\",\"id\":\""u8,
        _ => "{\"type\":\"realtime\",\"object\":\"realtime.session\",\"id\":\""u8,
    };

    public string Id => id;

    public SimulatorSessionKind Kind => kind;

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

/// <summary>The <c>type</c> of a session: each has its own shape (<c>RealtimeSessionCreateResponseGA</c>,
/// <c>RealtimeTranscriptionSessionCreateResponseGA</c>, <c>RealtimeTranslationSession</c>).</summary>
public enum SimulatorSessionKind
{
    Realtime,
    Transcription,
    Translation,
}
