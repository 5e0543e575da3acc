using System.Globalization;

namespace RealtimeConsole.Telemetry;

/// <summary>The words the dashboard and the watcher use for the backoff state and countdowns.</summary>
public static class TelemetryText
{
    /// <summary>"12 s", "4:05", "1:02:03"; never negative.</summary>
    public static string Duration(TimeSpan span)
    {
        // Whole seconds rounded up, so "in 1 s" shows until the moment itself.
        span = TimeSpan.FromSeconds(Math.Ceiling(Math.Max(0, span.TotalSeconds)));

        return span.TotalSeconds < 60 ? $"{span.TotalSeconds:0} s"
            : span.TotalHours < 1 ? span.ToString(@"m\:ss", CultureInfo.InvariantCulture)
            : span.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture);
    }

    public static string Clock(DateTimeOffset at) => at.ToString("HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    public static string Title(BackoffState backoff) => backoff.Kind switch
    {
        BackoffKind.Idle => "Idle",
        BackoffKind.WaitingForBudget => "Waiting for budget",
        BackoffKind.Retrying => $"Retrying (attempt {backoff.Attempt} of {backoff.MaxAttempts})",
        BackoffKind.CoolingDown => "Cooling down after a 429",
        BackoffKind.CircuitOpen => "Circuit open",
        _ => "Quota exhausted",
    };

    /// <summary>One sentence: what the broker waits for, until when, and why.</summary>
    public static string Explain(BackoffState backoff, DateTimeOffset now)
    {
        var until = backoff.Until is { } at ? $"{Clock(at)} (in {Duration(at - now)})" : null;
        return backoff.Kind switch
        {
            BackoffKind.Idle => "Requests go straight upstream.",
            BackoffKind.WaitingForBudget => "The local budget is used up; callers queue until it refills.",
            BackoffKind.Retrying => $"Next retry of {backoff.Reason} at {until ?? "once the delay passes"}.",
            BackoffKind.CoolingDown => $"Every caller waits until {until}: {Sentence(backoff.Reason)}",
            BackoffKind.CircuitOpen => $"Requests are held back until {until ?? "the breaker tries again"}: {Sentence(backoff.Reason)}",
            _ => $"Upstream answered insufficient_quota; the next re-check is at {until ?? "the next request"}.",
        };
    }

    /// <summary>"200×5 429×2" for the counts by HTTP status (0 = no answer).</summary>
    public static string Counts(IReadOnlyDictionary<string, long> byStatus) => byStatus.Count == 0
        ? "none"
        : string.Join(' ', byStatus.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{(s.Key == "0" ? "no answer" : s.Key)}×{s.Value}"));

    /// <summary>The whole state on one line, for the terminal watcher.</summary>
    public static string Line(DashboardState state)
    {
        var s = state.Snapshot;
        var now = s.CapturedAt;
        var secret = s.Secret.ExpiresAt is { } expires
            ? $"secret age {Duration(TimeSpan.FromSeconds(s.Secret.AgeSeconds ?? 0))}, refresh in {Duration((s.Secret.RefreshOn ?? expires) - now)}, expires in {Duration(expires - now)}"
            : "no secret yet";
        var hit = s.Counters.HitRatio is { } ratio ? $"{ratio:P0}" : "n/a";
        var resources = string.Join(" | ", s.Resources.Where(r => r.CountsByStatus.Count > 0 || r.BudgetPerMinute is not null)
            .Select(r => $"{r.Resource} {Counts(r.CountsByStatus)}" + (r.BudgetPerMinute is { } per ? $" budget {r.BudgetAvailable}/{per} queued {r.BudgetQueued}" : "")));
        var last429 = s.Last429 is { } e ? $" | last 429 {e.Code} at {Clock(e.At)} {e.UpstreamRequestId}".TrimEnd() : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{Clock(now)} [{s.Backoff.Kind}] {Title(s.Backoff)}: {Explain(s.Backoff, now)} | {s.Secret.Mode}, {secret} | mints {s.Counters.Mints}, hit ratio {hit}, joins {s.Counters.SingleFlightJoins} | {resources}{last429}");
    }

    /// <summary>How long the page keeps saying the shared store recovered after it answers again.</summary>
    public static readonly TimeSpan RecoveredNoticeFor = TimeSpan.FromMinutes(5);

    /// <summary>The shared store's banner: unreachable (and on what share), recently recovered, or nothing to say (null).</summary>
    public static string? StoreBanner(StoreSnapshot? store, DateTimeOffset now)
    {
        if (store is { UnreachableSince: { } since })
        {
            var shares = store.LocalSharePerMinute.Count == 0
                ? "running on this instance's own budget"
                : "running on a local share of " + string.Join(" and ", store.LocalSharePerMinute.OrderBy(s => s.Key, StringComparer.Ordinal)
                    .Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Value}/min ({s.Key})")));
            return $"Shared store unreachable since {Clock(since)}, {shares}. Still-valid secrets keep being served; the instance rejoins when the store answers.";
        }

        if (store is { RecoveredAt: { } recovered, LastOutageSince: { } began } && now - recovered < RecoveredNoticeFor)
        {
            return $"Shared store recovered at {Clock(recovered)} after {Duration(recovered - began)} unreachable; this instance shares the deployment's budgets again.";
        }

        return null;
    }

    // Upstream messages usually end with a full stop already; never print two.
    private static string Sentence(string? text) => string.IsNullOrEmpty(text) ? "" : text.EndsWith('.') ? text : text + ".";
}
