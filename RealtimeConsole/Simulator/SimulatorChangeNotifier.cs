namespace RealtimeConsole.Simulator;

/// <summary>
/// Tells subscribers (the <c>/simulator</c> page) that something changed, coalesced to at most one call per
/// <see cref="Interval"/> on the injected clock, so a flood of requests costs one flag check each.
/// </summary>
public sealed class SimulatorChangeNotifier : IDisposable
{
    /// <summary>At most four notifications a second.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    private readonly Lock _gate = new();
    private readonly ITimer _timer;
    private Func<Task>[] _subscribers = [];
    private int _pending;

    public SimulatorChangeNotifier(TimeProvider time, SimulatorRateLimiter limiter, SimulatorFaults faults)
    {
        _timer = time.CreateTimer(_ => _ = FlushAsync(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        limiter.Changed += Notify;
        faults.Changed += Notify;
    }

    /// <summary>Calls <paramref name="onChange"/> after changes (coalesced); dispose the result to stop.</summary>
    public IDisposable Subscribe(Func<Task> onChange)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers, onChange];
        }

        return new Subscription(this, onChange);
    }

    /// <summary>Marks a change; the subscribers hear of it within <see cref="Interval"/>.</summary>
    public void Notify()
    {
        if (Volatile.Read(ref _subscribers).Length == 0 || Interlocked.Exchange(ref _pending, 1) == 1)
        {
            return;
        }

        _timer.Change(Interval, Timeout.InfiniteTimeSpan);
    }

    public void Dispose() => _timer.Dispose();

    private async Task FlushAsync()
    {
        Volatile.Write(ref _pending, 0);
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            try
            {
                await subscriber();
            }
            catch (ObjectDisposedException)
            {
                // A page that went away between the snapshot and the call; its subscription is being disposed.
            }
        }
    }

    private void Unsubscribe(Func<Task> onChange)
    {
        lock (_gate)
        {
            _subscribers = Array.FindAll(_subscribers, s => s != onChange);
        }
    }

    private sealed class Subscription(SimulatorChangeNotifier owner, Func<Task> onChange) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Unsubscribe(onChange);
            }
        }
    }

    /// <summary>The number of live subscriptions (for tests).</summary>
    internal int SubscriberCount => Volatile.Read(ref _subscribers).Length;
}
