using RealtimeConsole.Simulator;

namespace RealtimeConsole.Bench;

/// <summary>A fault switched on at <see cref="At"/> for <see cref="Duration"/> (simulated time from the start).</summary>
public sealed record ScheduledFault(TimeSpan At, SimulatorFaultKind Kind, TimeSpan Duration);

/// <summary>
/// The demand every strategy faces: arrival offsets, upstream faults, and another consumer of the same organization.
/// <see cref="QuotaPerMinute"/> is the organization's real limit per resource (client secrets and calls alike);
/// <see cref="GuessPerMinute"/> is what the strategies were configured with (the same, except in the unknown-limit scenarios).
/// </summary>
public sealed record BenchScenario(string Name, string Description, int QuotaPerMinute, IReadOnlyList<TimeSpan> Arrivals, IReadOnlyList<ScheduledFault> Faults, TimeSpan? OtherConsumerInterval)
{
    public const int DefaultQuotaPerMinute = 60;

    /// <summary>Responses each connected session asks for (voice turns), counted against the organization's responses limit.</summary>
    public const int ResponsesPerSession = 2;

    /// <summary>The time between a session's responses.</summary>
    public static readonly TimeSpan ResponseGap = TimeSpan.FromSeconds(10);

    public int GuessPerMinute { get; init; } = -1;

    /// <summary>The configured guess the strategies start from.</summary>
    public int ConfiguredPerMinute => GuessPerMinute > 0 ? GuessPerMinute : QuotaPerMinute;

    /// <summary>The simulated runs' lengths: steady, storm and shared-org 10 min; quota 12 min (past the broker's 10 min secret).</summary>
    public static readonly TimeSpan DefaultSteadyLength = TimeSpan.FromMinutes(10);

    public static readonly TimeSpan DefaultQuotaLength = TimeSpan.FromMinutes(12);

    public static readonly string[] Names = ["burst", "steady", "storm", "quota", "shared-org", "unknown-limit", "unknown-limit-low"];

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

    /// <summary>
    /// The scenario <paramref name="name"/>: steady, storm and shared-org last <paramref name="steadyLength"/>, quota lasts
    /// <paramref name="quotaLength"/>; the organization allows <paramref name="quotaPerMinute"/> mints a minute.
    /// </summary>
    public static BenchScenario Create(string name, TimeSpan steadyLength, TimeSpan quotaLength, int quotaPerMinute = DefaultQuotaPerMinute) => name switch
    {
        "burst" => new(name, $"{2 * quotaPerMinute} users (2× the per-minute quota) within 1 s", quotaPerMinute, Spread(2 * quotaPerMinute, TimeSpan.FromSeconds(1)), [], null),
        "steady" => new(name, $"0.8× quota arrivals for {Minutes(steadyLength)} min", quotaPerMinute, Steady(steadyLength, quotaPerMinute), [], null),
        "storm" => new(name, $"steady for {Minutes(steadyLength)} min, upstream forcing 429s for 20 s in the middle", quotaPerMinute, Steady(steadyLength, quotaPerMinute),
            [new ScheduledFault(steadyLength / 2 - TimeSpan.FromSeconds(10), SimulatorFaultKind.RateLimitStorm, TimeSpan.FromSeconds(20))], null),
        // Configured 60 where the organization's real limit is 20 (a third): 1.5× the real limit arrives.
        "unknown-limit" => new(name, $"guess {quotaPerMinute}/min, real limit {Third(quotaPerMinute)}/min; 1.5× the real limit arrives for {Minutes(steadyLength)} min", Third(quotaPerMinute),
            Steady(steadyLength, Third(quotaPerMinute), 1.5), [], null) { GuessPerMinute = quotaPerMinute },
        // The reverse: configured a third of the real limit.
        "unknown-limit-low" => new(name, $"guess {Third(quotaPerMinute)}/min, real limit {quotaPerMinute}/min; 1.5× the real limit arrives for {Minutes(steadyLength)} min", quotaPerMinute,
            Steady(steadyLength, quotaPerMinute, 1.5), [], null) { GuessPerMinute = Third(quotaPerMinute) },
        "quota" => new(name, $"0.8× quota arrivals for {Minutes(quotaLength)} min, insufficient_quota from the 30th second", quotaPerMinute, Steady(quotaLength, quotaPerMinute),
            [new ScheduledFault(TimeSpan.FromSeconds(30), SimulatorFaultKind.InsufficientQuota, TimeSpan.FromHours(1))], null),
        "shared-org" => new(name, $"steady for {Minutes(steadyLength)} min while another consumer of the organization uses half the quota", quotaPerMinute,
            Steady(steadyLength, quotaPerMinute), [], TimeSpan.FromMinutes(1) / (quotaPerMinute / 2.0)),
        _ => throw new ArgumentException($"Unknown scenario '{name}'. Use one of: {string.Join(", ", Names)}, all.", nameof(name)),
    };

    private static string Minutes(TimeSpan length) => length.TotalMinutes.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture);

    private static TimeSpan[] Spread(int users, TimeSpan within) =>
        Enumerable.Range(0, users).Select(i => within * i / users).ToArray();

    private static int Third(int quotaPerMinute) => Math.Max(1, quotaPerMinute / 3);

    private static TimeSpan[] Steady(TimeSpan length, int quotaPerMinute, double share = 0.8)
    {
        var gap = TimeSpan.FromMinutes(1) / (share * quotaPerMinute);
        return Enumerable.Range(0, (int)(length / gap)).Select(i => gap * i).ToArray();
    }
}

/// <summary>
/// How much demand the bench puts up and on which clock. Simulated runs take the issue's lengths (10 min, quota 12 min);
/// real time over loopback defaults to 1-minute scenarios so that a run stays practical, and says so.
/// </summary>
public sealed record BenchDemand(bool RealTime)
{
    public const string RealTimeFlag = "--real-time";

    /// <summary>Length of steady, storm and shared-org (and, in real time, quota) in minutes; null for the default.</summary>
    public int? Minutes { get; init; }

    public int QuotaPerMinute { get; init; } = BenchScenario.DefaultQuotaPerMinute;

    public TimeSpan SteadyLength => Minutes is { } minutes ? TimeSpan.FromMinutes(minutes) : RealTime ? TimeSpan.FromMinutes(1) : BenchScenario.DefaultSteadyLength;

    public TimeSpan QuotaLength => RealTime ? SteadyLength : BenchScenario.DefaultQuotaLength;

    public BenchScenario Scenario(string name) => BenchScenario.Create(name, SteadyLength, QuotaLength, QuotaPerMinute);

    /// <summary>The line the bench prints first: which clock, and what was scaled from the issue's demand.</summary>
    public string Describe()
    {
        var quota = QuotaPerMinute == BenchScenario.DefaultQuotaPerMinute ? "" : $"; quota scaled to {QuotaPerMinute}/min (burst {2 * QuotaPerMinute} users)";
        return RealTime
            ? $"real time: loopback HTTP to the simulator on 127.0.0.1 (system clock, {BenchWorld.UpstreamLatency.TotalMilliseconds:0} ms upstream latency waited for real); "
                + $"steady, storm, shared-org and quota scaled to {SteadyLength.TotalMinutes:0} min (simulated runs: 10 and 12 min; set with --steady-minutes){quota}"
            : $"simulated time: one fake clock, {BenchRunner.Step.TotalMilliseconds:0} ms steps; steady, storm and shared-org {SteadyLength.TotalMinutes:0} min, quota {QuotaLength.TotalMinutes:0} min{quota}";
    }
}
