using RealtimeConsole.Deployment;
using StackExchange.Redis;

namespace RealtimeConsole.Tests.Infrastructure;

/// <summary>
/// Waits for something another thread, instance or process makes true, re-checking it only when a hooked notification
/// fires (a product event, a Redis keyspace message, an exporter's callback, or <see cref="Pulse"/>): never on a timer.
/// Hook first, then wait: the first check runs after the hooks are in place, so no notification is lost in between.
/// </summary>
public sealed class ConditionWaiter : IAsyncDisposable
{
    /// <summary>Long enough for a busy 2-core machine; a condition that needs longer is a bug to report, not to wait out.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly List<Func<ValueTask>> _unhooks = [];
    private TaskCompletionSource _nextPulse = NewPulse();

    /// <summary>Something the condition reads may have changed: check it again.</summary>
    public void Pulse() => Interlocked.Exchange(ref _nextPulse, NewPulse()).TrySetResult();

    /// <summary>Re-checks whenever the event that <paramref name="subscribe"/> hooks is raised.</summary>
    public ConditionWaiter On(Action<Action> subscribe, Action<Action> unsubscribe)
    {
        Action handler = Pulse;
        subscribe(handler);
        return Unhooked(() => unsubscribe(handler));
    }

    /// <summary>Re-checks whenever the shared store's reachability may have changed: the store's own events and its connection's.</summary>
    public ConditionWaiter OnStore(RedisStore store)
    {
        EventHandler<ConnectionFailedEventArgs> connection = (_, _) => Pulse();
        store.Connection.ConnectionFailed += connection;
        store.Connection.ConnectionRestored += connection;
        Unhooked(() =>
        {
            store.Connection.ConnectionFailed -= connection;
            store.Connection.ConnectionRestored -= connection;
        });
        On(h => store.AvailabilityChanged += h, h => store.AvailabilityChanged -= h);
        return On(h => store.Rechecked += h, h => store.Rechecked -= h);
    }

    /// <summary>Re-checks after every heartbeat round of an instance (its list of members, and what the others published beside it).</summary>
    public ConditionWaiter OnHeartbeats(DeploymentMembers members) => On(h => members.Changed += h, h => members.Changed -= h);

    /// <summary>
    /// Re-checks whenever a key of <paramref name="redis"/> matching <paramref name="keyPattern"/> is written or removed, by any
    /// instance: Redis keyspace notifications (switched on here; a restarted server needs a new waiter).
    /// </summary>
    public async Task OnKeysAsync(RedisServer redis, string keyPattern)
    {
        var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
        _unhooks.Add(connection.DisposeAsync);
        await connection.GetServer(connection.GetEndPoints()[0]).ConfigSetAsync("notify-keyspace-events", "KA");
        await connection.GetSubscriber().SubscribeAsync(RedisChannel.Pattern("__keyspace@0__:" + keyPattern), (_, _) => Pulse());
    }

    /// <summary>Waits until <paramref name="condition"/> holds; fails after <see cref="Patience"/> naming <paramref name="what"/>.</summary>
    public Task UntilAsync(Func<bool> condition, string what, Func<Task>? nudge = null) =>
        UntilAsync(() => Task.FromResult(condition()), satisfied => satisfied, what, _ => "false", nudge);

    /// <inheritdoc cref="UntilAsync(Func{bool}, string, Func{Task})"/>
    public Task UntilAsync(Func<Task<bool>> condition, string what, Func<Task>? nudge = null) =>
        UntilAsync(condition, satisfied => satisfied, what, _ => "false", nudge);

    /// <summary>
    /// Reads until <paramref name="wanted"/> holds for what was read, and returns that. <paramref name="nudge"/>, if given, runs
    /// after each read that is not yet wanted (e.g. advancing a fake clock so a product timer fires); the wait is still for a notification.
    /// </summary>
    public async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> wanted, string what, Func<T, string> describe, Func<Task>? nudge = null)
    {
        using var patience = new CancellationTokenSource(Patience);
        while (true)
        {
            var changed = Volatile.Read(ref _nextPulse).Task;
            var value = await read();
            if (wanted(value))
            {
                return value;
            }

            if (nudge is not null)
            {
                await nudge();
            }

            try
            {
                await changed.WaitAsync(patience.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Waited {Patience.TotalSeconds:0} s for {what}; last seen: {describe(value)}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var unhook in _unhooks)
        {
            await unhook();
        }

        _unhooks.Clear();
    }

    private ConditionWaiter Unhooked(Action unhook)
    {
        _unhooks.Add(() =>
        {
            unhook();
            return ValueTask.CompletedTask;
        });
        return this;
    }

    private static TaskCompletionSource NewPulse() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
