namespace RealtimeConsole.Simulator;

/// <summary>A named set of limits and faults, loadable from the page and <c>POST /simulator/admin/presets/{name}</c>.</summary>
public sealed record SimulatorPreset(string Name, string Title, string Description, Action<SimulatorRateLimiter, SimulatorFaults> Apply);

/// <summary>The presets: the configured defaults, a free tier, tier 1, a 429 storm and exhausted quota.</summary>
public sealed class SimulatorPresets(SimulatorRateLimiter limiter, SimulatorFaults faults)
{
    public static readonly IReadOnlyList<SimulatorPreset> All =
    [
        new("defaults", "Defaults", "The configured limits (Simulator:RequestsPerMinute), full buckets, no faults.", (l, f) =>
        {
            f.Clear();
            l.RestoreDefaultLimits();
        }),
        new("free", "Free tier", "3 requests per minute on every resource, no faults.", (l, f) => SetAll(l, f, 3)),
        new("tier-1", "Tier 1", "200 requests per minute on every resource, no faults.", (l, f) => SetAll(l, f, 200)),
        new("429-storm", "429 storm", "Every request answers 429 rate_limit_exceeded for 60 seconds.", (_, f) =>
            f.Activate(SimulatorFaultKind.RateLimitStorm, TimeSpan.FromSeconds(60))),
        new("exhausted-quota", "Exhausted quota", "Every request answers 429 insufficient_quota for an hour (retrying never helps).", (_, f) =>
            f.Activate(SimulatorFaultKind.InsufficientQuota, TimeSpan.FromHours(1))),
    ];

    /// <summary>Applies the preset named <paramref name="name"/>; false when there is none.</summary>
    public bool TryApply(string name)
    {
        foreach (var preset in All)
        {
            if (string.Equals(preset.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                preset.Apply(limiter, faults);
                return true;
            }
        }

        return false;
    }

    private static void SetAll(SimulatorRateLimiter limiter, SimulatorFaults faults, int requestsPerMinute)
    {
        faults.Clear();
        foreach (var resource in SimulatorResources.All)
        {
            limiter.SetLimit(resource, requestsPerMinute);
        }
    }
}
