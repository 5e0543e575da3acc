using RealtimeConsole.Tokens;

namespace RealtimeConsole.Tests.Tokens;

public sealed class ClientSecretTests
{
    private static readonly DateTimeOffset Minted = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan MinimumLife = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(0.5, 120)]
    [InlineData(0.0, 108)]
    [InlineData(0.999999, 132)]
    public void RefreshOn_is_expiry_minus_a_jittered_fraction_of_the_lifetime(double jitterSample, int marginSeconds)
    {
        var secret = ClientSecret.FromUpstream("ek", Minted, Minted.AddSeconds(600), "k", 0.2, 0.1, jitterSample, MinimumLife);
        Assert.Equal(marginSeconds, Math.Round((secret.ExpiresOn - secret.RefreshOn).TotalSeconds));
    }

    [Fact]
    public void Expiry_is_upstreams_expires_at_not_a_local_guess()
    {
        var secret = ClientSecret.FromUpstream("ek", Minted, Minted.AddSeconds(47), "k", 0.2, 0, 0.5, MinimumLife);
        Assert.Equal(Minted.AddSeconds(47), secret.ExpiresOn);
        Assert.Equal(TimeSpan.FromSeconds(47), secret.Lifetime);
    }

    [Fact]
    public void A_short_lived_secret_still_refreshes_at_least_the_minimum_life_before_expiry()
    {
        var secret = ClientSecret.FromUpstream("ek", Minted, Minted.AddSeconds(20), "k", 0.2, 0, 0.5, MinimumLife);
        Assert.Equal(Minted.AddSeconds(10), secret.RefreshOn);
    }

    [Fact]
    public void Predicates_take_now()
    {
        var secret = ClientSecret.FromUpstream("ek", Minted, Minted.AddSeconds(600), "k", 0.2, 0, 0.5, MinimumLife);
        Assert.False(secret.NeedsBackgroundRefresh(Minted.AddSeconds(479)));
        Assert.True(secret.NeedsBackgroundRefresh(Minted.AddSeconds(480)));
        Assert.True(secret.IsUsable(Minted.AddSeconds(590), MinimumLife));
        Assert.False(secret.IsUsable(Minted.AddSeconds(590.001), MinimumLife));
    }

    [Fact]
    public void Session_key_changes_with_any_setting_and_is_stable_otherwise()
    {
        var a = new SessionConfiguration("gpt-realtime", "marin", "Be brief.");
        Assert.Equal(a.Key, new SessionConfiguration("gpt-realtime", "marin", "Be brief.").Key);
        Assert.NotEqual(a.Key, (a with { Instructions = "Be long." }).Key);
        Assert.NotEqual(a.Key, (a with { Model = "gpt-realtime-mini" }).Key);
    }
}
