using System.Collections.Frozen;
using System.Text.Json;
using RealtimeConsole.Deployment;

namespace RealtimeConsole.Telemetry;

/// <summary>
/// The telemetry of the whole deployment. Beside each heartbeat it publishes this instance's <see cref="DashboardState"/> and
/// receives the other live instances' (an <see cref="IHeartbeatContribution"/>); <see cref="View"/> puts them together as a row per
/// instance plus the totals. As a feed it is the totals; <see cref="Instance"/> is one instance's own state.
/// </summary>
public sealed partial class DeploymentTelemetry : ITelemetryFeed, IHeartbeatContribution, IDisposable
{
    public const string ContributionName = "telemetry";

    private readonly ITelemetryFeed _local;
    private readonly ConsoleInstance _instance;
    private readonly DeploymentMembers _members;
    private readonly TimeProvider _time;
    private readonly ILogger<DeploymentTelemetry> _logger;
    private FrozenDictionary<string, DashboardState> _published = FrozenDictionary<string, DashboardState>.Empty;

    public DeploymentTelemetry(ITelemetryFeed local, ConsoleInstance instance, DeploymentMembers members, TimeProvider time, ILogger<DeploymentTelemetry> logger)
    {
        _local = local;
        _instance = instance;
        _members = members;
        _time = time;
        _logger = logger;
        _members.Changed += RaiseChanged;
    }

    /// <summary>Raised when another instance's telemetry or the list of instances changes (this instance's changes come through its own feed).</summary>
    private event Action? Changed;

    public string ThisInstanceId => _instance.Id;

    /// <summary>The deployment's totals.</summary>
    public DashboardState Current => View.Totals;

    /// <summary>A row per live instance and the totals, now.</summary>
    public DeploymentView View
    {
        get
        {
            var local = _local.Current;
            var published = _published;
            var members = _members.Members;
            if (members.All(m => m.Id != _instance.Id))
            {
                // Without a shared store (or before the first heartbeat) this instance is the deployment.
                members = [.. members, new DeploymentMember(_instance.Id, _instance.Address, _instance.StartedAt, _time.GetUtcNow())];
            }

            var states = members.Select(m => (Member: m, State: m.Id == _instance.Id ? local : published.GetValueOrDefault(m.Id))).ToList();
            var total = states.Sum(s => s.State is null ? 0 : DeploymentTotals.UpstreamRequests(s.State.Snapshot));
            var rows = states.Select(s =>
            {
                var requests = s.State is null ? 0 : DeploymentTotals.UpstreamRequests(s.State.Snapshot);
                return new DeploymentInstanceRow(s.Member.Id, s.Member.Address, s.Member.StartedAt, s.Member.LastSeen, s.Member.Id == _instance.Id, s.State is not null,
                    s.State is null ? 0 : DeploymentTotals.SecretsServed(s.State.Snapshot), requests, total == 0 ? null : (double)requests / total);
            }).ToList();
            var others = states.Where(s => s.Member.Id != _instance.Id).Select(s => s.State).OfType<DashboardState>().ToList();
            return new DeploymentView(_instance.Id, rows, DeploymentTotals.Sum(local, others));
        }
    }

    /// <summary>One instance's own state as last published (this instance's live), or null if it published nothing yet.</summary>
    public DashboardState? Instance(string id) => id == _instance.Id ? _local.Current : _published.GetValueOrDefault(id);

    public IDisposable Subscribe(Func<Task> onChange)
    {
        var local = _local.Subscribe(onChange);
        void OnOthersChanged() => _ = NotifyAsync(onChange);
        Changed += OnOthersChanged;
        return new DisposeOnce(() =>
        {
            Changed -= OnOthersChanged;
            local.Dispose();
        });
    }

    string IHeartbeatContribution.Name => ContributionName;

    byte[] IHeartbeatContribution.Publish() => JsonSerializer.SerializeToUtf8Bytes(_local.Current, TelemetryEndpoints.SnapshotJson);

    void IHeartbeatContribution.Receive(IReadOnlyDictionary<string, byte[]> byInstance)
    {
        var published = new Dictionary<string, DashboardState>();
        foreach (var (id, json) in byInstance.Where(p => p.Key != _instance.Id))
        {
            try
            {
                if (JsonSerializer.Deserialize<DashboardState>(json, TelemetryEndpoints.SnapshotJson) is { } state)
                {
                    published[id] = state;
                }
            }
            catch (JsonException e)
            {
                // Another version's shape: its row shows no counts rather than breaking the page.
                LogUnreadable(_logger, id, e.Message);
            }
        }

        _published = published.ToFrozenDictionary();
        RaiseChanged();
    }

    public void Dispose() => _members.Changed -= RaiseChanged;

    private void RaiseChanged() => Changed?.Invoke();

    private async Task NotifyAsync(Func<Task> onChange)
    {
        try
        {
            await onChange();
        }
        catch (Exception e)
        {
            LogSubscriberFailed(_logger, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The telemetry instance {InstanceId} published cannot be read ({Reason}).")]
    private static partial void LogUnreadable(ILogger logger, string instanceId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A deployment telemetry subscriber failed.")]
    private static partial void LogSubscriberFailed(ILogger logger, Exception exception);
}
