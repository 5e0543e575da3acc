using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.RateLimits;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.RateLimits;

public sealed class UpstreamBudgetTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));

    private static RateLimitHeaders PerMinute(int limit, int remaining) =>
        new(limit, remaining, TimeSpan.FromMinutes(1) / limit * (limit - remaining));

    /// <summary>A budget whose probe has been answered: upstream allows <paramref name="limit"/>/min and has <paramref name="remaining"/> left.</summary>
    private async Task<UpstreamBudget> LearnedAsync(int guess, int limit, int remaining)
    {
        var budget = new UpstreamBudget(UpstreamResource.Calls, guess, _time);
        var probe = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        Assert.True(probe.Ticket.IsProbe);
        budget.Complete(probe.Ticket, PerMinute(limit, remaining));
        return budget;
    }

    private static async Task<int> GrantAllAsync(UpstreamBudget budget)
    {
        var granted = 0;
        while ((await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None)).IsGranted)
        {
            granted++;
        }

        return granted;
    }

    [Fact]
    public async Task A_cold_budget_lets_one_probe_go_and_the_others_wait_for_its_headers()
    {
        using var budget = new UpstreamBudget(UpstreamResource.ClientSecrets, 60, _time);
        var probe = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        Assert.True(probe.IsGranted);
        Assert.True(budget.IsProbing);

        // Without patience a second caller is refused at once, told to come back within a second (one round trip).
        var impatient = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        Assert.False(impatient.IsGranted);
        Assert.InRange(impatient.RetryAfter, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1));

        var waiting = Enumerable.Range(0, 3).Select(_ => budget.AcquireAsync(TimeSpan.FromSeconds(2), CancellationToken.None).AsTask()).ToList();
        Assert.Equal(3, budget.Queued);
        Assert.DoesNotContain(waiting, w => w.IsCompleted);

        budget.Complete(probe.Ticket, PerMinute(20, 19));

        var decisions = await Task.WhenAll(waiting).WaitAsync(ConditionWaiter.Patience);
        Assert.All(decisions, d => Assert.True(d.IsGranted));
        Assert.Equal(LimitSource.Upstream, budget.Source);
        Assert.Equal(20, budget.Limit);
        Assert.Equal(16, budget.Available);
    }

    [Theory]
    [InlineData(60, 20)] // the guess 3× upstream's real limit
    [InlineData(7, 20)]  // the guess a third of it
    [InlineData(20, 20)]
    public async Task Whatever_the_guess_the_budget_sends_exactly_what_upstream_allows_and_refills_at_upstreams_rate(int guess, int real)
    {
        using var budget = await LearnedAsync(guess, real, real - 1);

        Assert.Equal(real - 1, await GrantAllAsync(budget));
        Assert.Equal(real, budget.RequestsPerMinute);
        var refused = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        Assert.Equal(TimeSpan.FromMinutes(1) / real, refused.RetryAfter);

        // A minute later exactly one minute's worth has come back: the real limit, not the guess.
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(real, await GrantAllAsync(budget));
    }

    [Fact]
    public async Task A_probe_that_got_no_answer_hands_the_probe_to_the_next_caller()
    {
        using var budget = new UpstreamBudget(UpstreamResource.Calls, 60, _time);
        var probe = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        var next = budget.AcquireAsync(TimeSpan.FromSeconds(2), CancellationToken.None).AsTask();

        budget.Complete(probe.Ticket, null);

        var second = await next.WaitAsync(ConditionWaiter.Patience);
        Assert.True(second.IsGranted);
        Assert.True(second.Ticket.IsProbe);
        Assert.Equal(LimitSource.Guess, budget.Source);
    }

    [Fact]
    public async Task An_upstream_that_sends_no_rate_limit_headers_leaves_the_guess_in_force()
    {
        using var budget = new UpstreamBudget(UpstreamResource.Calls, 10, _time);
        var probe = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        budget.Complete(probe.Ticket, RateLimitHeaders.None);

        Assert.Equal(LimitSource.UpstreamSilent, budget.Source);
        Assert.Equal(10, await GrantAllAsync(budget));
        Assert.Contains("10/min", budget.DescribeLimit(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_caller_who_cannot_wait_for_the_probe_is_refused_honestly()
    {
        using var budget = new UpstreamBudget(UpstreamResource.Calls, 60, _time);
        await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);

        var waiting = budget.AcquireAsync(TimeSpan.FromSeconds(2), CancellationToken.None).AsTask();
        _time.Advance(TimeSpan.FromSeconds(2));

        var decision = await waiting.WaitAsync(ConditionWaiter.Patience);
        Assert.False(decision.IsGranted);
        Assert.True(decision.RetryAfter > TimeSpan.Zero);
        Assert.Equal(0, budget.Queued);
    }

    [Fact]
    public async Task A_limit_that_falls_is_obeyed_at_once()
    {
        using var budget = await LearnedAsync(60, 60, 59);
        var granted = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);

        budget.Complete(granted.Ticket, PerMinute(10, 2));

        Assert.Equal(10, budget.Limit);
        Assert.Equal(2, await GrantAllAsync(budget));
        var refused = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        Assert.Equal(TimeSpan.FromSeconds(6), refused.RetryAfter);
        Assert.Contains("10/min, learned from upstream", budget.DescribeLimit(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_limit_that_rises_is_used_within_the_window()
    {
        using var budget = await LearnedAsync(20, 20, 19);
        var earlier = new List<BudgetTicket>();
        for (var decision = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None); decision.IsGranted; decision = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None))
        {
            earlier.Add(decision.Ticket);
        }

        Assert.Equal(19, earlier.Count);
        earlier.ForEach(ticket => budget.Complete(ticket, RateLimitHeaders.None));
        _time.Advance(TimeSpan.FromSeconds(3));
        var granted = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        Assert.True(granted.IsGranted);

        // Upstream raised the organization to 60/min and has 55 left.
        budget.Complete(granted.Ticket, PerMinute(60, 55));

        Assert.Equal(60, budget.Limit);
        var sent = await GrantAllAsync(budget);
        Assert.Equal(55, sent);
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(60, await GrantAllAsync(budget));
    }

    [Fact]
    public async Task A_window_other_than_a_minute_is_read_from_the_reset_time()
    {
        using var budget = new UpstreamBudget(UpstreamResource.Calls, 60, _time);
        var probe = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);

        // 100 a day: one used, the whole window back in 14.4 minutes.
        budget.Complete(probe.Ticket, new RateLimitHeaders(100, 99, TimeSpan.FromDays(1) / 100));

        Assert.Equal(TimeSpan.FromDays(1), budget.Window);
        Assert.Equal(99, await GrantAllAsync(budget));
        var refused = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        Assert.Equal(TimeSpan.FromDays(1) / 100, refused.RetryAfter);
    }

    [Fact]
    public async Task Remaining_from_headers_lowers_the_level_and_only_the_newest_answer_raises_it_again()
    {
        using var budget = await LearnedAsync(60, 60, 59);
        var first = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        budget.Complete(first.Ticket, PerMinute(60, 5));
        Assert.Equal(5, budget.Available);

        var second = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        budget.Complete(second.Ticket, PerMinute(60, 50));
        Assert.Equal(50, budget.Available);
    }

    [Fact]
    public async Task An_older_answer_arriving_late_never_raises_the_level()
    {
        using var budget = await LearnedAsync(60, 60, 59);
        var first = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        var second = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);

        // Another consumer spent most of the window: the newer answer lowers the level to 5 ...
        budget.Complete(second.Ticket, PerMinute(60, 5));
        Assert.Equal(5, budget.Available);

        // ... and the older answer, sent before the other consumer's burst, does not lift it again.
        budget.Complete(first.Ticket, PerMinute(60, 58));
        Assert.Equal(5, budget.Available);
    }

    [Fact]
    public async Task Requests_sent_later_and_still_in_flight_are_subtracted_from_upstreams_remaining()
    {
        using var budget = await LearnedAsync(60, 60, 59);
        var first = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        for (var i = 0; i < 2; i++)
        {
            await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        }

        // Upstream counted only the first of the three when it said 10 remain.
        budget.Complete(first.Ticket, PerMinute(60, 10));
        Assert.Equal(8, budget.Available);
        Assert.Equal(2, budget.InFlight);
    }

    [Fact]
    public async Task Answers_coming_back_out_of_order_do_not_drain_slots_upstream_still_has()
    {
        using var budget = await LearnedAsync(60, 60, 59);
        var first = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        var second = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);

        // Upstream served both in order (58, then 57 remaining) but the second answer arrives first.
        budget.Complete(second.Ticket, PerMinute(60, 57));
        budget.Complete(first.Ticket, PerMinute(60, 58));

        Assert.Equal(57, budget.Available);
        Assert.Equal(0, budget.InFlight);
    }

    [Fact]
    public async Task A_request_overtaken_on_the_way_out_whose_answer_came_back_first_is_not_lent_out_again()
    {
        // Seen against the in-process simulator under load: 21 requests sent into a bucket of 20.
        using var budget = await LearnedAsync(20, 20, 19);
        var earlier = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        var later = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);

        // `later` reached upstream first (18 left), then `earlier` (17 left), whose answer comes back first.
        budget.Complete(earlier.Ticket, PerMinute(20, 17));
        // `later` is the newest answer, yet its 18 does not count `earlier`: upstream has 17, not 18.
        budget.Complete(later.Ticket, PerMinute(20, 18));

        Assert.Equal(17, await GrantAllAsync(budget));
    }

    [Fact]
    public async Task A_429s_reset_time_does_not_change_the_window_the_limit_refills_over()
    {
        // A storm of 429s says "0 left, full in 20 s" whatever the bucket holds; read as a window that would be 180/min.
        using var budget = await LearnedAsync(60, 60, 59);
        var refused = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        budget.Complete(refused.Ticket, new RateLimitHeaders(60, 0, TimeSpan.FromSeconds(20)), refusedUpstream: true);

        Assert.Equal(60, budget.RequestsPerMinute);
        Assert.Equal(TimeSpan.FromMinutes(1), budget.Window);
    }

    [Fact]
    public async Task A_failed_request_leaves_the_in_flight_count_without_touching_the_level()
    {
        using var budget = await LearnedAsync(60, 60, 59);
        var granted = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        Assert.Equal(1, budget.InFlight);

        budget.Complete(granted.Ticket, null);

        Assert.Equal(0, budget.InFlight);
        Assert.Equal(58, budget.Available);
    }

    [Fact]
    public async Task A_full_bucket_starts_refilling_at_its_first_request_not_on_a_fixed_beat()
    {
        using var budget = await LearnedAsync(20, 20, 20);

        // Idle and full for 2.9 s: like upstream's bucket, nothing accrues while full.
        _time.Advance(TimeSpan.FromSeconds(2.9));
        Assert.Equal(20, await GrantAllAsync(budget));

        _time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Equal(0, budget.Available);
        Assert.Equal(TimeSpan.FromSeconds(2.9), budget.NextFreeSlotIn());

        _time.Advance(TimeSpan.FromSeconds(2.9));
        Assert.Equal(1, budget.Available);
    }

    [Fact]
    public async Task A_queued_caller_gets_the_next_refilled_slot_on_the_injected_clock()
    {
        using var budget = await LearnedAsync(20, 20, 0);

        var waiting = budget.AcquireAsync(TimeSpan.FromSeconds(5), CancellationToken.None).AsTask();
        _time.Advance(TimeSpan.FromSeconds(2.999));
        Assert.False(waiting.IsCompleted);
        Assert.NotNull(budget.EmptyUntil);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True((await waiting.WaitAsync(ConditionWaiter.Patience)).IsGranted);
    }

    [Fact]
    public async Task A_caller_cancelling_while_queued_leaves_the_queue()
    {
        using var budget = await LearnedAsync(1, 1, 0);
        using var cancel = new CancellationTokenSource();

        var waiting = budget.AcquireAsync(TimeSpan.FromSeconds(30), cancel.Token).AsTask();
        Assert.Equal(1, budget.Queued);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(0, budget.Queued);
    }

    [Fact]
    public async Task Another_consumer_taking_half_the_limit_is_learned_and_no_request_meets_an_empty_bucket()
    {
        // Upstream: 60/min with continuous refill; another app of the organization takes one request every 2 s.
        using var budget = new UpstreamBudget(UpstreamResource.Calls, 60, _time);
        var upstream = 60.0;
        var rejected = 0;
        var served = 0;
        var step = TimeSpan.FromMilliseconds(100);
        var start = _time.GetUtcNow();
        var trace = new List<string>();
        for (var tick = 0; tick < 3_000; tick++)
        {
            _time.Advance(step);
            upstream = Math.Min(60, upstream + 60 * step.TotalMinutes);
            if (tick % 20 == 0)
            {
                upstream = Math.Max(0, upstream - 1);
            }

            // Our users want more than is left for us: one try per step.
            var decision = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
            if (!decision.IsGranted)
            {
                continue;
            }

            if (upstream < 1)
            {
                if (_time.GetUtcNow() - start > TimeSpan.FromSeconds(30))
                {
                    rejected++;
                    trace.Add($"{(_time.GetUtcNow() - start).TotalSeconds:0.0}s others={budget.OthersPerMinute} up={upstream:0.00}");
                }

                budget.Complete(decision.Ticket, PerMinute(60, 0), refusedUpstream: true);
                continue;
            }

            upstream -= 1;
            served++;
            budget.Complete(decision.Ticket, PerMinute(60, (int)Math.Floor(upstream)));
        }

        // Five minutes: about 30/min were left for us once the other consumer was seen.
        Assert.True(rejected == 0, string.Join("; ", trace.Take(30)));
        Assert.InRange(budget.OthersPerMinute, 25, 35);
        Assert.InRange(served, 140, 215);
        Assert.Contains("taken by other consumers", budget.DescribeLimit(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Alone_in_the_organization_the_budget_never_blames_other_consumers()
    {
        using var budget = new UpstreamBudget(UpstreamResource.Calls, 60, _time);

        var run = await SharedOrganization.RunAsync(budget, _time, anotherApp: false);

        // Whole requests left are up to one request of noise per answer; read to the unit from the reset, nothing is left over.
        Assert.Equal(0, run.BlamedOthers);
        Assert.Empty(run.RefusedAfterLearning);
        Assert.InRange(run.Served, SharedOrganization.AllForUs - 2, SharedOrganization.AllForUs + 1);
    }

    [Fact]
    public async Task Another_consumers_request_landing_while_ours_is_on_its_way_still_finds_a_slot()
    {
        using var budget = new UpstreamBudget(UpstreamResource.Calls, 60, _time);

        var run = await SharedOrganization.RunAsync(budget, _time);

        // Five minutes at the edge of an empty bucket: no request of ours met it once the other consumer was known.
        Assert.True(run.RefusedAfterLearning.Count == 0, string.Join("; ", run.RefusedAfterLearning.Take(20)));
        Assert.InRange(run.Served, SharedOrganization.LeftForUs - 8, SharedOrganization.LeftForUs + 2);
    }

    [Fact]
    public async Task A_storms_zero_left_answers_are_not_taken_for_other_consumers()
    {
        using var budget = await LearnedAsync(60, 60, 50);
        for (var second = 0; second < 60; second++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            var decision = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
            if (decision.IsGranted)
            {
                // Upstream refuses everything and says nothing is left, whatever anyone spent.
                budget.Complete(decision.Ticket, PerMinute(60, 0), refusedUpstream: true);
            }
        }

        Assert.Equal(0, budget.OthersPerMinute);
        Assert.DoesNotContain("other consumers", budget.DescribeLimit(), StringComparison.Ordinal);
    }
}
