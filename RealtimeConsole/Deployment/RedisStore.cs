using StackExchange.Redis;

namespace RealtimeConsole.Deployment;

/// <summary>
/// The one Redis connection an instance shares with the rest of its deployment, the names of its keys and channels, and
/// whether it is reachable now. Every shared part (budgets, cooldown, quota gate, secret cache, telemetry) goes through it,
/// and each falls back to what this instance can do alone while <see cref="IsAvailable"/> is false.
/// </summary>
public sealed partial class RedisStore : IAsyncDisposable
{
    private readonly TimeProvider _time;
    private readonly ILogger<RedisStore> _logger;
    private readonly string _prefix;
    private readonly Lock _gate = new();
    private readonly ITimer _recheck;
    private DateTimeOffset? _unreachableSince;

    public RedisStore(ConfigurationOptions options, string deploymentName, string instanceId, TimeProvider time, ILogger<RedisStore> logger)
    {
        _time = time;
        _logger = logger;
        DeploymentName = deploymentName;

        // One hash tag for the deployment: every key of it lives in one slot, so scripts may touch several (Redis Cluster).
        _prefix = "rc:{" + deploymentName + "}:";
        options.ClientName ??= "realtime-console:" + instanceId;
        _recheck = time.CreateTimer(_ => _ = RecheckAsync(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

        // Every channel on this connection (ours, SignalR's backplane, the cache's) lives in the deployment's name space.
        options.ChannelPrefix = RedisChannel.Literal(_prefix);
        Connection = ConnectionMultiplexer.Connect(options);
        Connection.ConnectionFailed += (_, e) => MarkUnreachable(e.Exception?.Message ?? e.FailureType.ToString());
        // Back only once commands can go: the subscription connection may come back before the command connection does.
        Connection.ConnectionRestored += (_, _) => ReportSuccess();
        if (!Connection.IsConnected)
        {
            MarkUnreachable("no connection at start-up");
        }
    }

    public string DeploymentName { get; }

    public IConnectionMultiplexer Connection { get; }

    public IDatabase Database => Connection.GetDatabase();

    public ISubscriber Subscriber => Connection.GetSubscriber();

    /// <summary>True while the shared store answers.</summary>
    public bool IsAvailable => Connection.IsConnected && UnreachableSince is null;

    /// <summary>Since when the store has not answered; null while it does.</summary>
    public DateTimeOffset? UnreachableSince
    {
        get { lock (_gate) { return _unreachableSince; } }
    }

    /// <summary>Raised when the store becomes unreachable or reachable again.</summary>
    public event Action? AvailabilityChanged;

    /// <summary>Raised after each timed check of an unreachable store, answered or not (a test on a fake clock waits on it, not on a sleep).</summary>
    public event Action? Rechecked;

    public RedisKey Key(string name) => _prefix + name;

    /// <summary>A channel of this deployment (the connection adds the deployment's prefix to every channel it uses).</summary>
    public RedisChannel Channel(string name) => RedisChannel.Literal(name);

    /// <summary>
    /// Listens on <paramref name="channel"/> from now on: at once when Redis answers, else as soon as it does (an instance
    /// started while Redis is down must start, and hear the others once it is back).
    /// </summary>
    public void SubscribeWhenAvailable(RedisChannel channel, Action<RedisChannel, RedisValue> handler)
    {
        var subscribed = 0;
        void TrySubscribe()
        {
            if (!Connection.IsConnected || Interlocked.Exchange(ref subscribed, 1) == 1)
            {
                return;
            }

            Subscriber.SubscribeAsync(channel, handler).ContinueWith(
                attempt => Interlocked.Exchange(ref subscribed, 0),
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }

        AvailabilityChanged += TrySubscribe;
        Connection.ConnectionRestored += (_, _) => TrySubscribe();
        TrySubscribe();
    }

    /// <summary>Stops listening on <paramref name="channel"/> without waiting, whether or not Redis answers.</summary>
    public void Unsubscribe(RedisChannel channel)
    {
        try
        {
            Subscriber.Unsubscribe(channel, null, CommandFlags.FireAndForget);
        }
        catch (RedisException)
        {
            // Redis is away: the subscription ends with the connection.
        }
    }

    /// <summary>A command failed (timeout, connection lost): the caller falls back, and the store counts as unreachable until it answers again.</summary>
    public void ReportFailure(Exception failure) => MarkUnreachable(failure.Message);

    /// <summary>A command succeeded after failures: the store is back.</summary>
    public void ReportSuccess()
    {
        if (UnreachableSince is not null && Connection.IsConnected)
        {
            MarkReachable();
        }
    }

    private void MarkUnreachable(string reason)
    {
        lock (_gate)
        {
            if (_unreachableSince is not null)
            {
                return;
            }

            _unreachableSince = _time.GetUtcNow();
        }

        // A slow or lost Redis says nothing when it is back: ask it every second until it answers.
        _recheck.Change(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        LogUnreachable(_logger, reason);
        AvailabilityChanged?.Invoke();
    }

    private void MarkReachable()
    {
        lock (_gate)
        {
            if (_unreachableSince is null)
            {
                return;
            }

            _unreachableSince = null;
        }

        _recheck.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

        LogReachable(_logger);
        AvailabilityChanged?.Invoke();
    }

    private async Task RecheckAsync()
    {
        try
        {
            await Database.PingAsync();
            ReportSuccess();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Still unreachable; the next tick asks again.
        }
        finally
        {
            Rechecked?.Invoke();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _recheck.DisposeAsync();
        await Connection.DisposeAsync();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The shared store (Redis) is unreachable ({Reason}); this instance runs on its own share until it is back.")]
    private static partial void LogUnreachable(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The shared store (Redis) answers again; this instance rejoins the deployment.")]
    private static partial void LogReachable(ILogger logger);
}
