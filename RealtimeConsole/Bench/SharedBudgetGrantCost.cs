using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using RealtimeConsole.Deployment;
using RealtimeConsole.RateLimits;
using RealtimeConsole.RateLimits.Shared;

namespace RealtimeConsole.Bench;

/// <summary>
/// What one budget grant through Redis costs: sequential grant-and-answer pairs on a budget far from empty, timed on
/// the wall clock, printed as p50/p99 of the grant (one round trip) and of the answer (one more, after upstream replied).
/// </summary>
public static class SharedBudgetGrantCost
{
    private const int Warmup = 200;
    private const int Measured = 2_000;

    public static async Task MeasureAsync(TextWriter output)
    {
        var time = TimeProvider.System;
        await using var store = new RedisStore(DeploymentOptions.ParseRedis(BenchRedis.ConnectionString, TimeSpan.FromSeconds(2)),
            "grant-cost-" + Guid.NewGuid().ToString("N")[..12], "bench", time, NullLogger<RedisStore>.Instance);
        using var budget = new RedisUpstreamBudget(UpstreamResource.ClientSecrets, 1_000_000, store, new DeploymentMembers(), time, TimeSpan.FromSeconds(30));
        var headers = new RateLimitHeaders(1_000_000, 1_000_000, TimeSpan.Zero);
        var grants = new List<double>(Measured);
        var answers = new List<double>(Measured);
        for (var i = 0; i < Warmup + Measured; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var decision = await budget.AcquireAsync(TimeSpan.FromSeconds(1), CancellationToken.None);
            var granted = Stopwatch.GetTimestamp();
            await budget.CompleteAsync(decision.Ticket, headers);
            var answered = Stopwatch.GetTimestamp();
            if (i >= Warmup && decision.IsGranted)
            {
                grants.Add(Stopwatch.GetElapsedTime(started, granted).TotalMilliseconds);
                answers.Add(Stopwatch.GetElapsedTime(granted, answered).TotalMilliseconds);
            }
        }

        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"budget through Redis ({grants.Count} sequential grants on loopback): grant p50 {Percentile(grants, 0.50):F3} ms, p99 {Percentile(grants, 0.99):F3} ms · answer p50 {Percentile(answers, 0.50):F3} ms, p99 {Percentile(answers, 0.99):F3} ms"));
    }

    private static double Percentile(List<double> values, double quantile)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(quantile * sorted.Count) - 1)];
    }
}
