using System.Diagnostics;

namespace RealtimeConsole.Bench;

/// <summary>
/// Knows when the simulated world is waiting on its fake clock. Work started through <see cref="Start{T}"/> carries an
/// <see cref="AsyncLocal{T}"/> tag that flows into every continuation and in-memory request it causes; the tag's change
/// notifications count the threads running the world's code right now. The world is settled when none is, nothing is
/// queued to the thread pool, and no more pool threads are busy than the floor (a pool thread that has taken an item but
/// not yet entered its context is busy, yet neither queued nor tagged). The floor is learnt once per process: threads a
/// host keeps busy for good (a test runner's) would otherwise stall every step, as "wait for the whole pool to go idle" did.
/// </summary>
public sealed class SimulatedActivity
{
    /// <summary>A safety net on the wall clock against a hang: a settle that takes longer gives up and is counted. Generous, because
    /// giving up moves the fake clock while work is still running, and a busy machine can stall a step for seconds.</summary>
    public static readonly TimeSpan SettleLimit = TimeSpan.FromSeconds(30);

    // Busy pool threads that stay above the floor this long with no world work running or queued are the host's own.
    private static readonly TimeSpan FloorRelearn = TimeSpan.FromMilliseconds(50);

    private const int QuietLooks = 3;

    private static int s_busyFloor;

    private readonly AsyncLocal<SimulatedActivity?> _tag;
    private readonly List<Func<bool>> _busyChecks = [];
    private int _running;
    private int _settleTimeouts;

    public SimulatedActivity() => _tag = new AsyncLocal<SimulatedActivity?>(OnTagChanged);

    /// <summary>Adds work outside the thread pool that the world waits for (a Redis round trip): busy while it says so.</summary>
    public void AddBusyCheck(Func<bool> isBusy)
    {
        lock (_busyChecks)
        {
            _busyChecks.Add(isBusy);
        }
    }

    private bool OutsideWorkBusy()
    {
        lock (_busyChecks)
        {
            return _busyChecks.Any(check => check());
        }
    }

    /// <summary>Threads running the world's code now.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>How many settles hit <see cref="SettleLimit"/> (0 in a sound run; the bench reports it otherwise).</summary>
    public int SettleTimeouts => Volatile.Read(ref _settleTimeouts);

    /// <summary>Starts <paramref name="work"/> on the thread pool as part of the world, with no synchronization context.</summary>
    public Task<T> Start<T>(Func<Task<T>> work)
    {
        var previous = _tag.Value;
        _tag.Value = this;
        try
        {
            return Task.Run(work);
        }
        finally
        {
            _tag.Value = previous;
        }
    }

    /// <inheritdoc cref="Start{T}"/>
    public Task Start(Func<Task> work) => Start(async () =>
    {
        await work();
        return true;
    });

    /// <summary>Waits (spinning, bounded by <see cref="SettleLimit"/>) until no world code runs and nothing is queued to run.</summary>
    public void Settle()
    {
        var wall = Stopwatch.StartNew();
        var quiet = 0;
        TimeSpan? calmSince = null;
        var calmBusy = int.MaxValue;
        while (quiet < QuietLooks)
        {
            if (wall.Elapsed > SettleLimit)
            {
                Interlocked.Increment(ref _settleTimeouts);
                return;
            }

            var busy = BusyPoolThreads();
            var floor = Volatile.Read(ref s_busyFloor);
            if (Running != 0 || OutsideWorkBusy())
            {
                quiet = 0;
                calmSince = null;
                calmBusy = int.MaxValue;
            }
            else if (busy <= floor)
            {
                Volatile.Write(ref s_busyFloor, busy);
                calmSince = null;
                calmBusy = int.MaxValue;
                quiet = ThreadPool.PendingWorkItemCount == 0 ? quiet + 1 : 0;
            }
            else
            {
                // Items queued now and then by the host (another test's timers) must not stop the floor being relearnt:
                // only the world's own running work does.
                quiet = 0;
                calmSince ??= wall.Elapsed;
                calmBusy = Math.Min(calmBusy, busy);
                if (wall.Elapsed - calmSince > FloorRelearn)
                {
                    Volatile.Write(ref s_busyFloor, calmBusy);
                }
            }

            Thread.Yield();
        }
    }

    private static int BusyPoolThreads()
    {
        ThreadPool.GetMaxThreads(out var max, out _);
        ThreadPool.GetAvailableThreads(out var available, out _);
        return max - available;
    }

    private void OnTagChanged(AsyncLocalValueChangedArgs<SimulatedActivity?> change)
    {
        if (ReferenceEquals(change.PreviousValue, this))
        {
            Interlocked.Decrement(ref _running);
        }

        if (ReferenceEquals(change.CurrentValue, this))
        {
            Interlocked.Increment(ref _running);
        }
    }
}
