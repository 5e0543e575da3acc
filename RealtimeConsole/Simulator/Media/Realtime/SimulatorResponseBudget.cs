using System.Globalization;

namespace RealtimeConsole.Simulator.Media.Realtime;

/// <summary>
/// Responses drawn from the simulated organization's <c>responses</c> bucket (the same budget the HTTP surface uses) and
/// its tokens per minute, with the admin API's faults applied: a rate-limit storm or exhausted quota refuses the response
/// with OpenAI's code. Tokens are reserved when a response starts and settled when it ends, as <c>rate_limits.updated</c>
/// is documented to report them (RealtimeServerEventRateLimitsUpdated).
/// </summary>
public sealed class SimulatorResponseBudget(SimulatorRateLimiter limiter, SimulatorFaults faults) : IRealtimeResponseBudget
{
    public RealtimeBudgetDecision TryAcquire(int reservedTokens)
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
            return Refused(level with { Remaining = 0 }, "rate_limit_exceeded", Message("requests per min (RPM)", level.Limit, level.Limit, 1, TimeSpan.FromSeconds(1)));
        }

        var decision = limiter.TryAcquire(SimulatorResource.Responses);
        if (!decision.Admitted)
        {
            return Refused(decision, "rate_limit_exceeded", Message("requests per min (RPM)", decision.Limit, decision.Used, 1, decision.RetryAfter));
        }

        var tokens = limiter.TryReserveTokens(reservedTokens);
        if (!tokens.Admitted)
        {
            // The response never starts, so its request is not spent either.
            decision = limiter.Refund(SimulatorResource.Responses);
            var message = reservedTokens > tokens.Limit
                ? string.Create(CultureInfo.InvariantCulture, $"Request too large for gpt-realtime in organization {limiter.OrganizationId} on tokens per min (TPM): Limit {tokens.Limit}, Requested {reservedTokens}. The input or output tokens must be reduced in order to run successfully.")
                : Message("tokens per min (TPM)", tokens.Limit, tokens.Used, reservedTokens, tokens.RetryAfter);
            return new RealtimeBudgetDecision(false, Limits(decision, tokens), message, "rate_limit_exceeded", "tokens");
        }

        return new RealtimeBudgetDecision(true, Limits(decision, tokens), null);
    }

    public void Settle(int reservedTokens, int usedTokens) => limiter.SettleTokens(reservedTokens, usedTokens);

    private string Message(string what, int limit, int used, int requested, TimeSpan retry) => string.Create(CultureInfo.InvariantCulture,
        $"Rate limit reached for gpt-realtime in organization {limiter.OrganizationId} on {what}: Limit {limit}, Used {used}, Requested {requested}. Please try again in {Math.Max(1, Math.Ceiling(retry.TotalSeconds))}s.");

    private RealtimeBudgetDecision Refused(RateLimitDecision level, string code, string message) =>
        new(false, Limits(level, limiter.PeekTokens()), message, code, code is "insufficient_quota" or "server_error" ? code : "requests");

    private static RealtimeRateLimit[] Limits(RateLimitDecision requests, RateLimitDecision tokens) =>
    [
        new RealtimeRateLimit("requests", requests.Limit, requests.Remaining, requests.ResetAfter.TotalSeconds),
        new RealtimeRateLimit("tokens", tokens.Limit, tokens.Remaining, tokens.ResetAfter.TotalSeconds),
    ];
}
