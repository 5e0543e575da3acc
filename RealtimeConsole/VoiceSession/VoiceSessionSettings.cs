using System.Text.Json.Nodes;

namespace RealtimeConsole.VoiceSession;

public enum TurnDetectionMode
{
    ServerVad,
    SemanticVad,
    None,
}

public enum ConnectionPath
{
    /// <summary>The browser posts its SDP to our server, which adds the key: the default.</summary>
    ThroughServer,

    /// <summary>The browser gets an ephemeral secret and posts its SDP to the calls URL itself.</summary>
    BrowserDirect,
}

/// <summary>The audio codecs the page can put first in its SDP offer, in the browser's usual order.</summary>
public enum AudioCodecPreference
{
    Opus,
    Pcmu,
    Pcma,
}

/// <summary>What the developer picked in the settings panel; turned into a <c>session.update</c> on connect.</summary>
public sealed class VoiceSessionSettings
{
    public static readonly IReadOnlyList<string> Models = ["gpt-realtime", "gpt-realtime-mini"];

    public static readonly IReadOnlyList<string> Voices = ["marin", "cedar", "alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse"];

    public string Model { get; set; } = "gpt-realtime";

    public string Voice { get; set; } = "marin";

    public string Instructions { get; set; } = "You are a helpful assistant inside a developer console. Keep answers short.";

    public TurnDetectionMode TurnDetection { get; set; } = TurnDetectionMode.ServerVad;

    public double VadThreshold { get; set; } = 0.5;

    public int PrefixPaddingMs { get; set; } = 300;

    public int SilenceDurationMs { get; set; } = 500;

    public bool PushToTalk { get; set; }

    public bool ToolsEnabled { get; set; } = true;

    /// <summary>Asks the server to transcribe the caller's audio, so spoken turns get a "You" bubble.</summary>
    public bool TranscribeInput { get; set; } = true;

    public string TranscriptionModel { get; set; } = "gpt-4o-mini-transcribe";

    public ConnectionPath Path { get; set; } = ConnectionPath.ThroughServer;

    /// <summary>The codec the offer puts first; the answerer picks the first it supports (OpenAI and the simulator alike).</summary>
    public AudioCodecPreference PreferredCodec { get; set; } = AudioCodecPreference.Opus;

    /// <summary>The offer's codec order as MIME types for <c>setCodecPreferences</c>: the preferred one, then Opus, PCMU, PCMA.</summary>
    public IReadOnlyList<string> CodecOrder() =>
        [.. Enum.GetValues<AudioCodecPreference>().OrderBy(c => c == PreferredCodec ? 0 : 1).Select(MimeType)];

    /// <summary>The order in words, e.g. "PCMA, Opus, PCMU".</summary>
    public string CodecOrderText() => string.Join(", ", CodecOrder().Select(m => m["audio/".Length..] is "opus" ? "Opus" : m["audio/".Length..]));

    private static string MimeType(AudioCodecPreference codec) => codec switch
    {
        AudioCodecPreference.Pcmu => "audio/PCMU",
        AudioCodecPreference.Pcma => "audio/PCMA",
        _ => "audio/opus",
    };

    /// <summary>Push-to-talk needs the client to decide when a turn ends, so it turns VAD off.</summary>
    public TurnDetectionMode EffectiveTurnDetection => PushToTalk ? TurnDetectionMode.None : TurnDetection;

    /// <summary>The body of <c>POST /api/realtime/client-secret</c>: the broker's flat overrides.</summary>
    public JsonObject BuildSecretOverrides(IEnumerable<JsonObject> tools)
    {
        var session = BuildSession(tools);
        var overrides = new JsonObject
        {
            ["model"] = Model,
            ["voice"] = Voice,
            ["instructions"] = Instructions,
            ["tools"] = session["tools"]!.DeepClone(),
        };
        if (session["audio"]!["input"]!["turn_detection"] is JsonObject turnDetection)
        {
            overrides["turn_detection"] = turnDetection.DeepClone();
        }

        return overrides;
    }

    /// <summary>Push-to-talk and "None" both leave ending a turn to the page: the button commits the buffered audio.</summary>
    public bool ManualTurns => EffectiveTurnDetection == TurnDetectionMode.None;

    /// <summary>The <c>session</c> of the <c>session.update</c> event sent when the channel opens.</summary>
    public JsonObject BuildSession(IEnumerable<JsonObject> tools)
    {
        var input = new JsonObject { ["turn_detection"] = BuildTurnDetection() };
        if (TranscribeInput)
        {
            input["transcription"] = new JsonObject { ["model"] = TranscriptionModel };
        }

        var session = new JsonObject
        {
            ["type"] = "realtime",
            ["model"] = Model,
            ["instructions"] = Instructions,
            ["audio"] = new JsonObject
            {
                ["input"] = input,
                ["output"] = new JsonObject { ["voice"] = Voice },
            },
        };
        var toolArray = new JsonArray();
        foreach (var tool in ToolsEnabled ? tools : [])
        {
            toolArray.Add(tool.DeepClone());
        }

        session["tools"] = toolArray;
        session["tool_choice"] = "auto";
        return session;
    }

    /// <summary>The <c>session.update</c> that switches turn detection while connected (push-to-talk on or off).</summary>
    public JsonObject BuildTurnDetectionUpdate() => new()
    {
        ["type"] = "session.update",
        ["session"] = new JsonObject
        {
            ["type"] = "realtime",
            ["audio"] = new JsonObject { ["input"] = new JsonObject { ["turn_detection"] = BuildTurnDetection() } },
        },
    };

    /// <summary><c>audio.input.turn_detection</c>: null when the page ends turns itself.</summary>
    public JsonNode? BuildTurnDetection() =>
        EffectiveTurnDetection switch
        {
            TurnDetectionMode.ServerVad => new JsonObject
            {
                ["type"] = "server_vad",
                ["threshold"] = VadThreshold,
                ["prefix_padding_ms"] = PrefixPaddingMs,
                ["silence_duration_ms"] = SilenceDurationMs,
            },
            TurnDetectionMode.SemanticVad => new JsonObject { ["type"] = "semantic_vad" },
            _ => null,
        };
}
