using RealtimeConsole.Bench;

namespace RealtimeConsole.Tests.Bench;

/// <summary>Which of the goals each scenario states for the broker, and when they count as met.</summary>
public sealed class BenchReportTests
{
    private static readonly StrategyFigures Clean = new(
        UsersServed: 120, UserErrors5xx: 0, UserRefusedWithRetryAfter: 0, UpstreamRequests: 1, Upstream429: 0, QuotaUtilization: 1, Mints: 1,
        P50ConnectMs: 0, P99ConnectMs: 250, RecoverySeconds: null, UsersOtherwiseFailed: 0, UpstreamRequestsUnderQuotaError: 0);

    [Theory]
    [InlineData("burst", new[] { "zero upstream 429s", "quota utilization", "zero user-visible 5xx", "every refused user" })]
    [InlineData("steady", new[] { "zero upstream 429s", "zero user-visible 5xx", "every refused user" })]
    [InlineData("storm", new[] { "zero user-visible 5xx", "every refused user" })]
    [InlineData("quota", new[] { "zero user-visible 5xx", "every refused user", "insufficient_quota" })]
    [InlineData("shared-org", new[] { "zero upstream 429s", "quota utilization", "zero user-visible 5xx", "every refused user" })]
    [InlineData("unknown-limit", new[] { "zero upstream 429s", "quota utilization", "zero user-visible 5xx", "every refused user" })]
    [InlineData("unknown-limit-low", new[] { "zero upstream 429s", "quota utilization", "zero user-visible 5xx", "every refused user" })]
    public void Each_scenario_states_the_goals_that_apply_to_it(string name, string[] goals)
    {
        var scenario = BenchScenario.Create(name, BenchScenario.DefaultSteadyLength, BenchScenario.DefaultQuotaLength);

        var stated = BenchReport.Goals(scenario, Clean).ToList();

        Assert.Equal(goals.Length, stated.Count);
        Assert.All(goals.Zip(stated), pair => Assert.StartsWith(pair.First, pair.Second.Goal, StringComparison.Ordinal));
        Assert.All(stated, goal => Assert.True(goal.Met, goal.Goal));
    }

    [Fact]
    public void Goals_are_not_met_by_a_429_low_utilization_a_5xx_or_a_user_left_without_a_retry_time()
    {
        var burst = BenchScenario.Create("burst", BenchScenario.DefaultSteadyLength, BenchScenario.DefaultQuotaLength);
        var bad = Clean with { Upstream429 = 1, QuotaUtilization = 0.97, UserErrors5xx = 1, UsersOtherwiseFailed = 1 };

        Assert.All(BenchReport.Goals(burst, bad), goal => Assert.False(goal.Met, goal.Goal));
    }

    [Fact]
    public void Under_insufficient_quota_the_broker_may_send_one_request_per_minute_of_the_fault()
    {
        // Arrivals for 12 min, the fault from 0:30, the run ends 2 min after the last arrival: 13.5 min, so 14 re-checks + the first.
        var quota = BenchScenario.Create("quota", BenchScenario.DefaultSteadyLength, BenchScenario.DefaultQuotaLength);

        Assert.True(BenchReport.Goals(quota, Clean with { UpstreamRequestsUnderQuotaError = 15 }).Single(g => g.Goal.StartsWith("insufficient_quota", StringComparison.Ordinal)).Met);
        Assert.False(BenchReport.Goals(quota, Clean with { UpstreamRequestsUnderQuotaError = 16 }).Single(g => g.Goal.StartsWith("insufficient_quota", StringComparison.Ordinal)).Met);
    }
}
