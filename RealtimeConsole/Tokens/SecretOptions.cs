using System.ComponentModel.DataAnnotations;

namespace RealtimeConsole.Tokens;

/// <summary>The <c>Realtime</c> configuration section as the secret broker reads it: mode, lifetimes, refresh, pool, the default session.</summary>
public sealed class SecretOptions
{
    public const string Section = "Realtime";

    public SecretMode SecretMode { get; set; } = SecretMode.PerSession;

    [Range(10, 7200)]
    public int SecretLifetimeSeconds { get; set; } = 600;

    /// <summary>RefreshOn = ExpiresOn minus this fraction of the lifetime (so a 600 s secret refreshes 120 s early).</summary>
    [Range(0.01, 0.9)]
    public double RefreshMarginFraction { get; set; } = 0.2;

    /// <summary>Spread of the refresh point, as a fraction of the margin, so instances do not refresh together.</summary>
    [Range(0.0, 0.5)]
    public double RefreshJitterFraction { get; set; } = 0.1;

    /// <summary>No secret is handed out with less life than this.</summary>
    public TimeSpan MinimumSecretLife { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>After a failed background refresh, when to try again (the old secret keeps serving).</summary>
    public TimeSpan FailedRefreshRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    [Range(1, 50)]
    public int PoolSize { get; set; } = 3;

    [Required]
    public string Model { get; set; } = "gpt-realtime";

    [Required]
    public string Voice { get; set; } = "marin";

    public string Instructions { get; set; } = "You are a helpful, concise voice assistant.";
}
