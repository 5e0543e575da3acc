using Microsoft.AspNetCore.SignalR;
using RealtimeConsole.Deployment;

namespace RealtimeConsole.Telemetry;

/// <summary>
/// Tells every telemetry watcher of the deployment, whichever instance it is connected to (the hub's Redis backplane carries
/// it), that this instance joined or is leaving: <c>InstanceJoined</c> / <c>InstanceLeft</c> with the instance's record. An
/// instance that vanished without leaving (crashed, cut off) is announced as <c>InstanceLeft</c> by the one that forgets it.
/// </summary>
public sealed partial class DeploymentAnnouncements(DeploymentHeartbeat heartbeat, IHubContext<TelemetryHub> hub, ILogger<DeploymentAnnouncements> logger) : IHostedService
{
    public const string InstanceJoined = nameof(InstanceJoined);

    public const string InstanceLeft = nameof(InstanceLeft);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        heartbeat.Joined += OnJoined;
        heartbeat.Leaving += OnLeaving;
        heartbeat.Forgot += OnLeaving;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        heartbeat.Joined -= OnJoined;
        heartbeat.Leaving -= OnLeaving;
        heartbeat.Forgot -= OnLeaving;
        return Task.CompletedTask;
    }

    private void OnJoined(DeploymentMember member) => _ = AnnounceAsync(InstanceJoined, member);

    private void OnLeaving(DeploymentMember member) => _ = AnnounceAsync(InstanceLeft, member);

    private async Task AnnounceAsync(string message, DeploymentMember member)
    {
        try
        {
            await hub.Clients.All.SendAsync(message, member);
        }
        catch (Exception e)
        {
            // The watchers learn it from the next heartbeat's list anyway.
            LogAnnouncementFailed(logger, message, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not announce {Message} to the deployment's telemetry watchers ({Reason}).")]
    private static partial void LogAnnouncementFailed(ILogger logger, string message, string reason);
}
