namespace RealtimeConsole.VoiceSession;

public enum VoiceConnectionState
{
    Idle,
    GettingSecret,
    Negotiating,
    Connected,
    Reconnecting,
    WaitingToRetry,
    Failed,
}

/// <summary>What the browser module reports after a step that can fail (secret request or SDP exchange).</summary>
public sealed record PeerStepResult(bool Ok, int Status, string? Code, string? Message, double? RetryAfterSeconds)
{
    public string? Value { get; init; }

    public string? CallsUrl { get; init; }

    public bool IsQuotaExhausted => Code == "insufficient_quota";

    public bool IsRateLimited => Status == 429 || Code == "rate_limit_exceeded";

    /// <summary>The reason in words, with the server's own message.</summary>
    public string Describe(string step) => Status switch
    {
        0 => Message ?? $"{step} failed.",
        _ when IsQuotaExhausted => $"The account's quota is used up ({Message}). Retrying will not help: check the plan and billing.",
        _ when IsRateLimited => $"Rate limited while {step}: {Message}",
        _ => $"{step} failed: HTTP {Status}{(Code is null ? "" : $" {Code}")}: {Message}",
    };
}

/// <summary>One piece of a server event from the browser (a long event arrives in several pieces).</summary>
public sealed record ServerEventChunk(string Json, long At, bool Continues);

public sealed record AudioLevels(double Input, double Output);

public sealed record ConnectionStats(double? RoundTripMs, double? JitterMs, long? PacketsLost, string? Codec);

public sealed record MicrophoneInfo(string DeviceId, string Label);
