using System.Globalization;
using System.Text.Json.Nodes;

namespace RealtimeConsole.Simulator.Media.Realtime;

/// <summary>
/// The simulator's answer to <c>audio.input.transcription</c>: it has no speech recognizer, so every committed
/// turn is transcribed as the same fixed phrase, sent as OpenAI sends a transcript (deltas, then completed).
/// </summary>
internal static class SimulatedInputTranscription
{
    /// <summary>What the simulator "heard"; it names no page tool, so a spoken turn never calls one by accident.</summary>
    public const string Phrase = "Hello simulator, can you hear me?";

    public static bool IsRequested(JsonObject session) => session["audio"]?["input"]?["transcription"] is JsonObject;

    /// <summary>The <c>conversation.item.input_audio_transcription.*</c> events for one committed user item.</summary>
    public static IEnumerable<(string Type, JsonObject Body)> Events(string itemId, int audioMs)
    {
        foreach (var word in Phrase.Split(' '))
        {
            yield return ("conversation.item.input_audio_transcription.delta", new JsonObject
            {
                ["item_id"] = itemId,
                ["content_index"] = 0,
                ["delta"] = word + " ",
            });
        }

        yield return ("conversation.item.input_audio_transcription.completed", new JsonObject
        {
            ["item_id"] = itemId,
            ["content_index"] = 0,
            ["transcript"] = Phrase,
            ["usage"] = new JsonObject { ["type"] = "duration", ["seconds"] = Math.Round(audioMs / 1000.0, 3) },
        });
    }
}
