namespace RealtimeConsole.Tokens;

/// <summary>
/// An ephemeral client secret as upstream issued it. Immutable; every decision is a predicate taking <c>now</c>.
/// <see cref="ExpiresOn"/> is upstream's <c>expires_at</c>, never a local guess (the forum post's 55 s guess was the bug).
/// </summary>
public sealed record ClientSecret(string Value, DateTimeOffset MintedOn, DateTimeOffset ExpiresOn, DateTimeOffset RefreshOn, string ConfigurationKey)
{
    public TimeSpan Lifetime => ExpiresOn - MintedOn;

    public TimeSpan RemainingLife(DateTimeOffset now) => ExpiresOn - now;

    /// <summary>May be handed to a browser: it still has at least <paramref name="minimumLife"/> to open a session.</summary>
    public bool IsUsable(DateTimeOffset now, TimeSpan minimumLife) => RemainingLife(now) >= minimumLife;

    /// <summary>Past its refresh point: keep serving it, but mint its successor in the background.</summary>
    public bool NeedsBackgroundRefresh(DateTimeOffset now) => now >= RefreshOn;

    /// <summary>
    /// RefreshOn = ExpiresOn − margin, where margin = <paramref name="marginFraction"/> of the lifetime, spread by
    /// ±<paramref name="jitterFraction"/> of itself (<paramref name="jitterSample"/> in [0,1)), and never so late that
    /// less than <paramref name="minimumLife"/> would be left, nor before it was minted.
    /// </summary>
    public static ClientSecret FromUpstream(
        string value, DateTimeOffset mintedOn, DateTimeOffset expiresOn, string configurationKey,
        double marginFraction, double jitterFraction, double jitterSample, TimeSpan minimumLife)
    {
        var lifetime = expiresOn - mintedOn;
        var margin = lifetime * marginFraction * (1 + (jitterFraction * ((2 * jitterSample) - 1)));
        if (margin < minimumLife)
        {
            margin = minimumLife;
        }

        var refreshOn = expiresOn - margin;
        if (refreshOn < mintedOn)
        {
            refreshOn = mintedOn;
        }

        return new ClientSecret(value, mintedOn, expiresOn, refreshOn, configurationKey);
    }
}
