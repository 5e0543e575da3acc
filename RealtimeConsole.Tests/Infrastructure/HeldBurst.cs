using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.RateLimits;

namespace RealtimeConsole.Tests.Infrastructure;

/// <summary>
/// Callers sent at once to one console instance whose clock is a fake one that the test alone moves. While it stands
/// still nobody's queue wait runs out and no slot refills, so however slowly a busy machine runs the burst, it comes to
/// rest: every caller is answered or queued in the budget, and nothing granted is still out. <see cref="SettledAsync"/>
/// waits for that (re-checking on the budget's events and on each answer, never on a timer); advance the clock to go on.
/// </summary>
public sealed class HeldBurst : IAsyncDisposable
{
    private readonly Task<HttpResponseMessage>[] _calls;
    private readonly IUpstreamBudget _budget;
    private readonly ConditionWaiter _waiter;

    private HeldBurst(IServiceProvider services, ConditionWaiter waiter, Func<Task<HttpResponseMessage>> call, int callers)
    {
        var store = services.GetRequiredService<IBrokerStateStore>();
        _budget = store.Budgets[UpstreamResource.ClientSecrets];
        _waiter = waiter.On(h => store.Changed += h, h => store.Changed -= h);
        _calls = Enumerable.Range(0, callers).Select(_ => Task.Run(call)).ToArray();
        foreach (var pending in _calls)
        {
            _ = pending.ContinueWith(_ => waiter.Pulse(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary><paramref name="callers"/> POSTs to the broker's client-secret route of the instance <paramref name="services"/> belong to.</summary>
    public static HeldBurst OfClientSecrets(IServiceProvider services, HttpClient client, int callers) =>
        new(services, new ConditionWaiter(), () => client.PostAsync("/api/realtime/client-secret", null), callers);

    /// <summary>Waits until every caller is answered or waiting in the budget with no request out, and returns the answers so far.</summary>
    public async Task<HttpResponseMessage[]> SettledAsync(string what)
    {
        await _waiter.UntilAsync(
            () => _calls.Count(c => c.IsCompleted) + _budget.Queued == _calls.Length && _budget.InFlight == 0,
            $"{what} (answered {_calls.Count(c => c.IsCompleted)}, queued {_budget.Queued}, in flight {_budget.InFlight} of {_calls.Length})");
        return await Task.WhenAll(_calls.Where(c => c.IsCompleted));
    }

    /// <summary>
    /// 60 callers at once against an upstream allowing 20 requests a minute, on an instance whose queue wait is 5 s of
    /// <paramref name="time"/>, told in the three steps a person would expect:
    /// <list type="number">
    /// <item>time standing still: the cold start's probe answers, then at most the 20 upstream allows are served (an answer
    /// that overtook another on the way may hold one back, never send one too many), nobody is refused, the rest wait;</item>
    /// <item>3.5 s later one slot has refilled: its request's answer shows what upstream really has left, so any slot lost to
    /// answers that overtook each other comes back, and exactly 21 have been served;</item>
    /// <item>at 5 s the other 39 are refused with 429, a Retry-After and the broker's error body.</item>
    /// </list>
    /// Returns all 60 answers.
    /// </summary>
    public static async Task<HttpResponseMessage[]> SixtyAgainstTwentyPerMinuteAsync(IServiceProvider services, HttpClient client, FakeTimeProvider time)
    {
        await using var burst = OfClientSecrets(services, client, 60);

        var atOnce = await burst.SettledAsync("the first answers, with the clock standing still");
        Assert.All(atOnce, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.InRange(atOnce.Length, 2, 20);

        time.Advance(TimeSpan.FromSeconds(3.5));
        var afterRefill = await burst.SettledAsync("the answers after one slot refilled");
        Assert.All(afterRefill, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(21, afterRefill.Length);

        time.Advance(TimeSpan.FromSeconds(1.5));
        var all = await burst.SettledAsync("every answer once the queue wait ran out");
        Assert.Equal(60, all.Length);
        var refused = all.Where(r => r.StatusCode != HttpStatusCode.OK).ToList();
        Assert.Equal(39, refused.Count);
        foreach (var r in refused)
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, r.StatusCode);
            Assert.InRange(r.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(120));
        }

        return all;
    }

    public ValueTask DisposeAsync() => _waiter.DisposeAsync();
}
