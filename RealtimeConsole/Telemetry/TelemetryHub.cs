using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using RealtimeConsole.Access;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Telemetry;

/// <summary>
/// <c>/hubs/telemetry</c>: <see cref="Snapshots"/> streams this instance's dashboard state, <see cref="DeploymentSnapshots"/> the whole deployment's, and <see cref="Calls"/> the upstream calls in batches,
/// each at most <see cref="MaxUpdatesPerSecond"/> times a second so a 429 storm cannot flood a watcher; nothing runs without a stream open.
/// </summary>
[Authorize(Policy = AccessPolicies.TelemetryWatcher)]
public sealed class TelemetryHub(ITelemetryFeed feed, DeploymentTelemetry deployment, BrokerTelemetry telemetry, TimeProvider time) : Hub
{
    public const int MaxUpdatesPerSecond = 4;

    public static readonly TimeSpan MinimumGap = TimeSpan.FromSeconds(1.0 / MaxUpdatesPerSecond);

    /// <summary>This instance's state at once, then again after each change (coalesced), and at least every second while something counts down.</summary>
    [Authorize(Policy = AccessPolicies.TelemetryWatcher)]
    public IAsyncEnumerable<DashboardState> Snapshots(CancellationToken cancellationToken) => StreamAsync(feed, () => feed.Current, cancellationToken);

    /// <summary>The whole deployment (a row per live instance and the totals), at once and after each change, coalesced.</summary>
    [Authorize(Policy = AccessPolicies.TelemetryWatcher)]
    public IAsyncEnumerable<DeploymentView> DeploymentSnapshots(CancellationToken cancellationToken) => StreamAsync(deployment, () => deployment.View, cancellationToken);

    /// <summary>One instance of the deployment as it last published its state (this one live); ends at once for an instance not seen.</summary>
    [Authorize(Policy = AccessPolicies.TelemetryWatcher)]
    public async IAsyncEnumerable<DashboardState> InstanceSnapshots(string instanceId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var state in StreamAsync(deployment, () => deployment.Instance(instanceId), cancellationToken))
        {
            if (state is null)
            {
                yield break;
            }

            yield return state;
        }
    }

    private async IAsyncEnumerable<T> StreamAsync<T>(ITelemetryFeed source, Func<T> read, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        using var subscription = source.Subscribe(() =>
        {
            changed.Writer.TryWrite(true);
            return Task.CompletedTask;
        });
        yield return read();
        while (!cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(MinimumGap, time, cancellationToken);
            using var heartbeat = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            heartbeat.CancelAfter(TimeSpan.FromSeconds(1));
            try
            {
                await changed.Reader.WaitToReadAsync(heartbeat.Token);
                changed.Reader.TryRead(out _);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // A quiet second: send anyway so remote countdowns and the secret's age keep moving.
            }

            yield return read();
        }
    }

    /// <summary>
    /// The recent calls first (oldest first; possibly empty, and proof the stream is live), then each upstream call as it happens,
    /// in batches at most <see cref="MaxUpdatesPerSecond"/> times a second (past 200 waiting, the oldest are dropped).
    /// </summary>
    [Authorize(Policy = AccessPolicies.TelemetryWatcher)]
    public async IAsyncEnumerable<IReadOnlyList<UpstreamCallRecord>> Calls([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var calls = Channel.CreateBounded<UpstreamCallRecord>(new BoundedChannelOptions(200) { FullMode = BoundedChannelFullMode.DropOldest });
        void OnCall(UpstreamCallRecord call) => calls.Writer.TryWrite(call);
        telemetry.UpstreamCallRecorded += OnCall;
        try
        {
            yield return telemetry.GetSnapshot().RecentCalls.Reverse().ToList();
            while (await calls.Reader.WaitToReadAsync(cancellationToken))
            {
                var batch = new List<UpstreamCallRecord>();
                while (calls.Reader.TryRead(out var call))
                {
                    batch.Add(call);
                }

                yield return batch;
                await Task.Delay(MinimumGap, time, cancellationToken);
            }
        }
        finally
        {
            telemetry.UpstreamCallRecorded -= OnCall;
        }
    }
}
