namespace RealtimeConsole.Deployment;

/// <summary>
/// Something each instance publishes beside its heartbeat and reads back from the live instances (telemetry does), so a
/// feature shares per-instance state without a loop, a connection or an expiry of its own. The heartbeat owns the Redis I/O.
/// </summary>
public interface IHeartbeatContribution
{
    /// <summary>The key's name in the deployment (one key per instance: <c>{Name}:{instance id}</c>).</summary>
    string Name { get; }

    /// <summary>This instance's value now.</summary>
    byte[] Publish();

    /// <summary>What the live instances (this one included) published, by instance id; an instance missing here published nothing yet.</summary>
    void Receive(IReadOnlyDictionary<string, byte[]> byInstance);
}
