using RealtimeConsole.Components.Panels;
using RealtimeConsole.Telemetry;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Tokens;

namespace RealtimeConsole.Tests.Components;

/// <summary>The client secret card after "Reset counters": it shows what the mode means, whatever the last mint left behind.</summary>
public sealed class LimitsSecretPanelTests : ConsoleComponentTest
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    // What the broker publishes right after a reset: the counters are zero, the last secret (minted 3:08 ago) is still known.
    private static BrokerTelemetrySnapshot AfterReset(SecretMode mode)
    {
        var minted = Now.AddSeconds(-188);
        var state = LimitsStates.Empty(Now).Snapshot;
        return state with
        {
            Secret = new SecretSnapshot(mode, minted, minted.AddMinutes(10), minted.AddMinutes(8), 188, mode == SecretMode.Pool ? 2 : 0, mode == SecretMode.Pool ? 3 : 0),
            Counters = new SecretCounters(0, 0, 0, 0, 0, null, null),
        };
    }

    [Fact]
    public void Per_session_shows_no_age_and_no_refresh_because_nothing_is_cached()
    {
        var cut = Render<LimitsSecretPanel>(p => p.Add(c => c.Snapshot, AfterReset(SecretMode.PerSession)).Add(c => c.Now, Now));

        Assert.Contains("nothing is cached, so nothing is refreshed", cut.Find("[data-testid=secret-per-session]").TextContent, StringComparison.Ordinal);
        Assert.Empty(cut.FindAll("[data-testid=secret-age]"));
        Assert.Empty(cut.FindAll("[data-testid=secret-refresh]"));
        Assert.Empty(cut.FindAll("[data-testid=secret-hit-ratio]"));
        Assert.DoesNotContain("Refresh in", cut.Markup, StringComparison.Ordinal);
        Assert.DoesNotContain("Age", cut.Markup, StringComparison.Ordinal);
        Assert.Contains("expires at 10:06:52 UTC (in 6:52)", cut.Find("[data-testid=secret-last-expiry]").TextContent, StringComparison.Ordinal);
        Assert.Contains("0 (0 failed)", cut.Find("[data-testid=secret-mints]").TextContent, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(SecretMode.Shared)]
    [InlineData(SecretMode.Pool)]
    public void Shared_and_pool_show_the_cached_secret_age_and_refresh_and_say_it_predates_the_reset(SecretMode mode)
    {
        var cut = Render<LimitsSecretPanel>(p => p.Add(c => c.Snapshot, AfterReset(mode)).Add(c => c.Now, Now));

        Assert.Contains("Age 3:08", cut.Find("[data-testid=secret-age]").TextContent, StringComparison.Ordinal);
        Assert.Contains("Refresh in 4:52", cut.Find("[data-testid=secret-refresh]").TextContent, StringComparison.Ordinal);
        Assert.Contains("before the counters were last reset", cut.Find("[data-testid=secret-before-reset]").TextContent, StringComparison.Ordinal);
        Assert.Empty(cut.FindAll("[data-testid=secret-per-session]"));
        Assert.NotNull(cut.Find("[data-testid=secret-hit-ratio]"));
        Assert.Equal(mode == SecretMode.Pool, cut.FindAll("[data-testid=secret-pool]").Count == 1);
    }

    [Fact]
    public void A_secret_minted_since_the_reset_carries_no_reset_note()
    {
        var snapshot = AfterReset(SecretMode.Shared) with { Counters = new SecretCounters(1, 0, 0, 1, 0, 0, 95) };
        var cut = Render<LimitsSecretPanel>(p => p.Add(c => c.Snapshot, snapshot).Add(c => c.Now, Now));

        Assert.Empty(cut.FindAll("[data-testid=secret-before-reset]"));
        Assert.NotNull(cut.Find("[data-testid=secret-refresh]"));
    }
}
