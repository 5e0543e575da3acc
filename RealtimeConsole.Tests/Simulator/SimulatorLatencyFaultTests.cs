using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace RealtimeConsole.Tests.Simulator;

public sealed class SimulatorLatencyFaultTests
{
    [Fact]
    public async Task A_latency_fault_holds_each_answer_for_its_delay_on_the_simulated_clock()
    {
        var clock = new TimerWatchingTimeProvider();
        await using var app = new SimulatorTestApp(f => f.WithServices(s => s.AddSingleton<TimeProvider>(clock)));
        var fault = await app.SendAsync(HttpMethod.Post, "/simulator/admin/faults", SimulatorTestApp.Json("""{"kind":"latency","seconds":30,"latencyMs":1500}"""), null);
        Assert.Equal(201, (int)fault.StatusCode);

        var mint = app.MintAsync();
        await clock.TimerCreated.Task.WaitAsync(TimeSpan.FromSeconds(30));

        clock.Fake.Advance(TimeSpan.FromMilliseconds(1499));
        Assert.False(mint.IsCompleted);
        clock.Fake.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(200, (int)(await mint.WaitAsync(TimeSpan.FromSeconds(30))).StatusCode);
    }

    /// <summary>The fake clock, telling the test when the simulator starts waiting on it (so the test never guesses).</summary>
    private sealed class TimerWatchingTimeProvider : TimeProvider
    {
        public FakeTimeProvider Fake { get; } = new(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));

        public TaskCompletionSource TimerCreated { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

        public override long GetTimestamp() => Fake.GetTimestamp();

        public override long TimestampFrequency => Fake.TimestampFrequency;

        public override TimeZoneInfo LocalTimeZone => Fake.LocalTimeZone;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = Fake.CreateTimer(callback, state, dueTime, period);
            // Other features may start timers too; only the fault's own delay counts.
            if (dueTime == TimeSpan.FromMilliseconds(1500))
            {
                TimerCreated.TrySetResult();
            }

            return timer;
        }
    }
}
