using System.Globalization;

namespace RealtimeConsole.Simulator.Media.Realtime;

/// <summary>
/// Responses drawn from the simulated organization's <c>responses</c> bucket (the same budget the HTTP surface uses),
/// with the admin API's faults applied: a rate-limit storm or exhausted quota refuses the response with OpenAI's code.
/// </summary>
public sealed class SimulatorResponseBudget(SimulatorRateLimiter limiter, SimulatorFaults faults) : IRealtimeResponseBudget
{
    public RealtimeBudgetDecision TryAcquire()
    {
        if (faults.Any && faults.Find(SimulatorFaultKind.InsufficientQuota, SimulatorResource.Responses) is not null)
        {
            return Refused(limiter.Peek(SimulatorResource.Responses), "insufficient_quota", "You exceeded your current quota, please check your plan and billing details.");
        }

        if (faults.Any && faults.Find(SimulatorFaultKind.ServerError, SimulatorResource.Responses) is not null)
        {
            return Refused(limiter.Peek(SimulatorResource.Responses), "server_error", "The server had an error while processing your request. Sorry about that!");
        }

        if (faults.Any && faults.Find(SimulatorFaultKind.RateLimitStorm, SimulatorResource.Responses) is not null)
        {
            var level = limiter.Peek(SimulatorResource.Responses);
            return Refused(level with { Remaining = 0 }, "rate_limit_exceeded", Message(level.Limit, level.Limit, TimeSpan.FromSeconds(1)));
        }

        var decision = limiter.TryAcquire(SimulatorResource.Responses);
        return decision.Admitted
            ? new RealtimeBudgetDecision(true, Limits(decision), null, null)
            : Refused(decision, "rate_limit_exceeded", Message(decision.Limit, decision.Used, decision.RetryAfter));

        string Message(int limit, int used, TimeSpan retry) => string.Create(CultureInfo.InvariantCulture,
            $"Rate limit reached for gpt-realtime in organization {limiter.OrganizationId} on requests per min (RPM): Limit {limit}, Used {used}, Requested 1. Please try again in {Math.Max(1, Math.Ceiling(retry.TotalSeconds))}s.");
    }

    private static RealtimeBudgetDecision Refused(RateLimitDecision level, string code, string message) => new(false, Limits(level), message, code);

    private static RealtimeRateLimit[] Limits(RateLimitDecision level) =>
        [new RealtimeRateLimit("requests", level.Limit, level.Remaining, level.ResetAfter.TotalSeconds)];
}
