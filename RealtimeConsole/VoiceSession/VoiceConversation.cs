using System.Text.Json;

namespace RealtimeConsole.VoiceSession;

public enum Speaker
{
    User,
    Assistant,
}

public sealed class TranscriptTurn(Speaker speaker, string key)
{
    public Speaker Speaker { get; } = speaker;

    public string Key { get; } = key;

    public string Text { get; set; } = "";

    public bool Done { get; set; }

    /// <summary>The response ended before this turn was complete (cancelled, e.g. by barge-in, or failed).</summary>
    public bool Interrupted { get; set; }

    /// <summary>A spoken turn, as the server transcribed it (not typed).</summary>
    public bool FromAudio { get; init; }
}

public sealed record RateLimitReading(string Name, long Limit, long Remaining, double ResetSeconds);

public sealed record FunctionCall(string CallId, string Name, string Arguments);

/// <summary>Usage summed over every <c>response.done</c> of one session.</summary>
public sealed record UsageTotals(int Responses, long InputTokens, long OutputTokens, long CachedTokens, long TotalTokens)
{
    public static readonly UsageTotals Zero = new(0, 0, 0, 0, 0);
}

/// <summary>What the server events say about the conversation: transcript, usage, limits, calls and errors.</summary>
public sealed class VoiceConversation
{
    private readonly List<TranscriptTurn> _turns = [];

    public IReadOnlyList<TranscriptTurn> Turns => _turns;

    public UsageTotals Usage { get; private set; } = UsageTotals.Zero;

    public IReadOnlyList<RateLimitReading> RateLimits { get; private set; } = [];

    /// <summary>When the last <c>rate_limits.updated</c> arrived: its <c>reset_seconds</c> count from here.</summary>
    public DateTimeOffset RateLimitsAt { get; private set; }

    public string? LastError { get; private set; }

    public string? SessionId { get; private set; }

    /// <summary>Between <c>response.created</c> and <c>response.done</c>: the assistant is answering.</summary>
    public bool ResponseActive { get; private set; }

    public void AddUserText(string text) => _turns.Add(new TranscriptTurn(Speaker.User, $"local-{_turns.Count}") { Text = text, Done = true });

    public void ResetUsage() => Usage = UsageTotals.Zero;

    /// <summary>Applies one server event that arrived at <paramref name="at"/>; returns what the page must act on.</summary>
    public ServerEventEffect Apply(string json, DateTimeOffset at = default)
    {
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(json);
            root = doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return ServerEventEffect.None;
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            return ServerEventEffect.None;
        }

        switch (Str(root, "type"))
        {
            case "session.created":
                SessionId = root.TryGetProperty("session", out var s) ? Str(s, "id") : null;
                return ServerEventEffect.None;
            case "response.output_audio_transcript.delta" or "response.output_text.delta":
                AssistantTurn(Str(root, "item_id") ?? Str(root, "response_id") ?? "assistant").Text += Str(root, "delta");
                return ServerEventEffect.None;
            case "response.output_audio_transcript.done" or "response.output_text.done":
                var done = AssistantTurn(Str(root, "item_id") ?? Str(root, "response_id") ?? "assistant");
                done.Text = Str(root, "transcript") ?? Str(root, "text") ?? done.Text;
                done.Done = true;
                return ServerEventEffect.None;
            case "conversation.item.input_audio_transcription.delta":
                SpokenTurn(Str(root, "item_id")).Text += Str(root, "delta");
                return ServerEventEffect.None;
            case "conversation.item.input_audio_transcription.completed":
                var spoken = SpokenTurn(Str(root, "item_id"));
                spoken.Text = Str(root, "transcript") ?? spoken.Text;
                spoken.Done = true;
                return ServerEventEffect.None;
            case "input_audio_buffer.committed":
                return new ServerEventEffect { InputCommitted = true };
            case "response.created":
                ResponseActive = true;
                return ServerEventEffect.None;
            case "response.done":
                ResponseActive = false;
                return ApplyResponseDone(root);
            case "rate_limits.updated":
                RateLimits = root.TryGetProperty("rate_limits", out var limits) && limits.ValueKind == JsonValueKind.Array
                    ? [.. limits.EnumerateArray().Select(l => new RateLimitReading(
                        Str(l, "name") ?? "?", Long(l, "limit"), Long(l, "remaining"),
                        l.TryGetProperty("reset_seconds", out var r) && r.ValueKind == JsonValueKind.Number ? r.GetDouble() : 0))]
                    : [];
                RateLimitsAt = at;
                return new ServerEventEffect { RateLimitsChanged = true };
            case "error":
                var error = root.TryGetProperty("error", out var e) ? e : default;
                var code = error.ValueKind == JsonValueKind.Object ? Str(error, "code") : null;
                var message = error.ValueKind == JsonValueKind.Object ? Str(error, "message") : null;
                LastError = $"{code ?? "error"}: {message ?? "(no message)"}";
                return new ServerEventEffect { SessionExpired = code == "session_expired", ErrorCode = code ?? "error", ErrorMessage = message };
            default:
                return ServerEventEffect.None;
        }
    }

    private ServerEventEffect ApplyResponseDone(JsonElement root)
    {
        if (!root.TryGetProperty("response", out var response) || response.ValueKind != JsonValueKind.Object)
        {
            return ServerEventEffect.None;
        }

        if (response.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            var cached = usage.TryGetProperty("input_token_details", out var details) && details.ValueKind == JsonValueKind.Object
                ? Long(details, "cached_tokens") : 0;
            Usage = Usage with
            {
                Responses = Usage.Responses + 1,
                InputTokens = Usage.InputTokens + Long(usage, "input_tokens"),
                OutputTokens = Usage.OutputTokens + Long(usage, "output_tokens"),
                CachedTokens = Usage.CachedTokens + cached,
                TotalTokens = Usage.TotalTokens + Long(usage, "total_tokens"),
            };
        }

        var calls = new List<FunctionCall>();
        var completed = Str(response, "status") is null or "completed";
        if (response.TryGetProperty("output", out var output) && output.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in output.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.Object && Str(item, "id") is { } itemId
                    && _turns.FindLast(t => t.Speaker == Speaker.Assistant && t.Key == itemId) is { Done: false } open)
                {
                    open.Done = true;
                    open.Interrupted = !completed;
                }

                if (item.ValueKind == JsonValueKind.Object && Str(item, "type") == "function_call" && Str(item, "call_id") is { } callId)
                {
                    calls.Add(new FunctionCall(callId, Str(item, "name") ?? "", Str(item, "arguments") ?? "{}"));
                }
            }
        }

        // A cancelled or failed response may list no output: whatever the assistant was still saying ends here, interrupted.
        foreach (var open in completed ? [] : _turns.Where(t => t.Speaker == Speaker.Assistant && !t.Done))
        {
            open.Done = true;
            open.Interrupted = true;
        }

        return new ServerEventEffect { FunctionCalls = calls };
    }

    private TranscriptTurn SpokenTurn(string? itemId)
    {
        var key = itemId ?? "speech";
        var turn = _turns.FindLast(t => t.Speaker == Speaker.User && t.Key == key);
        if (turn is null)
        {
            turn = new TranscriptTurn(Speaker.User, key) { FromAudio = true };
            _turns.Add(turn);
        }

        return turn;
    }

    private TranscriptTurn AssistantTurn(string key)
    {
        var turn = _turns.FindLast(t => t.Speaker == Speaker.Assistant && t.Key == key);
        if (turn is null)
        {
            turn = new TranscriptTurn(Speaker.Assistant, key);
            _turns.Add(turn);
        }

        return turn;
    }

    private static string? Str(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long Long(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) ? n : 0;
}

public sealed record ServerEventEffect
{
    public static readonly ServerEventEffect None = new();

    public IReadOnlyList<FunctionCall> FunctionCalls { get; init; } = [];

    public bool RateLimitsChanged { get; init; }

    public bool SessionExpired { get; init; }

    /// <summary>The server committed the input audio buffer (a manual turn may now get its response).</summary>
    public bool InputCommitted { get; init; }

    /// <summary>The code of an <c>error</c> event, if this was one.</summary>
    public string? ErrorCode { get; init; }

    public string? ErrorMessage { get; init; }
}
