using System.Threading.RateLimiting;

namespace RealtimeConsole.RateLimits;

/// <summary>
/// The door's per-client fixed window on the injected clock. A refusal carries the real wait until this client's window
/// reopens (the framework's fixed window always says the whole window), so Retry-After tells the truth.
/// </summary>
public sealed class DoorWindowLimiter(int permitsPerWindow, TimeSpan window, TimeProvider time) : RateLimiter
{
    private readonly Lock _gate = new();
    private DateTimeOffset _windowEnds = DateTimeOffset.MinValue;
    private int _used;

    public override TimeSpan? IdleDuration
    {
        get
        {
            lock (_gate)
            {
                var now = time.GetUtcNow();
                return now >= _windowEnds ? now - _windowEnds : null;
            }
        }
    }

    public override RateLimiterStatistics? GetStatistics()
    {
        lock (_gate)
        {
            return new RateLimiterStatistics { CurrentAvailablePermits = time.GetUtcNow() >= _windowEnds ? permitsPerWindow : permitsPerWindow - _used };
        }
    }

    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (now >= _windowEnds)
            {
                _windowEnds = now + window;
                _used = 0;
            }

            if (_used + permitCount <= permitsPerWindow)
            {
                _used += permitCount;
                return DoorLease.Granted;
            }

            return new DoorLease(false, _windowEnds - now);
        }
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(permitCount));

    private sealed class DoorLease(bool isAcquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public static readonly DoorLease Granted = new(true, null);

        public override bool IsAcquired => isAcquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = retryAfter;
            return retryAfter is not null && metadataName == MetadataName.RetryAfter.Name;
        }
    }
}
