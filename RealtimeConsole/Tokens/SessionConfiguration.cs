using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace RealtimeConsole.Tokens;

/// <summary>
/// The session a secret is minted for. Secrets are cached by <see cref="Key"/>, a hash of the exact
/// upstream <c>session</c> object, so two different configurations never share one secret.
/// </summary>
public sealed record SessionConfiguration(string Model, string Voice, string Instructions, JsonElement? Tools = null, JsonElement? TurnDetection = null)
{
    // Not cached in a field: `with` copies fields, so a cached key would survive a changed setting.
    public string Key => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ToSessionJson().ToJsonString())))[..16];

    /// <summary>The GA <c>session</c> object sent upstream (client_secrets body, or the <c>session</c> part of a call).</summary>
    public JsonObject ToSessionJson()
    {
        var input = new JsonObject();
        if (TurnDetection is { } vad)
        {
            input["turn_detection"] = JsonNode.Parse(vad.GetRawText());
        }

        var session = new JsonObject
        {
            ["type"] = "realtime",
            ["model"] = Model,
            ["instructions"] = Instructions,
            ["audio"] = new JsonObject { ["input"] = input, ["output"] = new JsonObject { ["voice"] = Voice } },
        };
        if (Tools is { } tools)
        {
            session["tools"] = JsonNode.Parse(tools.GetRawText());
        }

        return session;
    }

    /// <summary>Applies a browser's overrides; returns an error message instead when they are not acceptable.</summary>
    public SessionConfiguration WithOverrides(SessionOverrides? overrides, out string? error)
    {
        error = null;
        if (overrides is null)
        {
            return this;
        }

        if (overrides.Model is { } model && (model.Length is 0 or > 100))
        {
            error = "\"model\" must be 1 to 100 characters.";
        }
        else if (overrides.Voice is { } voice && (voice.Length is 0 or > 50))
        {
            error = "\"voice\" must be 1 to 50 characters.";
        }
        else if (overrides.Instructions is { Length: > 16_000 })
        {
            error = "\"instructions\" may be at most 16,000 characters.";
        }
        else if (overrides.Tools is { ValueKind: not JsonValueKind.Array })
        {
            error = "\"tools\" must be an array.";
        }
        else if (overrides.TurnDetection is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Null) })
        {
            error = "\"turn_detection\" must be an object or null.";
        }

        return error is not null ? this : this with
        {
            Model = overrides.Model ?? Model,
            Voice = overrides.Voice ?? Voice,
            Instructions = overrides.Instructions ?? Instructions,
            Tools = overrides.Tools ?? Tools,
            TurnDetection = overrides.TurnDetection ?? TurnDetection,
        };
    }
}

/// <summary>What a browser may change in its session when asking for a secret (all optional).</summary>
public sealed record SessionOverrides(
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("voice")] string? Voice,
    [property: JsonPropertyName("instructions")] string? Instructions,
    [property: JsonPropertyName("tools")] JsonElement? Tools,
    [property: JsonPropertyName("turn_detection")] JsonElement? TurnDetection);
