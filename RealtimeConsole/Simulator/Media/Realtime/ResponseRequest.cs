using System.Text.Json;
using System.Text.Json.Nodes;

namespace RealtimeConsole.Simulator.Media.Realtime;

/// <summary>
/// What one <c>response.create</c> asked for (<c>RealtimeResponseCreateParams</c>, already checked against the spec):
/// its modality, metadata, whether it stays out of the conversation, its own input and its output cap.
/// </summary>
internal sealed record ResponseRequest(bool? Audio, JsonObject? Metadata, bool OutOfBand, JsonArray? Input, int? MaxOutputTokens)
{
    public static readonly ResponseRequest Default = new(null, null, false, null, null);

    public static ResponseRequest From(JsonNode? response)
    {
        if (response is not JsonObject parameters)
        {
            return Default;
        }

        bool? audio = parameters["output_modalities"] is JsonArray modalities && modalities.Count > 0
            ? modalities.Any(m => m?.GetValue<string>() == "audio")
            : null;
        int? maxOutputTokens = parameters["max_output_tokens"] is JsonValue cap && cap.GetValueKind() == JsonValueKind.Number ? cap.GetValue<int>() : null;
        return new ResponseRequest(
            audio,
            parameters["metadata"] as JsonObject,
            parameters["conversation"]?.GetValue<string>() == "none",
            parameters["input"] as JsonArray,
            maxOutputTokens);
    }
}
