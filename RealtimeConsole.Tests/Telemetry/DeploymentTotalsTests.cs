using RealtimeConsole.Telemetry;
using RealtimeConsole.Tests.Components;
using RealtimeConsole.RateLimits;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tests.Telemetry;

public sealed class DeploymentTotalsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void One_instance_alone_is_its_own_total()
    {
        var local = LimitsStates.CoolingDown(Now, TimeSpan.FromSeconds(20));

        Assert.Same(local, DeploymentTotals.Sum(local, []));
    }

    [Fact]
    public void Counts_add_up_and_the_live_state_stays_this_instances()
    {
        var local = LimitsStates.CoolingDown(Now, TimeSpan.FromSeconds(20));
        var other = LimitsStates.CoolingDown(Now, TimeSpan.FromSeconds(5));
        other = other with { Snapshot = other.Snapshot with { RecentCalls = [new UpstreamCallRecord(Now.AddSeconds(1), UpstreamResource.Calls, 201, null, 40, 1, "req_newest")] } };

        var total = DeploymentTotals.Sum(local, [other]);

        var secrets = total.Snapshot.Resources.Single(r => r.Resource == "client_secrets");
        Assert.Equal(new Dictionary<string, long> { ["200"] = 82, ["429"] = 12, ["503"] = 2 }, secrets.CountsByStatus);
        Assert.Equal((4L, 2L, 2L, 6L), (total.Snapshot.Counters.Mints, total.Snapshot.Counters.CacheMisses, total.Snapshot.Counters.SingleFlightJoins, total.Snapshot.Counters.CacheHits));
        Assert.Equal(0.75, total.Snapshot.Counters.HitRatio);
        Assert.Equal("req_newest", total.Snapshot.RecentCalls[0].RequestId);
        Assert.Equal(4, total.Snapshot.RecentCalls.Count);
        Assert.Equal(local.Snapshot.Backoff, total.Snapshot.Backoff);
        Assert.Equal(local.Snapshot.Secret, total.Snapshot.Secret);
        Assert.Equal(Now, total.Snapshot.Last429!.At);
        Assert.Equal(20, total.History.Buckets[^1].Requests);
        Assert.Equal(new Dictionary<string, long> { ["200"] = 8, ["429"] = 12 }, total.History.Windows[0].LastMinute);
        Assert.Equal(2 * DeploymentTotals.UpstreamRequests(local.Snapshot), DeploymentTotals.UpstreamRequests(total.Snapshot));
    }
}
