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

    public SimulatorRateLimiter(TimeProvider time, IOptions<SimulatorOptions> settings)
    {
        var options = settings.Value;
        OrganizationId = options.OrganizationId;
        _defaults = options.RequestsPerMinute;
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

        Reset();
    }

    /// <summary>Fills every bucket.</summary>
    public void Reset()
    {
        foreach (var bucket in _buckets)
        {
            bucket.Reset();
        }

        Changed?.Invoke();
    }
}
