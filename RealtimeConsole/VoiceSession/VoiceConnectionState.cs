using System.Text.RegularExpressions;

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
public sealed partial record PeerStepResult(bool Ok, int Status, string? Code, string? Message, double? RetryAfterSeconds)
{
    public string? Value { get; init; }

    public string? CallsUrl { get; init; }

    /// <summary>The audio codec the SDP answer chose, e.g. <c>PCMU/8000</c> (a successful exchange only).</summary>
    public string? Codec { get; init; }

    /// <summary>Whether the browser applied the codec order (<c>setCodecPreferences</c>); false leaves its default order.</summary>
    public bool CodecOrderApplied { get; init; }

    /// <summary>The HTTP exchange behind this result (none when the step failed before sending, e.g. the microphone).</summary>
    public HttpStep? Step { get; init; }

    public bool IsQuotaExhausted => Code == "insufficient_quota";

    public bool IsRateLimited => Status == 429 || Code == "rate_limit_exceeded";

    /// <summary>The reason in words, with the server's own message.</summary>
    public string Describe(string step) => Status switch
    {
        0 => Message ?? $"{step} failed.",
        _ when IsQuotaExhausted => $"The account's quota is used up ({Message}). Retrying will not help: check the plan and billing.",
        _ when IsRateLimited => $"Rate limited while {step}: {StatedBudget().Replace(WithoutWaits(Message), "")}",
        _ => $"{step} failed: HTTP {Status}{(Code is null ? "" : $" {Code}")}: {Message}",
    };

    /// <summary>The message without its "try again in …" sentences: the page names the one wait it keeps to itself.</summary>
    public static string WithoutWaits(string? message) => message is null ? "" : WaitSentence().Replace(message, "").Trim();

    [GeneratedRegex(@"\s*(Please )?try again in [0-9.]+ ?(ms|s|seconds?)\b\.?", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex WaitSentence();

    // The broker names its budget ("(60/min)", "(20/min, learned from upstream)"); the page's limit-in-force line says it
    // once, with what is left and where it was learned, so a refusal never states the limit twice.
    [GeneratedRegex(@"\s*\(\d+/min\b[^)]*\)", RegexOptions.CultureInvariant)]
    private static partial Regex StatedBudget();
}

/// <summary>One HTTP request of a connect as the browser saw it: the request id is the upstream one the server named, if any.</summary>
public sealed record HttpStep(string Method, string Url, int Status, double ElapsedMs, string? RequestId);

/// <summary>One piece of a server event from the browser (a long event arrives in several pieces).</summary>
public sealed record ServerEventChunk(string Json, long At, bool Continues);

public sealed record AudioLevels(double Input, double Output);

public sealed record ConnectionStats(double? RoundTripMs, double? JitterMs, long? PacketsLost, string? Codec);

public sealed record MicrophoneInfo(string DeviceId, string Label);
