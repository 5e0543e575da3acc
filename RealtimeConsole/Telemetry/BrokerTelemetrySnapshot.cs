using System.Text.Json.Serialization;
using RealtimeConsole.RateLimits;
using RealtimeConsole.Tokens;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Telemetry;

/// <summary>Everything the live panels show, frozen at <see cref="CapturedAt"/>. Immutable; ask <see cref="BrokerTelemetry.GetSnapshot"/> for a new one.</summary>
public sealed record BrokerTelemetrySnapshot(
    DateTimeOffset CapturedAt,
    SecretSnapshot Secret,
    SecretCounters Counters,
    IReadOnlyList<ResourceSnapshot> Resources,
    BackoffState Backoff,
    RateLimitEvent? Last429,
    IReadOnlyList<UpstreamCallRecord> RecentCalls)
{
    /// <summary>The last 429 that upstream itself answered, kept when a later local refusal becomes <see cref="Last429"/>.</summary>
    public RateLimitEvent? LastUpstream429 { get; init; }

    /// <summary>Where the broker's state lives and whether it is reachable (set by the feed; null from an older instance).</summary>
    public StoreSnapshot? Store { get; init; }

    /// <summary>The deployment's live instances, in <c>/api/telemetry</c> only (a published snapshot does not repeat the list).</summary>
    public IReadOnlyList<DeploymentInstanceRow>? Instances { get; init; }
}

/// <summary>The secret most recently handed out (Shared: the cached one), and the pool level.</summary>
public sealed record SecretSnapshot(
    SecretMode Mode,
    DateTimeOffset? MintedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? RefreshOn,
    double? AgeSeconds,
    int PoolLevel,
    int PoolTarget);

public sealed record SecretCounters(
    long Mints,
    long MintFailures,
    long CacheHits,
    long CacheMisses,
    long SingleFlightJoins,
    double? HitRatio,
    double? LastMintLatencyMs)
{
    /// <summary>Shared secrets refused upstream as already used (a single-use upstream) and replaced once each.</summary>
    public long ReusedSecretsReplaced { get; init; }
}

/// <summary>One upstream resource: answers by HTTP status (0 = no answer), retries, local refusals, last x-ratelimit-* and the local budget.</summary>
public sealed record ResourceSnapshot(
    string Resource,
    IReadOnlyDictionary<string, long> CountsByStatus,
    long Retries,
    long RefusedLocally,
    IReadOnlyList<RateLimitValues> LastRateLimits,
    long? BudgetAvailable,
    int? BudgetPerMinute,
    long BudgetQueued,
    DateTimeOffset? BudgetHeldUntil)
{
    /// <summary>Where the budget's limit comes from: <c>guess</c> (configured, upstream not heard yet), <c>upstream</c>, or <c>upstream-silent</c>.</summary>
    public string? BudgetLimitSource { get; init; }
}

/// <summary>Last seen limit for one counter (<c>requests</c> or <c>tokens</c>), from headers or the browser's <c>rate_limits.updated</c>.</summary>
public sealed record RateLimitValues(string Name, int? Limit, int? Remaining, double? ResetSeconds, DateTimeOffset At, string Source);

public enum BackoffKind
{
    Idle,
    WaitingForBudget,
    Retrying,
    CoolingDown,
    CircuitOpen,
    QuotaExhausted,
}

/// <summary>
/// What the broker is waiting for right now. Retrying: attempt <see cref="Attempt"/> of <see cref="MaxAttempts"/> at <see cref="Until"/>;
/// CoolingDown: until <see cref="Until"/> because <see cref="Reason"/>; CircuitOpen: until <see cref="Until"/>; QuotaExhausted: next re-check at <see cref="Until"/>.
/// </summary>
public sealed record BackoffState(
    [property: JsonConverter(typeof(JsonStringEnumConverter<BackoffKind>))] BackoffKind Kind,
    int? Attempt = null,
    int? MaxAttempts = null,
    DateTimeOffset? Until = null,
    string? Reason = null)
{
    public static readonly BackoffState Idle = new(BackoffKind.Idle);
}

/// <summary>The last 429 (from upstream or refused locally) with its error code and upstream x-request-id.</summary>
public sealed record RateLimitEvent(DateTimeOffset At, string Resource, string Code, string Message, string? UpstreamRequestId, bool FromUpstream);
