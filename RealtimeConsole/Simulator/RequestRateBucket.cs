namespace RealtimeConsole.Simulator;

/// <summary>What a bucket said about one request: admitted or not, and the numbers for the headers and the 429 body.</summary>
/// <param name="Admitted">True when the request may go ahead (a request was taken from the budget).</param>
/// <param name="Limit">Requests per minute.</param>
/// <param name="Remaining">Whole requests left after this one.</param>
/// <param name="ResetAfter">Time until the budget is full again (<c>x-ratelimit-reset-requests</c>).</param>
/// <param name="RetryAfter">When refused: time until one request is available again; zero when admitted.</param>
public readonly record struct RateLimitDecision(bool Admitted, int Limit, int Remaining, TimeSpan ResetAfter, TimeSpan RetryAfter)
{
    /// <summary>Requests counted against the current window (for OpenAI's "Used n" in the 429 message).</summary>
    public int Used => Limit - Remaining;
}

/// <summary>
/// Requests per minute with continuous refill (limit/60 per second), on the injected clock. Integer arithmetic keeps
/// waits exact: one request is <c>60 × frequency</c> units and every elapsed timestamp tick adds <c>limit</c> units.
/// </summary>
public sealed class RequestRateBucket
{
    /// <summary>The highest limit the integer arithmetic allows without overflow.</summary>
    public const int MaxLimit = 100_000_000;

    private readonly TimeProvider _time;
    private readonly long _frequency;
    private readonly long _unitsPerRequest;
    private readonly long _fullRefillTicks;
    private readonly Lock _gate = new();
    private int _limit;
    private long _units;
    private long _stamp;

    public RequestRateBucket(TimeProvider time, int requestsPerMinute)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(requestsPerMinute, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(requestsPerMinute, MaxLimit);
        _time = time;
        _frequency = time.TimestampFrequency;
        _fullRefillTicks = 60 * _frequency;
        _unitsPerRequest = _fullRefillTicks;
        _limit = requestsPerMinute;
        _units = Capacity(requestsPerMinute);
        _stamp = time.GetTimestamp();
    }

    public int Limit => Volatile.Read(ref _limit);

    /// <summary>Takes one request if the budget has one.</summary>
    public RateLimitDecision TryAcquire() => TryAcquire(1);

    /// <summary>Takes <paramref name="count"/> (requests, or tokens for a token budget) if the budget holds them all.</summary>
    public RateLimitDecision TryAcquire(int count)
    {
        lock (_gate)
        {
            Refill();
            var needed = count * _unitsPerRequest;
            if (_units >= needed)
            {
                _units -= needed;
                return Decide(admitted: true, TimeSpan.Zero);
            }

            return Decide(admitted: false, ToTimeSpan(CeilDiv(needed - _units, _limit)));
        }
    }

    /// <summary>Takes <paramref name="count"/> whatever is left, down to empty (tokens a response used beyond its reservation).</summary>
    public RateLimitDecision Take(int count)
    {
        lock (_gate)
        {
            Refill();
            _units = Math.Max(0, _units - (count * _unitsPerRequest));
            return Decide(admitted: true, TimeSpan.Zero);
        }
    }

    /// <summary>Gives back a request taken by <see cref="TryAcquire()"/> (failed requests when they are not counted).</summary>
    public RateLimitDecision Refund() => Refund(1);

    /// <summary>Gives back <paramref name="count"/> taken earlier (a response's reserved tokens it did not use).</summary>
    public RateLimitDecision Refund(int count)
    {
        lock (_gate)
        {
            Refill();
            _units = Math.Min(Capacity(_limit), _units + (count * _unitsPerRequest));
            return Decide(admitted: true, TimeSpan.Zero);
        }
    }

    /// <summary>The current level without taking anything.</summary>
    public RateLimitDecision Peek()
    {
        lock (_gate)
        {
            Refill();
            return Decide(_units >= _unitsPerRequest, TimeSpan.Zero);
        }
    }

    /// <summary>Changes the limit at once; requests already used stay used.</summary>
    public void SetLimit(int requestsPerMinute)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(requestsPerMinute, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(requestsPerMinute, MaxLimit);
        lock (_gate)
        {
            Refill();
            var used = Capacity(_limit) - _units;
            _limit = requestsPerMinute;
            _units = Math.Max(0, Capacity(requestsPerMinute) - used);
        }
    }

    /// <summary>Fills the budget.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _units = Capacity(_limit);
            _stamp = _time.GetTimestamp();
        }
    }

    private long Capacity(int limit) => limit * _unitsPerRequest;

    private void Refill()
    {
        var now = _time.GetTimestamp();
        var elapsed = Math.Min(now - _stamp, _fullRefillTicks);
        _stamp = now;
        if (elapsed > 0)
        {
            _units = Math.Min(Capacity(_limit), _units + (elapsed * _limit));
        }
    }

    private RateLimitDecision Decide(bool admitted, TimeSpan retryAfter)
    {
        var resetAfter = ToTimeSpan(CeilDiv(Capacity(_limit) - _units, _limit));
        return new RateLimitDecision(admitted, _limit, (int)(_units / _unitsPerRequest), resetAfter, retryAfter);
    }

    private static long CeilDiv(long value, long divisor) => value <= 0 ? 0 : (value + divisor - 1) / divisor;

    private TimeSpan ToTimeSpan(long timestampTicks)
    {
        if (_frequency == TimeSpan.TicksPerSecond)
        {
            return TimeSpan.FromTicks(timestampTicks);
        }

        var whole = timestampTicks / _frequency;
        var rest = timestampTicks % _frequency;
        return TimeSpan.FromTicks((whole * TimeSpan.TicksPerSecond) + CeilDiv(rest * TimeSpan.TicksPerSecond, _frequency));
    }
}
