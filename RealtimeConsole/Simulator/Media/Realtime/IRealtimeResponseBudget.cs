namespace RealtimeConsole.Simulator.Media.Realtime;

/// <summary>One line of <c>rate_limits.updated</c>.</summary>
public sealed record RealtimeRateLimit(string Name, int Limit, int Remaining, double ResetSeconds);

/// <summary>
/// The answer to "may this session start another response?" plus the limits to report either way; a refusal's
/// <paramref name="ErrorType"/> names the limit that refused (<c>requests</c>, <c>tokens</c>).
/// </summary>
public sealed record RealtimeBudgetDecision(bool Allowed, IReadOnlyList<RealtimeRateLimit> Limits, string? Message, string? Code = null, string? ErrorType = null);

/// <summary>
/// The per-organization budget a response draws on (a <c>responses</c> resource): <see cref="SimulatorResponseBudget"/>
/// in the app, a plain fixed window for the benchmark and tests.
/// </summary>
public interface IRealtimeResponseBudget
{
    /// <summary>Admits one response, reserving <paramref name="reservedTokens"/> (its estimated input and output) where tokens are counted.</summary>
    RealtimeBudgetDecision TryAcquire(int reservedTokens);

    /// <summary>The response is done: corrects its reservation to the <paramref name="usedTokens"/> it really used.</summary>
    void Settle(int reservedTokens, int usedTokens);
}

/// <summary>A fixed one-minute window of responses on the injected clock (tokens are not counted).</summary>
public sealed class FixedWindowResponseBudget(TimeProvider time, int responsesPerMinute) : IRealtimeResponseBudget
{
    private readonly Lock _gate = new();
    private DateTimeOffset _windowStart = time.GetUtcNow();
    private int _used;

    public void Settle(int reservedTokens, int usedTokens)
    {
    }

    public RealtimeBudgetDecision TryAcquire(int reservedTokens)
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (now - _windowStart >= TimeSpan.FromMinutes(1))
            {
                _windowStart = now;
                _used = 0;
            }

            var reset = Math.Max(0, (_windowStart + TimeSpan.FromMinutes(1) - now).TotalSeconds);
            if (_used >= responsesPerMinute)
            {
                var limits = new[] { new RealtimeRateLimit("requests", responsesPerMinute, 0, reset) };
                return new RealtimeBudgetDecision(false, limits,
                    $"Rate limit reached for gpt-realtime in organization org-simulator on requests per min (RPM): Limit {responsesPerMinute}, Used {_used}, Requested 1. Please try again in {Math.Ceiling(reset)}s.");
            }

            _used++;
            return new RealtimeBudgetDecision(true, [new RealtimeRateLimit("requests", responsesPerMinute, responsesPerMinute - _used, reset)], null);
        }
    }
}
