using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Simulator;

namespace RealtimeConsole.Tests.Simulator;

public sealed class RequestRateBucketTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public void A_full_bucket_admits_exactly_the_limit_then_refuses()
    {
        var bucket = new RequestRateBucket(_time, 30);
        for (var i = 0; i < 30; i++)
        {
            var decision = bucket.TryAcquire();
            Assert.True(decision.Admitted);
            Assert.Equal(29 - i, decision.Remaining);
        }

        var refused = bucket.TryAcquire();
        Assert.False(refused.Admitted);
        Assert.Equal(0, refused.Remaining);
        Assert.Equal(30, refused.Used);
    }

    [Fact]
    public void Refill_is_continuous_at_limit_per_minute()
    {
        var bucket = new RequestRateBucket(_time, 60);
        Drain(bucket, 60);

        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(bucket.TryAcquire().Admitted);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(bucket.TryAcquire().Admitted);
        Assert.False(bucket.TryAcquire().Admitted);

        _time.Advance(TimeSpan.FromSeconds(10.5));
        Assert.Equal(10, bucket.Peek().Remaining);
    }

    [Fact]
    public void Refill_never_exceeds_the_limit_after_a_long_idle()
    {
        var bucket = new RequestRateBucket(_time, 60);
        Drain(bucket, 10);
        _time.Advance(TimeSpan.FromDays(3));
        var level = bucket.Peek();
        Assert.Equal(60, level.Remaining);
        Assert.Equal(TimeSpan.Zero, level.ResetAfter);
    }

    [Fact]
    public void Retry_after_is_exactly_the_time_to_one_request()
    {
        var bucket = new RequestRateBucket(_time, 60);
        Drain(bucket, 60);
        _time.Advance(TimeSpan.FromMilliseconds(250));

        var refused = bucket.TryAcquire();
        Assert.False(refused.Admitted);
        Assert.Equal(TimeSpan.FromMilliseconds(750), refused.RetryAfter);
        Assert.Equal(TimeSpan.FromMilliseconds(59_750), refused.ResetAfter);

        _time.Advance(refused.RetryAfter);
        Assert.True(bucket.TryAcquire().Admitted);
    }

    [Fact]
    public void Retry_after_for_an_uneven_rate_rounds_up_and_is_then_enough()
    {
        var bucket = new RequestRateBucket(_time, 7);
        Drain(bucket, 7);

        var refused = bucket.TryAcquire();
        Assert.Equal(TimeSpan.FromTicks(85_714_286), refused.RetryAfter);
        Assert.Equal(8572, OpenAiDuration.CeilingMilliseconds(refused.RetryAfter));

        _time.Advance(refused.RetryAfter - TimeSpan.FromTicks(1));
        Assert.False(bucket.TryAcquire().Admitted);
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.True(bucket.TryAcquire().Admitted);
    }

    [Fact]
    public void Refund_gives_a_request_back_without_passing_the_limit()
    {
        var bucket = new RequestRateBucket(_time, 5);
        bucket.TryAcquire();
        Assert.Equal(5, bucket.Refund().Remaining);
        Assert.Equal(5, bucket.Refund().Remaining);
    }

    [Fact]
    public void Changing_the_limit_keeps_what_was_used()
    {
        var bucket = new RequestRateBucket(_time, 30);
        Drain(bucket, 30);
        bucket.SetLimit(100);
        Assert.Equal(70, bucket.Peek().Remaining);
        bucket.SetLimit(10);
        Assert.Equal(0, bucket.Peek().Remaining);
        bucket.Reset();
        Assert.Equal(10, bucket.Peek().Remaining);
    }

    [Fact]
    public void The_system_clock_frequency_gives_the_same_arithmetic()
    {
        // The system clock's timestamp frequency (1 GHz on Linux, not the fake clock's 10 MHz), held still so no stall refills.
        var clock = new StillClockAtSystemFrequency();
        var bucket = new RequestRateBucket(clock, 60);
        Drain(bucket, 60);
        var refused = bucket.TryAcquire();
        Assert.False(refused.Admitted);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.RetryAfter);

        clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(bucket.TryAcquire().Admitted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(bucket.TryAcquire().Admitted);
    }

    private sealed class StillClockAtSystemFrequency : TimeProvider
    {
        private long _timestamp = Stopwatch.GetTimestamp();

        public override long TimestampFrequency => Stopwatch.Frequency;

        public override long GetTimestamp() => _timestamp;

        public void Advance(TimeSpan by) => _timestamp += (long)(by.TotalSeconds * TimestampFrequency);
    }

    [Fact]
    public void Concurrent_acquires_admit_exactly_the_limit()
    {
        var bucket = new RequestRateBucket(_time, 1000);
        var admitted = 0;
        Parallel.For(0, 5000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ =>
        {
            if (bucket.TryAcquire().Admitted)
            {
                Interlocked.Increment(ref admitted);
            }
        });
        Assert.Equal(1000, admitted);
    }

    private static void Drain(RequestRateBucket bucket, int count)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.True(bucket.TryAcquire().Admitted);
        }
    }
}
