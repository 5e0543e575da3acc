using System.Globalization;

namespace RealtimeConsole.Simulator;

/// <summary>OpenAI's duration form in <c>x-ratelimit-reset-*</c> headers and 429 messages (Go's: <c>12ms</c>, <c>1s</c>, <c>1.5s</c>, <c>6m0s</c>).</summary>
public static class OpenAiDuration
{
    /// <summary>Formats <paramref name="value"/>, rounded up to the millisecond.</summary>
    public static string Format(TimeSpan value) => FormatMilliseconds(CeilingMilliseconds(value));

    /// <summary>Whole milliseconds, rounded up, never negative.</summary>
    public static long CeilingMilliseconds(TimeSpan value) =>
        value <= TimeSpan.Zero ? 0 : (value.Ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond;

    public static string FormatMilliseconds(long milliseconds)
    {
        if (milliseconds <= 0)
        {
            return "0s";
        }

        if (milliseconds < 1000)
        {
            return milliseconds.ToString(CultureInfo.InvariantCulture) + "ms";
        }

        var hours = milliseconds / 3_600_000;
        var minutes = milliseconds / 60_000 % 60;
        var secondsMs = milliseconds % 60_000;
        var seconds = (secondsMs / 1000).ToString(CultureInfo.InvariantCulture);
        var fraction = secondsMs % 1000;
        if (fraction != 0)
        {
            seconds += "." + fraction.ToString("000", CultureInfo.InvariantCulture).TrimEnd('0');
        }

        if (hours > 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{hours}h{minutes}m{seconds}s");
        }

        return minutes > 0 ? string.Create(CultureInfo.InvariantCulture, $"{minutes}m{seconds}s") : seconds + "s";
    }
}
