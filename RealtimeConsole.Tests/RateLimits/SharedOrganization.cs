using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.RateLimits;

namespace RealtimeConsole.Tests.RateLimits;

/// <summary>
/// Upstream at 60/min with continuous refill, another app of the organization taking about 34/min out of step with us
/// (or nobody else), and our users wanting more than is left: each request reaches upstream one 250 ms step after it was
/// let go, so the other app's request may land in between. Five minutes, answered as upstream answers (whole requests
/// left, and the time until full to the millisecond).
/// </summary>
public static class SharedOrganization
{
    private const int Limit = 60;
    private const int Steps = 1_200;
    private const int OtherEvery = 7;
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(250);

    /// <summary>What the organization allows in the run (a full bucket and five minutes of refill) less the other app's share.</summary>
    public const int LeftForUs = Limit + (Steps / 4) - (Steps / OtherEvery) - 1;

    /// <summary>What the organization allows in the run with nobody else drawing on it.</summary>
    public const int AllForUs = Limit + (Steps / 4) - 1;

    /// <param name="BlamedOthers">Answers after which the budget said other consumers take part of the limit.</param>
    public sealed record Outcome(int Served, IReadOnlyList<string> RefusedAfterLearning, int BlamedOthers);

    public static async Task<Outcome> RunAsync(IUpstreamBudget budget, FakeTimeProvider time, bool anotherApp = true)
    {
        var blamedOthers = 0;
        var upstream = (double)Limit;
        var start = time.GetUtcNow();
        BudgetTicket? onItsWay = null;
        var refused = new List<string>();
        var served = 0;
        for (var step = 0; step < Steps; step++)
        {
            time.Advance(Step);
            upstream = Math.Min(Limit, upstream + (Limit * Step.TotalMinutes));
            if (anotherApp && step % OtherEvery == 0)
            {
                upstream = Math.Max(0, upstream - 1);
            }

            if (onItsWay is { } arriving)
            {
                onItsWay = null;
                if (upstream < 1)
                {
                    if (time.GetUtcNow() - start > TimeSpan.FromSeconds(30))
                    {
                        refused.Add($"{(time.GetUtcNow() - start).TotalSeconds:0.00}s up={upstream:0.00} {budget.DescribeLimit()}");
                    }

                    await budget.CompleteAsync(arriving, new RateLimitHeaders(Limit, 0, UntilFull(upstream)), refusedUpstream: true);
                }
                else
                {
                    upstream -= 1;
                    served++;
                    await budget.CompleteAsync(arriving, new RateLimitHeaders(Limit, (int)Math.Floor(upstream), UntilFull(upstream)));
                }

                blamedOthers += budget.DescribeLimit().Contains("other consumers", StringComparison.Ordinal) ? 1 : 0;
            }

            var decision = await budget.AcquireAsync(TimeSpan.Zero, CancellationToken.None);
            if (decision.IsGranted)
            {
                onItsWay = decision.Ticket;
            }
        }

        return new Outcome(served, refused, blamedOthers);
    }

    private static TimeSpan UntilFull(double level) => TimeSpan.FromSeconds(Math.Ceiling((Limit - level) * 1000) / 1000);
}
