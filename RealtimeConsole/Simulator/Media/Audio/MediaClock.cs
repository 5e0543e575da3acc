namespace RealtimeConsole.Simulator.Media.Audio;

/// <summary>
/// One 20 ms tick shared by every call's outgoing audio: a single timer instead of one per call keeps pacing even
/// with many calls, and it only runs while some call is subscribed.
/// </summary>
internal sealed class MediaClock : IDisposable
{
    public static readonly TimeSpan Frame = TimeSpan.FromMilliseconds(20);

    private readonly Lock _gate = new();
    private const int MaxCatchUpFrames = 5;
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private Action[] _subscribers = [];
    private int _busy;
    private long _started;
    private long _framesDelivered;

    public MediaClock(TimeProvider time)
    {
        _time = time;
        _timer = time.CreateTimer(_ => Tick(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public int Subscribers => Volatile.Read(ref _subscribers).Length;

    public void Subscribe(Action tick)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers, tick];
            if (_subscribers.Length == 1)
            {
                _started = _time.GetTimestamp();
                _framesDelivered = 0;
                _timer.Change(Frame, Frame);
            }
        }
    }

    public void Unsubscribe(Action tick)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers.Where(s => s != tick)];
            if (_subscribers.Length == 0)
            {
                _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
        }
    }

    public void Dispose() => _timer.Dispose();

    private void Tick()
    {
        // A tick that overruns its 20 ms is not stacked on by the next one.
        if (Interlocked.Exchange(ref _busy, 1) == 1)
        {
            return;
        }

        try
        {
            // Timer ticks drift late; sending every frame that is due keeps each track at exactly 50 packets a second.
            var due = (long)(_time.GetElapsedTime(Volatile.Read(ref _started)) / Frame);
            var frames = Math.Clamp(due - _framesDelivered, 0, MaxCatchUpFrames);
            _framesDelivered = Math.Max(_framesDelivered + frames, due - MaxCatchUpFrames);
            for (var f = 0; f < frames; f++)
            {
                foreach (var tick in Volatile.Read(ref _subscribers))
                {
                    tick();
                }
            }
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }
}
