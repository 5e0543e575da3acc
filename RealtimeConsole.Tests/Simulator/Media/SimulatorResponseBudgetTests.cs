using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Simulator;
using RealtimeConsole.Simulator.Media.Realtime;

namespace RealtimeConsole.Tests.Simulator.Media;

public sealed class SimulatorResponseBudgetTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly SimulatorRateLimiter _limiter;
    private readonly SimulatorFaults _faults;
    private readonly SimulatorResponseBudget _budget;

    public SimulatorResponseBudgetTests()
    {
        _limiter = new SimulatorRateLimiter(_time, Options.Create(new SimulatorOptions()));
        _faults = new SimulatorFaults(_time);
        _budget = new SimulatorResponseBudget(_limiter, _faults);
    }

    [Fact]
    public void Responses_draw_from_the_organizations_responses_bucket()
    {
        _limiter.SetLimit(SimulatorResource.Responses, 2);
        Assert.True(_budget.TryAcquire(10).Allowed);
        var second = _budget.TryAcquire(10);
        Assert.True(second.Allowed);
        Assert.Equal(0, second.Limits[0].Remaining);

        var refused = _budget.TryAcquire(10);
        Assert.False(refused.Allowed);
        Assert.Equal("rate_limit_exceeded", refused.Code);
        Assert.Contains("Limit 2", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, _limiter.Peek(SimulatorResource.Calls).Used);
    }

    [Theory]
    [InlineData(SimulatorFaultKind.RateLimitStorm, "rate_limit_exceeded")]
    [InlineData(SimulatorFaultKind.InsufficientQuota, "insufficient_quota")]
    [InlineData(SimulatorFaultKind.ServerError, "server_error")]
    public void Active_faults_refuse_responses_with_openais_code(SimulatorFaultKind kind, string code)
    {
        _faults.Activate(kind, TimeSpan.FromSeconds(30), SimulatorResource.Responses);
        Assert.Equal(code, _budget.TryAcquire(10).Code);

        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(_budget.TryAcquire(10).Allowed);
    }
}
