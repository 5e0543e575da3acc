using RealtimeConsole.Bench;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Bench;

[Collection(BenchCollection.Name)]
public sealed class SimulatedActivityTests
{
    [Fact]
    public async Task Settle_waits_for_the_worlds_work_and_not_for_pool_threads_busy_outside_it()
    {
        var activity = new SimulatedActivity();
        using var started = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        // A pool thread the host keeps busy for good (a test runner's, say): waiting for the whole pool to idle never ends.
        var hostThread = Task.Run(() =>
        {
            started.Set();
            release.Wait();
        });
        Assert.True(started.Wait(ConditionWaiter.Patience));

        var hops = 0;
        var work = activity.Start(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                await Task.Yield();
                hops++;
            }

            return hops;
        });
        await Task.Factory.StartNew(activity.Settle, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        Assert.True(work.IsCompletedSuccessfully);
        Assert.Equal(20, await work);
        Assert.Equal(0, activity.SettleTimeouts);
        release.Set();
        await hostThread;
    }
}
