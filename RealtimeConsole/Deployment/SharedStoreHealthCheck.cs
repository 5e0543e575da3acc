using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace RealtimeConsole.Deployment;

/// <summary>
/// Degraded (still HTTP 200: the instance serves on its local share) while the shared store is unreachable, Healthy otherwise,
/// so a load balancer keeps the instance and an operator sees the outage.
/// </summary>
public sealed class SharedStoreHealthCheck(RedisStore store) : IHealthCheck
{
    public const string Name = "shared-store";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(store.UnreachableSince is { } since
            ? HealthCheckResult.Degraded($"Shared store unreachable since {since:O}; running on a local share.")
            : store.IsAvailable
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Degraded("Shared store not connected."));
}
