using System.Text.RegularExpressions;

namespace RealtimeConsole.Simulator.Media.Realtime;

/// <summary>Word matching for scripted tool calls: "highlight" must not match "light".</summary>
internal static class WholeWords
{
    public static bool Contains(string text, string word) =>
        word.Length > 0 && Regex.IsMatch(text, $@"(?<![\p{{L}}\p{{N}}]){Regex.Escape(word)}(?![\p{{L}}\p{{N}}])", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
}
