using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.RateLimits;

namespace RealtimeConsole.Tests.RateLimits;

public sealed class UpstreamBudgetTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task Grants_up_to_the_limit_then_refills_one_slot_per_interval_on_the_injected_clock()
    {
        using var budget = new UpstreamBudget(UpstreamResource.ClientSecrets, 20, _time);
        for (var i = 0; i < 20; i++)
        {
            Assert.True((await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None)).IsGranted);
        }

        var refused = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        Assert.False(refused.IsGranted);
        Assert.Equal(TimeSpan.FromSeconds(3), refused.RetryAfter);

        var waiting = budget.AcquireAsync(TimeSpan.FromSeconds(5), CancellationToken.None).AsTask();
        _time.Advance(TimeSpan.FromSeconds(2.999));
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True((await waiting.WaitAsync(TimeSpan.FromSeconds(10))).IsGranted);
    }

    [Fact]
    public async Task Remaining_from_headers_lowers_the_local_level_but_never_raises_it()
    {
        using var budget = new UpstreamBudget(UpstreamResource.Calls, 60, _time);
        await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        budget.Complete(new RateLimitHeaders(60, 5, TimeSpan.FromSeconds(55)));
        Assert.Equal(5, budget.Available);

        await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        budget.Complete(new RateLimitHeaders(60, 50, TimeSpan.FromSeconds(10)));
        Assert.Equal(4, budget.Available);
    }

    [Fact]
    public async Task Requests_still_in_flight_are_subtracted_from_upstreams_remaining()
    {
        using var budget = new UpstreamBudget(UpstreamResource.Calls, 60, _time);
        for (var i = 0; i < 3; i++)
        {
            await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        }

        // Upstream counted only the first of the three when it said 10 remain.
        budget.Complete(new RateLimitHeaders(60, 10, null));
        Assert.Equal(8, budget.Available);
    }

    [Fact]
    public async Task A_caller_cancelling_while_queued_leaves_the_queue()
    {
        using var budget = new UpstreamBudget(UpstreamResource.Calls, 1, _time);
        await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        using var cancel = new CancellationTokenSource();

        var waiting = budget.AcquireAsync(TimeSpan.FromSeconds(30), cancel.Token).AsTask();
        Assert.Equal(1, budget.Queued);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(0, budget.Queued);
    }
}
