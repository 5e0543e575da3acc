using RealtimeConsole.Simulator;

namespace RealtimeConsole.Bench;

/// <summary>A fault switched on at <see cref="At"/> for <see cref="Duration"/> (simulated time from the start).</summary>
public sealed record ScheduledFault(TimeSpan At, SimulatorFaultKind Kind, TimeSpan Duration);

/// <summary>The demand every strategy faces: arrival offsets, upstream faults, and another consumer of the same organization.</summary>
public sealed record BenchScenario(string Name, string Description, IReadOnlyList<TimeSpan> Arrivals, IReadOnlyList<ScheduledFault> Faults, TimeSpan? OtherConsumerInterval)
{
    public const int QuotaPerMinute = 60;

    public static readonly string[] Names = ["burst", "steady", "storm", "quota", "shared-org"];

    /// <summary>How far the clock runs past the last arrival for late retries to finish.</summary>
    public static readonly TimeSpan Tail = TimeSpan.FromSeconds(120);

    public TimeSpan LastArrival => Arrivals.Count == 0 ? TimeSpan.Zero : Arrivals[^1];

    public ScheduledFault? Storm => Faults.FirstOrDefault(f => f.Kind == SimulatorFaultKind.RateLimitStorm);

    public ScheduledFault? QuotaFault => Faults.FirstOrDefault(f => f.Kind == SimulatorFaultKind.InsufficientQuota);

    /// <summary>Mints the organization's quota allowed this app while users arrived: a full bucket plus the refill (halved when shared).</summary>
    public double QuotaAllowance
    {
        get
        {
            var allowance = QuotaPerMinute + QuotaPerMinute * LastArrival.TotalMinutes;
            return OtherConsumerInterval is null ? allowance : allowance / 2;
        }
    }

    public static BenchScenario Create(string name, TimeSpan steadyLength) => name switch
    {
        "burst" => new(name, $"{2 * QuotaPerMinute} users (2× the per-minute quota) within 1 s", Spread(2 * QuotaPerMinute, TimeSpan.FromSeconds(1)), [], null),
        "steady" => new(name, $"0.8× quota arrivals for {steadyLength.TotalMinutes:0.#} min", Steady(steadyLength), [], null),
        "storm" => new(name, $"steady for {steadyLength.TotalMinutes:0.#} min, upstream forcing 429s for 20 s in the middle", Steady(steadyLength),
            [new ScheduledFault(steadyLength / 2 - TimeSpan.FromSeconds(10), SimulatorFaultKind.RateLimitStorm, TimeSpan.FromSeconds(20))], null),
        "quota" => new(name, "0.8× quota arrivals for 12 min (past the broker's 10 min secret), insufficient_quota from the 30th second", Steady(TimeSpan.FromMinutes(12)),
            [new ScheduledFault(TimeSpan.FromSeconds(30), SimulatorFaultKind.InsufficientQuota, TimeSpan.FromHours(1))], null),
        "shared-org" => new(name, $"steady for {steadyLength.TotalMinutes:0.#} min while another consumer of the organization uses half the quota", Steady(steadyLength), [],
            TimeSpan.FromMinutes(1) / (QuotaPerMinute / 2)),
        _ => throw new ArgumentException($"Unknown scenario '{name}'. Use one of: {string.Join(", ", Names)}, all.", nameof(name)),
    };

    private static TimeSpan[] Spread(int users, TimeSpan within) =>
        Enumerable.Range(0, users).Select(i => within * i / users).ToArray();

    private static TimeSpan[] Steady(TimeSpan length)
    {
        var gap = TimeSpan.FromMinutes(1) / (0.8 * QuotaPerMinute);
        return Enumerable.Range(0, (int)(length / gap)).Select(i => gap * i).ToArray();
    }
}
