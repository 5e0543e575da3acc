using System.Text.RegularExpressions;

namespace RealtimeConsole.Upstream;

/// <summary>
/// Upstream error messages are passed on to browsers and the dashboard, so nothing of the server's key may be in them:
/// neither the key itself nor OpenAI's masked form of it (<c>sk-pr****WXYZ</c>), which still names its first and last characters.
/// </summary>
public static partial class ApiKeyRedaction
{
    public const string Placeholder = "[server key]";

    public static string Redact(string message, string apiKey)
    {
        var redacted = apiKey.Length > 0 ? message.Replace(apiKey, Placeholder, StringComparison.Ordinal) : message;
        return KeyLike().Replace(redacted, Placeholder);
    }

    /// <summary><c>sk-</c> and the key characters after it, whole, cut (…) or starred, without a sentence's closing period.</summary>
    [GeneratedRegex(@"\bsk-[\w*.…-]*[\w*…]")]
    private static partial Regex KeyLike();
}
