using Microsoft.Extensions.Options;

namespace RealtimeConsole.Simulator;

/// <summary>
/// The simulated organization's request budgets: one continuously refilled requests-per-minute bucket per resource
/// (<c>client_secrets</c>, <c>calls</c>, <c>responses</c>). A DI singleton: the media peer admits <c>responses</c> here
/// and reports the numbers in <c>rate_limits.updated</c>.
/// </summary>
public sealed class SimulatorRateLimiter
{
    private readonly RequestRateBucket[] _buckets;
    private readonly SimulatorRequestsPerMinute _defaults;
    private readonly int _defaultTokensPerMinute;
    private readonly RequestRateBucket _tokens;

    public SimulatorRateLimiter(TimeProvider time, IOptions<SimulatorOptions> settings)
    {
        var options = settings.Value;
        OrganizationId = options.OrganizationId;
        _defaults = options.RequestsPerMinute;
        _defaultTokensPerMinute = options.TokensPerMinute;
        _tokens = new RequestRateBucket(time, options.TokensPerMinute);
        _buckets = new RequestRateBucket[SimulatorResources.All.Length];
        foreach (var resource in SimulatorResources.All)
        {
            _buckets[(int)resource] = new RequestRateBucket(time, _defaults.For(resource));
        }
    }

    /// <summary>The organization id the budgets belong to (named in 429 messages).</summary>
    public string OrganizationId { get; }

    /// <summary>Raised after a limit changes or the buckets are reset.</summary>
    public event Action? Changed;

    /// <summary>Takes one request from <paramref name="resource"/>'s budget; <see cref="RateLimitDecision.Admitted"/> is false when none is left.</summary>
    public RateLimitDecision TryAcquire(SimulatorResource resource) => _buckets[(int)resource].TryAcquire();

    /// <summary>Gives back a request taken by <see cref="TryAcquire"/>.</summary>
    public RateLimitDecision Refund(SimulatorResource resource) => _buckets[(int)resource].Refund();

    /// <summary>The budget's level now, taking nothing (limit, remaining, time to full).</summary>
    public RateLimitDecision Peek(SimulatorResource resource) => _buckets[(int)resource].Peek();

    /// <summary>The requests-per-minute limit of <paramref name="resource"/>.</summary>
    public int GetLimit(SimulatorResource resource) => _buckets[(int)resource].Limit;

    /// <summary>The tokens-per-minute budget's level now (limit, remaining, time to full), taking nothing.</summary>
    public RateLimitDecision PeekTokens() => _tokens.Peek();

    /// <summary>Reserves a response's estimated tokens; refused when the budget does not hold them (never, when they exceed the limit itself).</summary>
    public RateLimitDecision TryReserveTokens(int tokens) => _tokens.TryAcquire(Math.Max(0, tokens));

    /// <summary>Corrects a reservation once the response is done: unused tokens come back, extra ones are taken.</summary>
    public RateLimitDecision SettleTokens(int reserved, int used)
    {
        return used >= reserved ? _tokens.Take(used - reserved) : _tokens.Refund(reserved - used);
    }

    /// <summary>Changes the tokens-per-minute limit at once (1..<see cref="RequestRateBucket.MaxLimit"/>).</summary>
    public void SetTokenLimit(int tokensPerMinute)
    {
        _tokens.SetLimit(tokensPerMinute);
        Changed?.Invoke();
    }

    /// <summary>Changes a limit at once (1..<see cref="RequestRateBucket.MaxLimit"/>).</summary>
    public void SetLimit(SimulatorResource resource, int requestsPerMinute)
    {
        _buckets[(int)resource].SetLimit(requestsPerMinute);
        Changed?.Invoke();
    }

    /// <summary>Puts every limit back to the configured defaults and fills the buckets.</summary>
    public void RestoreDefaultLimits()
    {
        foreach (var resource in SimulatorResources.All)
        {
            _buckets[(int)resource].SetLimit(_defaults.For(resource));
        }

        _tokens.SetLimit(_defaultTokensPerMinute);

        Reset();
    }

    /// <summary>Fills every bucket.</summary>
    public void Reset()
    {
        foreach (var bucket in _buckets)
        {
            bucket.Reset();
        }

        _tokens.Reset();

        Changed?.Invoke();
    }
}
