using System.ComponentModel.DataAnnotations;

namespace RealtimeConsole.Upstream;

/// <summary>The <c>Realtime</c> configuration section as the upstream gate reads it: where upstream is, budgets, retries, circuit, door. Secret settings live in <c>SecretOptions</c>.</summary>
public sealed class RealtimeOptions
{
    public const string Section = "Realtime";

    /// <summary>Upstream base URL (e.g. <c>https://api.openai.com/v1</c>); empty means the embedded simulator when no key is set.</summary>
    public string? BaseUrl { get; set; }

    /// <summary>How long a caller may wait for budget or a cooldown before getting a 429.</summary>
    public TimeSpan MaxQueueWait { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Client-side budget per upstream resource, in requests per minute (corrected from x-ratelimit-* headers).</summary>
    [Range(1, 100_000)]
    public int ClientSecretsPerMinute { get; set; } = 60;

    [Range(1, 100_000)]
    public int CallsPerMinute { get; set; } = 60;

    /// <summary>Retry attempts after the first try, for transient failures only.</summary>
    [Range(0, 10)]
    public int MaxRetryAttempts { get; set; } = 2;

    public TimeSpan BaseRetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Retry-After longer than this is not waited out: the caller is told how long instead.</summary>
    public TimeSpan RetryAfterCap { get; set; } = TimeSpan.FromSeconds(120);

    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Upper bound of the random spread added when a shared cooldown releases its waiters.</summary>
    public TimeSpan CooldownReleaseJitter { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>After insufficient_quota, nothing is sent upstream until this passes.</summary>
    public TimeSpan QuotaRecheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    [Range(0.1, 1.0)]
    public double CircuitFailureRatio { get; set; } = 0.5;

    [Range(2, 1000)]
    public int CircuitMinimumThroughput { get; set; } = 8;

    public TimeSpan CircuitSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Per-client limit at the door (per signed-in user, else per IP address).</summary>
    [Range(1, 100_000)]
    public int DoorPermitsPerMinute { get; set; } = 30;

}
