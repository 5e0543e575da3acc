using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RealtimeConsole.Simulator;

/// <summary>Realtime session configurations: OpenAI's validation of the <c>session</c> object and its defaults.</summary>
public static class SimulatorSessions
{
    private static readonly string[] Modalities = ["audio", "text"];

    /// <summary>The first problem with <paramref name="session"/> as OpenAI would report it, or null.</summary>
    public static OpenAiError? Validate(JsonNode? session, string path)
    {
        if (session is not JsonObject obj)
        {
            return OpenAiError.InvalidType(path, "an object");
        }

        if (!obj.TryGetPropertyValue("type", out var type) || type is null)
        {
            return OpenAiError.MissingParameter(path + ".type");
        }

        if (type.GetValueKind() != JsonValueKind.String || type.GetValue<string>() is not ("realtime" or "transcription"))
        {
            return OpenAiError.InvalidRequest($"Invalid value: '{type.ToJsonString()}'. Supported values are: 'realtime' and 'transcription'.", path + ".type", "invalid_value");
        }

        foreach (var name in (ReadOnlySpan<string>)["model", "instructions"])
        {
            if (obj[name] is { } value && value.GetValueKind() != JsonValueKind.String)
            {
                return OpenAiError.InvalidType($"{path}.{name}", "a string");
            }
        }

        if (obj["output_modalities"] is { } modalities)
        {
            if (modalities is not JsonArray array)
            {
                return OpenAiError.InvalidType(path + ".output_modalities", "an array of strings");
            }

            foreach (var item in array)
            {
                if (item?.GetValueKind() != JsonValueKind.String || Array.IndexOf(Modalities, item.GetValue<string>()) < 0)
                {
                    return OpenAiError.InvalidRequest($"Invalid value in '{path}.output_modalities': {item?.ToJsonString() ?? "null"}. Supported values are: 'audio' and 'text'.", path + ".output_modalities", "invalid_value");
                }
            }
        }

        if (obj["audio"] is { } audio)
        {
            if (audio is not JsonObject)
            {
                return OpenAiError.InvalidType(path + ".audio", "an object");
            }

            if (audio["output"]?["voice"] is { } voice && voice.GetValueKind() != JsonValueKind.String)
            {
                return OpenAiError.InvalidType(path + ".audio.output.voice", "a string");
            }
        }

        if (obj["tools"] is { } tools && tools is not JsonArray)
        {
            return OpenAiError.InvalidType(path + ".tools", "an array");
        }

        return null;
    }

    /// <summary>A full session: OpenAI's defaults for <paramref name="model"/> with <paramref name="requested"/> merged over them.</summary>
    public static JsonObject WithDefaults(JsonObject? requested, string model)
    {
        var session = new JsonObject
        {
            ["type"] = "realtime",
            ["object"] = "realtime.session",
            ["id"] = "sess_" + RandomNumberGenerator.GetHexString(24, lowercase: true),
            ["model"] = model,
            ["output_modalities"] = new JsonArray("audio"),
            ["instructions"] = "You are a helpful assistant.",
            ["tools"] = new JsonArray(),
            ["tool_choice"] = "auto",
            ["max_output_tokens"] = "inf",
            ["tracing"] = null,
            ["truncation"] = "auto",
            ["prompt"] = null,
            ["audio"] = new JsonObject
            {
                ["input"] = new JsonObject
                {
                    ["format"] = new JsonObject { ["type"] = "audio/pcm", ["rate"] = 24000 },
                    ["transcription"] = null,
                    ["noise_reduction"] = null,
                    ["turn_detection"] = new JsonObject
                    {
                        ["type"] = "server_vad",
                        ["threshold"] = 0.5,
                        ["prefix_padding_ms"] = 300,
                        ["silence_duration_ms"] = 200,
                        ["create_response"] = true,
                        ["interrupt_response"] = true,
                    },
                },
                ["output"] = new JsonObject
                {
                    ["format"] = new JsonObject { ["type"] = "audio/pcm", ["rate"] = 24000 },
                    ["voice"] = "alloy",
                    ["speed"] = 1.0,
                },
            },
        };
        if (requested is not null)
        {
            MergeInto(session, requested);
        }

        return session;
    }

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
