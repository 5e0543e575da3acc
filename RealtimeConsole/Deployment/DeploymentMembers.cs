namespace RealtimeConsole.Deployment;

/// <summary>One instance of the deployment as its last heartbeat described it.</summary>
public sealed record DeploymentMember(string Id, string? Address, DateTimeOffset StartedAt, DateTimeOffset LastSeen);

/// <summary>
/// The instances of this deployment seen alive lately (this one included), as the heartbeats in the shared store say.
/// The degraded budget divides the learned limit by <see cref="LastSeenAlive"/> when the store becomes unreachable.
/// </summary>
public sealed class DeploymentMembers
{
    private readonly Lock _gate = new();
    private IReadOnlyList<DeploymentMember> _members = [];

    /// <summary>Raised when the list of live instances changes.</summary>
    public event Action? Changed;

    /// <summary>The live instances at the last heartbeat read; empty until the first (or without a shared store).</summary>
    public IReadOnlyList<DeploymentMember> Members
    {
        get { lock (_gate) { return _members; } }
    }

    /// <summary>How many instances were alive when the store last answered (at least this one).</summary>
    public int LastSeenAlive
    {
        get { lock (_gate) { return Math.Max(1, _members.Count); } }
    }

    /// <summary>Replaces the list after a heartbeat round (an unreachable store keeps the last one: it is the best guess there is).</summary>
    public void Update(IReadOnlyList<DeploymentMember> members)
    {
        lock (_gate)
        {
            _members = members;
        }

        Changed?.Invoke();
    }
}
