namespace RealtimeConsole.Tokens;

/// <summary>
/// What an SDP offer must hold before the broker spends an upstream request on it: a session version and origin, an audio
/// media section, ICE credentials, a DTLS fingerprint, and an offerer's DTLS role (RFC 8842: <c>actpass</c> in an offer).
/// Anything less would be refused upstream after costing a request against the organization's limit.
/// </summary>
public static class SdpOfferCheck
{
    /// <summary>Why <paramref name="sdp"/> is not a usable offer, in words a person understands; null when it is.</summary>
    public static string? Problem(string sdp)
    {
        var lines = sdp.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        if (lines.Length == 0 || lines[0] != "v=0")
        {
            return "it must start with the line \"v=0\"";
        }

        if (!lines.Any(l => l.StartsWith("o=", StringComparison.Ordinal)))
        {
            return "it has no origin (\"o=\") line";
        }

        if (!lines.Any(l => l.StartsWith("m=audio ", StringComparison.Ordinal)))
        {
            return "it has no audio media section (\"m=audio\")";
        }

        if (!lines.Any(l => l.StartsWith("a=ice-ufrag:", StringComparison.Ordinal)) || !lines.Any(l => l.StartsWith("a=ice-pwd:", StringComparison.Ordinal)))
        {
            return "it has no ICE credentials (\"a=ice-ufrag\" and \"a=ice-pwd\")";
        }

        if (!lines.Any(l => l.StartsWith("a=fingerprint:", StringComparison.Ordinal)))
        {
            return "it has no DTLS fingerprint (\"a=fingerprint\")";
        }

        if (lines.FirstOrDefault(l => l.StartsWith("a=setup:", StringComparison.Ordinal)) is { } setup && setup != "a=setup:actpass")
        {
            return $"it is an answer, not an offer (\"{setup}\"; an offer says \"a=setup:actpass\")";
        }

        return null;
    }
}
