namespace RealtimeConsole.RateLimits;

/// <summary>
/// The broker's rate-limit state in one place: a budget per upstream resource, the cooldown every caller waits out after
/// a 429, and the gate that keeps requests away from an account out of quota. One seam: <see cref="MemoryBrokerStateStore"/>
/// holds it for one process; a store that several instances share implements the same and nothing else changes.
/// </summary>
public interface IBrokerStateStore
{
    /// <summary>The budgets the broker spends from (client secrets and calls).</summary>
    IReadOnlyDictionary<UpstreamResource, IUpstreamBudget> Budgets { get; }

    IUpstreamCooldown Cooldown { get; }

    IQuotaGate Quota { get; }

    /// <summary>Whether the state is shared with other instances now, and if it should be but cannot be, since when and on what share.</summary>
    StoreStatus Status { get; }

    /// <summary>Raised when any part of the state changes (telemetry listens; the broker does not).</summary>
    event Action? Changed;
}

/// <summary>
/// Where the broker's state lives now. <see cref="UnreachableSince"/> is set while a shared store cannot be reached; the
/// instance then runs on <see cref="LocalSharePerMinute"/> per resource (the learned limit divided by the instances last seen alive).
/// </summary>
public sealed record StoreStatus(string Store, bool IsShared, DateTimeOffset? UnreachableSince = null, IReadOnlyDictionary<UpstreamResource, int>? LocalSharePerMinute = null)
{
    public static readonly StoreStatus Memory = new("memory", IsShared: false);

    public bool IsDegraded => UnreachableSince is not null;
}

/// <summary>The configured starting guesses of upstream's limits (requests per minute), until upstream's headers say otherwise.</summary>
public sealed record BudgetGuesses(int ClientSecretsPerMinute, int CallsPerMinute);

/// <summary>The broker's state for one process.</summary>
public sealed class MemoryBrokerStateStore : IBrokerStateStore, IDisposable
{
    private readonly UpstreamBudget[] _owned;

    public MemoryBrokerStateStore(BudgetGuesses guesses, TimeProvider time)
    {
        Cooldown = new SharedCooldown(time);
        Quota = new QuotaExhaustionGate(time);
        _owned =
        [
            new UpstreamBudget(UpstreamResource.ClientSecrets, guesses.ClientSecretsPerMinute, time),
            new UpstreamBudget(UpstreamResource.Calls, guesses.CallsPerMinute, time),
        ];
        Budgets = _owned.ToDictionary(b => b.Resource, IUpstreamBudget (b) => b);
        Cooldown.Changed += RaiseChanged;
        Quota.Changed += RaiseChanged;
        foreach (var budget in _owned)
        {
            budget.Changed += _ => RaiseChanged();
        }
    }

    public IReadOnlyDictionary<UpstreamResource, IUpstreamBudget> Budgets { get; }

    IUpstreamCooldown IBrokerStateStore.Cooldown => Cooldown;

    IQuotaGate IBrokerStateStore.Quota => Quota;

    public SharedCooldown Cooldown { get; }

    public QuotaExhaustionGate Quota { get; }

    public StoreStatus Status => StoreStatus.Memory;

    public event Action? Changed;

    private void RaiseChanged() => Changed?.Invoke();

    public void Dispose()
    {
        foreach (var budget in _owned)
        {
            budget.Dispose();
        }
    }
}
