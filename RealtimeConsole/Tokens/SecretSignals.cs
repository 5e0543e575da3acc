namespace RealtimeConsole.Tokens;

/// <summary>Where a handed-out secret came from.</summary>
public enum SecretSource
{
    Cache,
    Minted,
    JoinedMint,
    Pool,
}

/// <summary>
/// What the secret broker publishes as it works: secrets served, mints, the pool's level, mode changes. The broker knows
/// nothing of who listens (the dashboard's telemetry, metrics); listeners subscribe here.
/// </summary>
public sealed class SecretSignals
{
    /// <summary>A secret was handed to a caller. Raised on every request (the hot path): listeners must be cheap.</summary>
    public event Action<SecretMode, ClientSecret, SecretSource>? Served;

    /// <summary>A mint ended: succeeded or not, how long it took, and the secret when it went to a caller (not into the pool).</summary>
    public event Action<bool, TimeSpan, ClientSecret?>? MintFinished;

    public event Action<int>? PoolLevelChanged;

    /// <summary>A shared secret was refused upstream as reused (a single-use upstream) and replaced by one fresh mint.</summary>
    public event Action? ReusedSecretReplaced;

    /// <summary>The mode now in force, and the pool's target size.</summary>
    public event Action<SecretMode, int>? ModeChanged;

    /// <summary>The last mode announced (listeners created after the broker read it here).</summary>
    public (SecretMode Mode, int PoolTarget) CurrentMode { get; private set; }

    internal void OnServed(SecretMode mode, ClientSecret secret, SecretSource source) => Served?.Invoke(mode, secret, source);

    internal void OnMintFinished(bool succeeded, TimeSpan latency, ClientSecret? handedOut) => MintFinished?.Invoke(succeeded, latency, handedOut);

    internal void OnPoolLevelChanged(int level) => PoolLevelChanged?.Invoke(level);

    internal void OnReusedSecretReplaced() => ReusedSecretReplaced?.Invoke();

    internal void OnModeChanged(SecretMode mode, int poolTarget)
    {
        CurrentMode = (mode, poolTarget);
        ModeChanged?.Invoke(mode, poolTarget);
    }
}
