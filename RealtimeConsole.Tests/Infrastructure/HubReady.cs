using Microsoft.AspNetCore.SignalR.Client;
using RealtimeConsole.Telemetry;

namespace RealtimeConsole.Tests.Infrastructure;

/// <summary>
/// A watcher's handshake completes before the server has finished connecting it, and that includes subscribing the
/// instance's Redis backplane to the hub's channels: a message another instance broadcasts in between is never heard.
/// The server dispatches a client's first invocation only after that, so one streamed snapshot proves the watcher can hear
/// the deployment.
/// </summary>
public static class HubReady
{
    public static async Task UntilConnectedOnTheServerAsync(this HubConnection hub, CancellationToken cancellationToken)
    {
        await foreach (var _ in hub.StreamAsync<DashboardState>(nameof(TelemetryHub.Snapshots), cancellationToken))
        {
            break;
        }
    }
}
