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
    public async Task Remaining_from_headers_lowers_the_local_level_and_a_newer_answer_gives_back_only_what_that_took()
    {
        using var budget = new UpstreamBudget(UpstreamResource.Calls, 60, _time);
        var first = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        budget.Complete(first.Ticket, new RateLimitHeaders(60, 5, TimeSpan.FromSeconds(55)));
        Assert.Equal(5, budget.Available);

        var second = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        budget.Complete(second.Ticket, new RateLimitHeaders(60, 50, TimeSpan.FromSeconds(10)));
        Assert.Equal(50, budget.Available);

        // Upstream saying more than the local bucket allows never lifts the level above the bucket (58 after two requests).
        var third = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        budget.Complete(third.Ticket, new RateLimitHeaders(60, 60, null));
        Assert.Equal(57, budget.Available);
    }

    [Fact]
    public async Task An_older_answer_arriving_late_never_raises_the_level()
    {
        using var budget = new UpstreamBudget(UpstreamResource.Calls, 60, _time);
        var first = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        var second = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);

        // Another consumer spent most of the window: the newer answer lowers the level to 5 ...
        budget.Complete(second.Ticket, new RateLimitHeaders(60, 5, TimeSpan.FromSeconds(55)));
        Assert.Equal(5, budget.Available);

        // ... and the older answer, sent before the other consumer's burst, does not lift it again.
        budget.Complete(first.Ticket, new RateLimitHeaders(60, 59, TimeSpan.FromSeconds(1)));
        Assert.Equal(5, budget.Available);
    }

    [Fact]
    public async Task Requests_sent_later_and_still_in_flight_are_subtracted_from_upstreams_remaining()
    {
        using var budget = new UpstreamBudget(UpstreamResource.Calls, 60, _time);
        var first = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        for (var i = 0; i < 2; i++)
        {
            await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        }

        // Upstream counted only the first of the three when it said 10 remain.
        budget.Complete(first.Ticket, new RateLimitHeaders(60, 10, null));
        Assert.Equal(8, budget.Available);
        Assert.Equal(2, budget.InFlight);
    }

    [Fact]
    public async Task Answers_coming_back_out_of_order_do_not_drain_slots_upstream_still_has()
    {
        using var budget = new UpstreamBudget(UpstreamResource.Calls, 60, _time);
        var first = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        var second = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);

        // Upstream served both in order (59, then 58 remaining) but the second answer arrives first.
        budget.Complete(second.Ticket, new RateLimitHeaders(60, 58, TimeSpan.FromSeconds(2)));
        budget.Complete(first.Ticket, new RateLimitHeaders(60, 59, TimeSpan.FromSeconds(1)));

        Assert.Equal(58, budget.Available);
        Assert.Equal(0, budget.InFlight);
    }

    [Fact]
    public async Task A_failed_request_leaves_the_in_flight_count_without_touching_the_level()
    {
        using var budget = new UpstreamBudget(UpstreamResource.Calls, 60, _time);
        var granted = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        Assert.Equal(1, budget.InFlight);

        budget.Complete(granted.Ticket, RateLimitHeaders.None);

        Assert.Equal(0, budget.InFlight);
        Assert.Equal(59, budget.Available);
    }

    [Fact]
    public async Task A_full_bucket_starts_refilling_at_its_first_request_not_on_a_fixed_beat()
    {
        using var budget = new UpstreamBudget(UpstreamResource.ClientSecrets, 20, _time);

        // Idle and full for 2.9 s: like upstream's bucket, nothing accrues while full.
        _time.Advance(TimeSpan.FromSeconds(2.9));
        for (var i = 0; i < 20; i++)
        {
            Assert.True((await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None)).IsGranted);
        }

        // A beat fixed at construction would hand a slot back at 3.0 s, when upstream has refilled only 0.1 s worth.
        _time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Equal(0, budget.Available);
        Assert.Equal(TimeSpan.FromSeconds(2.9), budget.NextFreeSlotIn());

        _time.Advance(TimeSpan.FromSeconds(2.9));
        Assert.Equal(1, budget.Available);
    }

    [Fact]
    public async Task Once_full_again_the_refill_clock_stops_until_the_next_request()
    {
        using var budget = new UpstreamBudget(UpstreamResource.ClientSecrets, 20, _time);
        await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(20, budget.Available);

        _time.Advance(TimeSpan.FromSeconds(10.5));
        await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(2.9));
        Assert.Equal(19, budget.Available);
        _time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Equal(20, budget.Available);
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
