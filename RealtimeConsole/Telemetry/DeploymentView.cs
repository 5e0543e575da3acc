namespace RealtimeConsole.Telemetry;

/// <summary>
/// The whole deployment as one instance sees it: a row per live instance (this one first when it started first) and the
/// totals over all of them. Without a shared store it is one row, and the totals are this instance's own state.
/// </summary>
public sealed record DeploymentView(string ThisInstanceId, IReadOnlyList<DeploymentInstanceRow> Instances, DashboardState Totals)
{
    public long UpstreamRequests => Instances.Sum(i => i.UpstreamRequests);

    public long SecretsServed => Instances.Sum(i => i.SecretsServed);
}

/// <summary>
/// One live instance: who and where it is, since when it runs, when its heartbeat was last seen, and what it did: secrets handed
/// out and upstream requests, with its share of the deployment's upstream requests (null while there are none).
/// </summary>
public sealed record DeploymentInstanceRow(
    string Id,
    string? Address,
    DateTimeOffset StartedAt,
    DateTimeOffset LastSeen,
    bool IsThisInstance,
    bool HasTelemetry,
    long SecretsServed,
    long UpstreamRequests,
    double? ShareOfRequests);
