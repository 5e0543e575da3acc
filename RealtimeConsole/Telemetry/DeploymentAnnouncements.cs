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

    private volatile bool _joined;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        heartbeat.Joined += OnJoined;
        heartbeat.Forgot += OnForgot;
        return Task.CompletedTask;
    }

    /// <summary>
    /// Announces this instance's departure, awaited: hosted services stop in reverse order, so this runs before the heartbeat
    /// removes the record, while the hub's backplane still carries messages.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        heartbeat.Joined -= OnJoined;
        heartbeat.Forgot -= OnForgot;
        if (_joined)
        {
            await AnnounceAsync(InstanceLeft, heartbeat.Current).WaitAsync(cancellationToken);
        }
    }

    private void OnJoined(DeploymentMember member)
    {
        _joined = true;
        _ = AnnounceAsync(InstanceJoined, member);
    }

    private void OnForgot(DeploymentMember member) => _ = AnnounceAsync(InstanceLeft, member);

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
