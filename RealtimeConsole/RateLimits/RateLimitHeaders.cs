using System.Globalization;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;

namespace RealtimeConsole.RateLimits;

/// <summary>The <c>x-ratelimit-*-requests</c> values of one upstream answer (any may be missing).</summary>
public sealed partial record RateLimitHeaders(int? LimitRequests, int? RemainingRequests, TimeSpan? ResetRequests)
{
    public static readonly RateLimitHeaders None = new(null, null, null);

    public bool IsEmpty => LimitRequests is null && RemainingRequests is null && ResetRequests is null;

    public static RateLimitHeaders From(HttpResponseHeaders headers) => new(
        ReadInt(headers, "x-ratelimit-limit-requests"),
        ReadInt(headers, "x-ratelimit-remaining-requests"),
        headers.TryGetValues("x-ratelimit-reset-requests", out var values) ? ParseDuration(values.FirstOrDefault()) : null);

    /// <summary>Parses OpenAI's Go-style durations: <c>1s</c>, <c>12ms</c>, <c>6m0s</c>, <c>1h2m3.5s</c>.</summary>
    public static TimeSpan? ParseDuration(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var matches = DurationPart().Matches(text.Trim());
        if (matches.Count == 0 || matches.Sum(m => m.Length) != text.Trim().Length)
        {
            return null;
        }

        var total = TimeSpan.Zero;
        foreach (Match match in matches)
        {
            var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            total += match.Groups[2].Value switch
            {
                "h" => TimeSpan.FromHours(value),
                "m" => TimeSpan.FromMinutes(value),
                "s" => TimeSpan.FromSeconds(value),
                "ms" => TimeSpan.FromMilliseconds(value),
                _ => TimeSpan.FromMicroseconds(value),
            };
        }

        return total;
    }

    private static int? ReadInt(HttpResponseHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) && int.TryParse(values.FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= 0
            ? value
            : null;

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(ms|us|µs|h|m|s)")]
    private static partial Regex DurationPart();
}
