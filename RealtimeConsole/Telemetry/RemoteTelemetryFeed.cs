using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Options;
using RealtimeConsole.RateLimits;
using RealtimeConsole.Tokens;

namespace RealtimeConsole.Telemetry;

public enum RemoteConnectionKind
{
    Connecting,
    Connected,
    Reconnecting,
    Disconnected,
}

/// <summary>
/// Where the link to a watched instance stands. Connecting/Reconnecting: try number <see cref="Attempt"/> starts at <see cref="NextTryAt"/>
/// (null or past: under way); <see cref="Reason"/> says in words why the last try or the link failed (Disconnected: why it ended).
/// </summary>
public sealed record RemoteConnectionState(RemoteConnectionKind Kind, int Attempt = 0, DateTimeOffset? NextTryAt = null, string? Reason = null);

/// <summary>Another running instance's dashboard state, followed over its <c>/hubs/telemetry</c>; dispose to disconnect.</summary>
public interface IRemoteTelemetryFeed : ITelemetryFeed, IAsyncDisposable
{
    /// <summary>The instance's root address as the user typed it (normalised).</summary>
    Uri Instance { get; }

    RemoteConnectionState Connection { get; }

    /// <summary>The last state received, or null before the first one arrives.</summary>
    DashboardState? Latest { get; }

    /// <summary>When <see cref="Latest"/> arrived.</summary>
    DateTimeOffset? LatestAt { get; }

    /// <summary>
    /// The instance's clock minus this machine's, read from its last update (captured there at <c>CapturedAt</c>, received
    /// here at <see cref="LatestAt"/>; off by the one-way latency at most). Zero before the first update. Its deadlines
    /// (expiry, cooldown, budget reset) are on its clock, so countdowns add this to our clock's now.
    /// </summary>
    TimeSpan ClockOffset { get; }

    /// <summary>Connects in the background, retrying until <see cref="StopAsync"/> or disposal.</summary>
    void Start();

    Task StopAsync();
}

/// <summary>Makes the remote feeds the dashboard uses, for the configured instances only; tests replace it with fakes.</summary>
public interface IRemoteTelemetryFeedFactory
{
    /// <summary>The allow-list (<c>Telemetry:RemoteInstances</c>) the dashboard offers.</summary>
    IReadOnlyList<RemoteInstance> Instances { get; }

    /// <summary>A feed for the instance of that name, or null when none is configured (nothing is connected then).</summary>
    IRemoteTelemetryFeed? Create(string name);
}

public sealed partial class RemoteTelemetryFeedFactory(IOptions<RemoteInstancesOptions> options, TimeProvider time, ILogger<RemoteTelemetryFeed> logger) : IRemoteTelemetryFeedFactory
{
    public IReadOnlyList<RemoteInstance> Instances { get; } = options.Value.Instances();

    public IRemoteTelemetryFeed? Create(string name)
    {
        if (Instances.FirstOrDefault(i => string.Equals(i.Name, name, StringComparison.OrdinalIgnoreCase)) is not { } instance)
        {
            NotInAllowList(logger, name);
            return null;
        }

        return new RemoteTelemetryFeed(instance.Url, time, logger, apiKey: instance.ApiKey);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused to watch '{Name}': it is not in Telemetry:RemoteInstances")]
    private static partial void NotInAllowList(ILogger logger, string name);
}

/// <summary>
/// The SignalR side of watching another instance: automatic reconnect with <see cref="RemoteRetryPolicy"/> (its schedule read on the
/// injected clock), first connects retried on that clock too, and the <c>Snapshots</c> stream opened again after every reconnect.
/// </summary>
public sealed partial class RemoteTelemetryFeed : IRemoteTelemetryFeed
{
    private readonly HubConnection _connection;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RemoteRetryPolicy _retry;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<Func<Task>> _subscribers = [];
    private Task _run = Task.CompletedTask;
    private DashboardState? _latest;
    private DateTimeOffset? _latestAt;
    private TimeSpan _clockOffset;
    private RemoteConnectionState _state = new(RemoteConnectionKind.Connecting);

    /// <param name="apiKey">The instance's API key, sent as a bearer token to its hub only.</param>
    public RemoteTelemetryFeed(Uri instance, TimeProvider time, ILogger<RemoteTelemetryFeed> logger, IReadOnlyList<TimeSpan>? retryDelays = null, string? apiKey = null)
    {
        Instance = instance;
        _time = time;
        _logger = logger;
        _retry = new RemoteRetryPolicy(time, retryDelays ?? RemoteRetryPolicy.DefaultDelays, OnRetryScheduled);
        _connection = TelemetryHubClient.Build(new Uri(instance, TelemetryHubFeature.HubPath), _retry, apiKey);
        _connection.Reconnected += _ =>
        {
            SetState(new RemoteConnectionState(RemoteConnectionKind.Connected));
            return Task.CompletedTask;
        };
        _connection.Closed += error =>
        {
            if (!_stop.IsCancellationRequested)
            {
                SetState(new RemoteConnectionState(RemoteConnectionKind.Disconnected, Reason: Explain(error)));
            }

            return Task.CompletedTask;
        };
    }

    public Uri Instance { get; }

    public RemoteConnectionState Connection => Volatile.Read(ref _state);

    public DashboardState? Latest => Volatile.Read(ref _latest);

    public DateTimeOffset? LatestAt
    {
        get
        {
            lock (_gate)
            {
                return _latestAt;
            }
        }
    }

    public TimeSpan ClockOffset
    {
        get
        {
            lock (_gate)
            {
                return _clockOffset;
            }
        }
    }

    public DashboardState Current => Latest ?? EmptyState(_time.GetUtcNow());

    public IDisposable Subscribe(Func<Task> onChange)
    {
        lock (_gate)
        {
            _subscribers.Add(onChange);
        }

        return new Subscription(this, onChange);
    }

    public void Start() => _run = RunAsync(_stop.Token);

    public async Task StopAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync();
        await _run;
        await _connection.StopAsync();
        SetState(new RemoteConnectionState(RemoteConnectionKind.Disconnected, Reason: "You stopped watching this instance."));
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _connection.DisposeAsync();
        _stop.Dispose();
    }

    /// <summary>A state with no secret, no calls and every resource at zero, shown until the first update arrives.</summary>
    public static DashboardState EmptyState(DateTimeOffset now) => new(
        new BrokerTelemetrySnapshot(
            now,
            new SecretSnapshot(SecretMode.Shared, null, null, null, null, 0, 0),
            new SecretCounters(0, 0, 0, 0, 0, null, null),
            Enum.GetValues<UpstreamResource>().Select(r => new ResourceSnapshot(r.ToWireName(), new Dictionary<string, long>(), 0, 0, [], null, null, 0, null)).ToList(),
            BackoffState.Idle,
            null,
            []),
        RequestHistorySnapshot.Empty);

    /// <summary>"Cannot reach it: Connection refused (127.0.0.1:5000)." and the like: why the link is down, for a person.</summary>
    public static string Explain(Exception? error) => error switch
    {
        null => "The instance closed the connection.",
        HttpRequestException { StatusCode: System.Net.HttpStatusCode.NotFound } => "No telemetry hub at this address (404): is it a RealtimeConsole?",
        HttpRequestException { StatusCode: { } status } => $"The instance answered {(int)status} {status}.",
        HttpRequestException http => $"Cannot reach it: {http.Message}",
        System.Net.WebSockets.WebSocketException { InnerException: HttpRequestException http } => $"Cannot reach it: {http.Message}",
        System.Net.WebSockets.WebSocketException { WebSocketErrorCode: System.Net.WebSockets.WebSocketError.NotAWebSocket } refused => $"The instance refused the connection ({refused.Message}): is the API key in Telemetry:RemoteInstances its Auth:ApiKey?",
        TimeoutException => "The instance stopped answering (timed out).",
        System.Net.WebSockets.WebSocketException or IOException => "The instance dropped the connection: it may have stopped or restarted.",
        _ => $"The connection was lost: {error.Message}",
    };

    private async Task RunAsync(CancellationToken stop)
    {
        try
        {
            var failures = 0;
            while (!stop.IsCancellationRequested)
            {
                if (_connection.State == HubConnectionState.Disconnected)
                {
                    SetState(Connection with { Kind = RemoteConnectionKind.Connecting, Attempt = failures + 1, NextTryAt = null });
                    try
                    {
                        await _connection.StartAsync(stop);
                        failures = 0;
                        SetState(new RemoteConnectionState(RemoteConnectionKind.Connected));
                    }
                    catch (Exception ex) when (!stop.IsCancellationRequested)
                    {
                        var delay = _retry.DelayAfter(failures++);
                        RemoteLog.ConnectFailed(_logger, Instance, ex);
                        SetState(new RemoteConnectionState(RemoteConnectionKind.Connecting, failures + 1, _time.GetUtcNow() + delay, Explain(ex)));
                        await Task.Delay(delay, _time, stop);
                        continue;
                    }
                }

                await FollowSnapshotsAsync(stop);
                await TelemetryHubClient.WaitUntilConnectedAsync(_connection, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopped by the page: StopAsync takes it from here.
        }
    }

    private async Task FollowSnapshotsAsync(CancellationToken stop)
    {
        try
        {
            await foreach (var state in _connection.StreamAsync<DashboardState>(nameof(TelemetryHub.Snapshots), stop))
            {
                lock (_gate)
                {
                    _latest = state;
                    _latestAt = _time.GetUtcNow();
                    _clockOffset = state.Snapshot.CapturedAt - _latestAt.Value;
                }

                await NotifyAsync();
            }
        }
        catch (Exception ex) when (!stop.IsCancellationRequested)
        {
            RemoteLog.StreamEnded(_logger, Instance, ex);
        }

        if (_connection.State == HubConnectionState.Connected)
        {
            await Task.Delay(TelemetryHubClient.StreamReopenGap, _time, stop);
        }
    }

    private void OnRetryScheduled(int attempt, DateTimeOffset nextTryAt, Exception? reason) =>
        SetState(new RemoteConnectionState(RemoteConnectionKind.Reconnecting, attempt, nextTryAt, Explain(reason)));

    private void SetState(RemoteConnectionState state)
    {
        Volatile.Write(ref _state, state);
        _ = NotifyAsync();
    }

    private async Task NotifyAsync()
    {
        Func<Task>[] subscribers;
        lock (_gate)
        {
            subscribers = [.. _subscribers];
        }

        foreach (var subscriber in subscribers)
        {
            try
            {
                await subscriber();
            }
            catch (Exception ex)
            {
                RemoteLog.SubscriberFailed(_logger, ex);
            }
        }
    }

    private sealed class Subscription(RemoteTelemetryFeed feed, Func<Task> onChange) : IDisposable
    {
        public void Dispose()
        {
            lock (feed._gate)
            {
                feed._subscribers.Remove(onChange);
            }
        }
    }

    private static partial class RemoteLog
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Cannot connect to the telemetry hub of {Instance}; trying again")]
        public static partial void ConnectFailed(ILogger logger, Uri instance, Exception exception);

        [LoggerMessage(Level = LogLevel.Debug, Message = "The snapshot stream from {Instance} ended; it reopens once the connection is back")]
        public static partial void StreamEnded(ILogger logger, Uri instance, Exception exception);

        [LoggerMessage(Level = LogLevel.Warning, Message = "A remote telemetry subscriber failed")]
        public static partial void SubscriberFailed(ILogger logger, Exception exception);
    }
}

/// <summary>
/// Reconnects after 0, 1, 2, 5, then every 10 seconds without giving up, and tells its owner which try comes next and when,
/// reading the time on the injected clock.
/// </summary>
public sealed class RemoteRetryPolicy(TimeProvider time, IReadOnlyList<TimeSpan> delays, Action<int, DateTimeOffset, Exception?> scheduled) : IRetryPolicy
{
    public static readonly IReadOnlyList<TimeSpan> DefaultDelays =
        [TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)];

    public TimeSpan DelayAfter(int previousTries) => delays[Math.Min(previousTries, delays.Count - 1)];

    public TimeSpan? NextRetryDelay(RetryContext retryContext)
    {
        var delay = DelayAfter((int)Math.Min(retryContext.PreviousRetryCount, int.MaxValue));
        scheduled((int)Math.Min(retryContext.PreviousRetryCount + 1, int.MaxValue), time.GetUtcNow() + delay, retryContext.RetryReason);
        return delay;
    }
}
