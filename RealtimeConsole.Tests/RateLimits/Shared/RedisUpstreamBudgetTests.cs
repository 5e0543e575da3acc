using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Deployment;
using RealtimeConsole.RateLimits;
using RealtimeConsole.RateLimits.Shared;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.RateLimits.Shared;

/// <summary>
/// The shared budget on a real redis-server, with each "instance" its own connection and budget object, and the clock a
/// FakeTimeProvider that every instance reads (the scripts take the caller's time).
/// </summary>
public sealed class RedisUpstreamBudgetTests : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
    private readonly List<IAsyncDisposable> _stores = [];
    private readonly List<IDisposable> _budgets = [];
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartNewAsync();

    public async Task DisposeAsync()
    {
        _budgets.ForEach(b => b.Dispose());
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        await _redis.DisposeAsync();
    }

    private (RedisUpstreamBudget Budget, RedisStore Store) Instance(int guess, DeploymentMembers? members = null)
    {
        var store = _redis.Connect("budget-tests", "i" + _stores.Count, _time, TimeSpan.FromSeconds(2));
        _stores.Add(store);
        var budget = new RedisUpstreamBudget(UpstreamResource.ClientSecrets, guess, store, members ?? new DeploymentMembers(), _time, Lease);
        _budgets.Add(budget);
        return (budget, store);
    }

    private static RateLimitHeaders Headers(int limit, int remaining) =>
        new(limit, remaining, TimeSpan.FromSeconds((limit - remaining) * 60.0 / limit));

    [Theory]
    [InlineData(60)] // a guess 3× the real limit
    [InlineData(7)]  // a third of it
    public async Task From_a_cold_start_two_instances_send_one_probe_then_spend_exactly_upstreams_remaining(int guess)
    {
        var (first, firstStore) = Instance(guess);
        var (second, secondStore) = Instance(guess);
        Assert.True(firstStore.IsAvailable, $"connected={firstStore.Connection.IsConnected} since={firstStore.UnreachableSince}");
        Assert.True(secondStore.IsAvailable, $"connected={secondStore.Connection.IsConnected} since={secondStore.UnreachableSince}");

        var probe = await first.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        Assert.True(probe.IsGranted);
        Assert.True(probe.Ticket.IsProbe, $"{probe} {first.Source} {firstStore.IsAvailable} {first.LocalSharePerMinute}");

        // While the probe is out, nobody else on any instance is sent blind.
        Assert.False((await second.AcquireAsync(TimeSpan.Zero, CancellationToken.None)).IsGranted);
        Assert.False((await first.AcquireAsync(TimeSpan.Zero, CancellationToken.None)).IsGranted);

        await first.CompleteAsync(probe.Ticket, Headers(20, 19));

        var granted = 0;
        for (var i = 0; i < 40; i++)
        {
            var budget = i % 2 == 0 ? first : second;
            var decision = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
            granted += decision.IsGranted ? 1 : 0;
        }

        Assert.Equal(19, granted);
        Assert.Equal(20, second.Limit);
        Assert.Equal(LimitSource.Upstream, second.Source);
        Assert.Contains("20/min, learned from upstream", second.DescribeLimit(), StringComparison.Ordinal);
        var refused = await second.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        Assert.False(refused.IsGranted);
        Assert.InRange(refused.RetryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task The_shared_level_refills_at_the_learned_rate_for_all_instances_together()
    {
        var (first, _) = Instance(60);
        var (second, _) = Instance(60);
        var probe = await first.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        await first.CompleteAsync(probe.Ticket, Headers(20, 0));

        Assert.False((await second.AcquireAsync(TimeSpan.Zero, CancellationToken.None)).IsGranted);
        _time.Advance(TimeSpan.FromSeconds(3)); // one slot at 20/min
        Assert.True((await second.AcquireAsync(TimeSpan.Zero, CancellationToken.None)).IsGranted);
        Assert.False((await first.AcquireAsync(TimeSpan.Zero, CancellationToken.None)).IsGranted);
    }

    [Fact]
    public async Task A_grant_a_refusal_and_an_answer_are_one_round_trip_to_Redis_each()
    {
        var (first, _) = Instance(60);
        var (second, _) = Instance(60);
        var probe = await first.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        await first.CompleteAsync(probe.Ticket, Headers(20, 18));

        // Each connection sends a script's text once (EVAL, then SCRIPT LOAD, not awaited); from then on a step is one EVALSHA.
        var warm = await second.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        await second.CompleteAsync(warm.Ticket, Headers(20, 17));
        await using var log = await RedisCommandLog.StartAsync(_redis);

        // Every command the instance's connection sends between two marks (commands a script runs inside Redis are not its own;
        // the client library's keep-alive PING is not the budget's).
        async Task<List<string>> SentByAsync(string instance, Func<Task> step)
        {
            var from = await log.MarkAsync("before-" + Guid.NewGuid());
            await step();
            var to = await log.MarkAsync("after-" + Guid.NewGuid());
            return [.. log.Commands.Where(c => c.Index > from && c.Index < to && c.Client == "realtime-console:" + instance && c.Name != "PING").Select(c => c.Name)];
        }

        var granted = default(BudgetDecision);
        var grant = await SentByAsync("i1", async () => granted = await second.AcquireAsync(TimeSpan.Zero, CancellationToken.None));
        Assert.True(granted.IsGranted);
        Assert.Equal(["EVALSHA"], grant);

        var answer = await SentByAsync("i1", () => second.CompleteAsync(granted.Ticket, Headers(20, 16)).AsTask());
        Assert.Equal(["EVALSHA"], answer);

        // Spent: the refusal, with its time to wait, costs one round trip too.
        for (var i = 0; i < 20 && (await first.AcquireAsync(TimeSpan.Zero, CancellationToken.None)).IsGranted; i++)
        {
        }

        var refused = default(BudgetDecision);
        var refusal = await SentByAsync("i0", async () => refused = await first.AcquireAsync(TimeSpan.Zero, CancellationToken.None));
        Assert.False(refused.IsGranted);
        Assert.Equal(["EVALSHA"], refusal);
    }

    [Fact]
    public async Task An_answer_lowers_the_shared_level_to_what_upstream_has_left_minus_requests_sent_after_it()
    {
        var (first, _) = Instance(20);
        var (second, _) = Instance(20);
        var probe = await first.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        await first.CompleteAsync(probe.Ticket, Headers(20, 19));

        var a = await first.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        var b = await second.AcquireAsync(TimeSpan.Zero, CancellationToken.None);

        // Another consumer of the organization spent 10 meanwhile: a's answer says 8 left, b (sent after a) not counted yet.
        await first.CompleteAsync(a.Ticket, Headers(20, 8));

        var granted = 0;
        for (var i = 0; i < 20; i++)
        {
            granted += (await second.AcquireAsync(TimeSpan.Zero, CancellationToken.None)).IsGranted ? 1 : 0;
        }

        Assert.Equal(7, granted);
        await second.CompleteAsync(b.Ticket, Headers(20, 0));
    }

    [Fact]
    public async Task A_request_overtaken_on_the_way_out_whose_answer_came_back_first_is_not_lent_out_again()
    {
        var (first, _) = Instance(20);
        var (second, _) = Instance(20);
        var probe = await first.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        await first.CompleteAsync(probe.Ticket, Headers(20, 19));
        var earlier = await first.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        var later = await second.AcquireAsync(TimeSpan.Zero, CancellationToken.None);

        // `later` reached upstream first (18 left), then `earlier` (17 left), whose answer comes back first; `later`'s 18,
        // the newest answer, does not count `earlier`.
        await first.CompleteAsync(earlier.Ticket, Headers(20, 17));
        await second.CompleteAsync(later.Ticket, Headers(20, 18));

        var granted = 0;
        for (var i = 0; i < 20; i++)
        {
            granted += (await (i % 2 == 0 ? first : second).AcquireAsync(TimeSpan.Zero, CancellationToken.None)).IsGranted ? 1 : 0;
        }

        Assert.Equal(17, granted);
    }

    [Fact]
    public async Task A_429s_reset_time_does_not_change_the_window_the_limit_refills_over()
    {
        var (first, _) = Instance(60);
        var (second, _) = Instance(60);
        var probe = await first.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        await first.CompleteAsync(probe.Ticket, Headers(60, 59));
        var refused = await second.AcquireAsync(TimeSpan.Zero, CancellationToken.None);

        await second.CompleteAsync(refused.Ticket, new RateLimitHeaders(60, 0, TimeSpan.FromSeconds(20)), refusedUpstream: true);

        Assert.Equal(60, second.RequestsPerMinute);
        Assert.Equal(TimeSpan.FromMinutes(1), second.Window);
    }

    [Fact]
    public async Task Alone_in_the_organization_the_budget_never_blames_other_consumers()
    {
        var (budget, _) = Instance(60);

        var run = await SharedOrganization.RunAsync(budget, _time, anotherApp: false);

        // Whole requests left are up to one request of noise per answer; read to the unit from the reset, nothing is left over.
        Assert.Equal(0, run.BlamedOthers);
        Assert.Empty(run.RefusedAfterLearning);
        Assert.InRange(run.Served, SharedOrganization.AllForUs - 2, SharedOrganization.AllForUs + 1);
    }

    [Fact]
    public async Task Another_consumers_request_landing_while_ours_is_on_its_way_still_finds_a_slot()
    {
        var (budget, _) = Instance(60);

        var run = await SharedOrganization.RunAsync(budget, _time);

        Assert.True(run.RefusedAfterLearning.Count == 0, string.Join("; ", run.RefusedAfterLearning.Take(20)));
        Assert.InRange(run.Served, SharedOrganization.LeftForUs - 8, SharedOrganization.LeftForUs + 2);
        Assert.Contains("taken by other consumers", budget.DescribeLimit(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_waiter_on_another_instance_is_woken_by_the_probes_answer()
    {
        var (first, _) = Instance(60);
        var (second, _) = Instance(60);
        var probe = await first.AcquireAsync(TimeSpan.Zero, CancellationToken.None);

        var waiting = second.AcquireAsync(TimeSpan.FromSeconds(5), CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);
        await first.CompleteAsync(probe.Ticket, Headers(20, 19));

        var decision = await waiting.WaitAsync(ConditionWaiter.Patience);
        Assert.True(decision.IsGranted);
        Assert.False(decision.Ticket.IsProbe);
    }

    [Fact]
    public async Task A_probe_whose_instance_never_answers_frees_the_probe_when_its_lease_ends()
    {
        var (first, _) = Instance(60);
        var (second, _) = Instance(60);
        Assert.True((await first.AcquireAsync(TimeSpan.Zero, CancellationToken.None)).Ticket.IsProbe);

        Assert.False((await second.AcquireAsync(TimeSpan.Zero, CancellationToken.None)).IsGranted);
        _time.Advance(Lease + TimeSpan.FromSeconds(1));
        var next = await second.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        Assert.True(next.IsGranted);
        Assert.True(next.Ticket.IsProbe);
    }

    [Fact]
    public async Task Without_Redis_an_instance_spends_its_share_and_on_return_charges_the_shared_level()
    {
        var members = new DeploymentMembers();
        var now = _time.GetUtcNow();
        members.Update([new("a", null, now, now), new("b", null, now, now)]);
        var (first, store) = Instance(60, members);
        var (second, secondStore) = Instance(60, members);
        var probe = await first.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        await first.CompleteAsync(probe.Ticket, Headers(20, 20));

        await _redis.StopAsync();
        await WaitUntil(() => !store.IsAvailable && !secondStore.IsAvailable, "both stores to see Redis gone", [store, secondStore]);

        // The share is known (and shown on /limits) before the first request spends from it.
        Assert.Equal(10, first.LocalSharePerMinute);

        // Half of the learned 20/min, starting from half of the 20 left.
        var alone = 0;
        for (var i = 0; i < 30; i++)
        {
            alone += (await first.AcquireAsync(TimeSpan.Zero, CancellationToken.None)).IsGranted ? 1 : 0;
        }

        Assert.Equal(10, alone);
        Assert.Equal(LimitSource.LocalShare, first.Source);
        Assert.Equal(10, first.LocalSharePerMinute);
        Assert.Contains("share", first.DescribeLimit(), StringComparison.Ordinal);

        // Redis comes back empty (restarted): the first grant after it starts over with a probe, never a blind burst.
        await _redis.StartAsync();
        await WaitUntil(() => store.IsAvailable && secondStore.IsAvailable, "both stores to answer again", [store, secondStore], advanceClock: true);
        var afterReturn = await first.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        Assert.True(afterReturn.IsGranted);
        Assert.True(afterReturn.Ticket.IsProbe);
        Assert.Null(first.LocalSharePerMinute);
        Assert.False((await second.AcquireAsync(TimeSpan.Zero, CancellationToken.None)).IsGranted);
    }

    [Fact]
    public async Task A_Redis_that_stops_answering_for_longer_than_the_timeout_is_a_local_share_not_an_error()
    {
        var (budget, store) = Instance(60);
        var probe = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        await budget.CompleteAsync(probe.Ticket, Headers(20, 19));

        // Slow, not gone: the server holds every client's commands for longer than the instance's 2 s timeout (the pause
        // lasts while the connection that asked for it is open).
        await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString + ",allowAdmin=true");
        await admin.GetDatabase().ExecuteAsync("CLIENT", "PAUSE", "6000", "ALL");

        var during = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        Assert.True(during.IsGranted);
        Assert.False(store.IsAvailable);
        Assert.NotNull(store.UnreachableSince);
        Assert.Equal(LimitSource.LocalShare, budget.Source);
        Assert.Equal(20, budget.LocalSharePerMinute);

        // Once the server answers again the instance rejoins the shared budget.
        await WaitUntil(() => store.IsAvailable, "the store to answer again", [store], advanceClock: true);
        Assert.True((await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None)).IsGranted);
        Assert.Null(budget.LocalSharePerMinute);
        Assert.NotEqual(LimitSource.LocalShare, budget.Source);
    }

    [Fact]
    public async Task Back_on_a_Redis_that_kept_its_state_the_requests_spent_alone_are_charged_to_the_shared_level()
    {
        var (first, store) = Instance(20);
        var (second, _) = Instance(20);
        var probe = await first.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
        await first.CompleteAsync(probe.Ticket, Headers(20, 20));

        // Unreachable for this instance only (a command timed out): it spends alone, the others keep the shared level.
        store.ReportFailure(new TimeoutException("test: slow Redis"));
        var alone = 0;
        for (var i = 0; i < 5; i++)
        {
            alone += (await first.AcquireAsync(TimeSpan.Zero, CancellationToken.None)).IsGranted ? 1 : 0;
        }

        Assert.Equal(5, alone);
        await WaitUntil(() => store.IsAvailable, "the store's recheck to find Redis answering", [store], advanceClock: true);

        var shared = 0;
        for (var i = 0; i < 30; i++)
        {
            shared += (await second.AcquireAsync(TimeSpan.Zero, CancellationToken.None)).IsGranted ? 1 : 0;
            shared += (await first.AcquireAsync(TimeSpan.Zero, CancellationToken.None)).IsGranted ? 1 : 0;
        }

        // 20 left, 5 spent alone: 15 more at most (a refilled slot or two while the clock was moved to notice Redis is back).
        Assert.InRange(shared, 15, 16);
    }

    /// <summary>
    /// Waits on the stores' reachability events. With <paramref name="advanceClock"/>, each look that finds it not yet so moves
    /// the fake clock one recheck period, so the stores ask Redis again; the next look follows that recheck's end.
    /// </summary>
    private async Task WaitUntil(Func<bool> condition, string what, RedisStore[] stores, bool advanceClock = false)
    {
        await using var waiter = new ConditionWaiter();
        foreach (var store in stores)
        {
            waiter.OnStore(store);
        }

        await waiter.UntilAsync(condition, what, advanceClock ? () => { _time.Advance(TimeSpan.FromSeconds(1)); return Task.CompletedTask; } : null);
    }
}
