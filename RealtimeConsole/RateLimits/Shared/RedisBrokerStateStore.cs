using RealtimeConsole.Deployment;

namespace RealtimeConsole.RateLimits.Shared;

/// <summary>
/// The broker's rate-limit state shared by every instance of a deployment through Redis: one budget per resource, one
/// cooldown, one quota gate. While Redis cannot be reached each part runs on what this instance can do alone, and
/// <see cref="Status"/> says so.
/// </summary>
public sealed class RedisBrokerStateStore : IBrokerStateStore, IDisposable
{
    private readonly RedisStore _store;
    private readonly RedisUpstreamBudget[] _budgets;
    private readonly RedisCooldown _cooldown;
    private readonly RedisQuotaGate _quota;

    public RedisBrokerStateStore(BudgetGuesses guesses, RedisStore store, DeploymentMembers members, ConsoleInstance instance, TimeProvider time, TimeSpan requestLease)
    {
        _store = store;
        _budgets =
        [
            new RedisUpstreamBudget(UpstreamResource.ClientSecrets, guesses.ClientSecretsPerMinute, store, members, time, requestLease),
            new RedisUpstreamBudget(UpstreamResource.Calls, guesses.CallsPerMinute, store, members, time, requestLease),
        ];
        Budgets = _budgets.ToDictionary(b => b.Resource, IUpstreamBudget (b) => b);
        _cooldown = new RedisCooldown(store, time);
        _quota = new RedisQuotaGate(store, instance.Id, time, requestLease);
        _cooldown.Changed += RaiseChanged;
        _quota.Changed += RaiseChanged;
        store.AvailabilityChanged += RaiseChanged;
        foreach (var budget in _budgets)
        {
            budget.Changed += _ => RaiseChanged();
        }
    }

    public IReadOnlyDictionary<UpstreamResource, IUpstreamBudget> Budgets { get; }

    public IUpstreamCooldown Cooldown => _cooldown;

    public IQuotaGate Quota => _quota;

    public StoreStatus Status
    {
        get
        {
            var shares = _budgets.Where(b => b.LocalSharePerMinute is not null).ToDictionary(b => b.Resource, b => b.LocalSharePerMinute!.Value);
            return new StoreStatus("redis", IsShared: _store.IsAvailable, _store.UnreachableSince, shares.Count == 0 ? null : shares);
        }
    }

    public event Action? Changed;

    private void RaiseChanged() => Changed?.Invoke();

    public void Dispose()
    {
        foreach (var budget in _budgets)
        {
            budget.Dispose();
        }

        _cooldown.Dispose();
        _quota.Dispose();
    }
}
