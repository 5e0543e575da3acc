using RealtimeConsole.Simulator;

namespace RealtimeConsole.Bench;

/// <summary>
/// The figures of one strategy on one scenario (JSON names and order as the issue gives them, then two of ours). <see cref="UsersOtherwiseFailed"/>:
/// users still waiting when the run ended (two minutes after the last arrival) or refused without a Retry-After.
/// <see cref="SettleTimeouts"/>: simulated steps where the world did not come to rest within the wall-clock limit (0 in a sound run).
/// </summary>
public sealed record StrategyFigures(
    int UsersServed,
    int UserErrors5xx,
    int UserRefusedWithRetryAfter,
    int UpstreamRequests,
    int Upstream429,
    double QuotaUtilization,
    int Mints,
    double P50ConnectMs,
    double P99ConnectMs,
    double? RecoverySeconds,
    int UsersOtherwiseFailed,
    int UpstreamRequestsUnderQuotaError,
    [property: System.Text.Json.Serialization.JsonIgnore] int SettleTimeouts = 0)
{
    /// <summary>Sessions opened upstream (<c>/v1/realtime/calls</c> answered 201), by the server or by browsers.</summary>
    public int Calls { get; init; }

    /// <summary>Responses inside sessions refused by the organization's responses limit.</summary>
    public int Responses429 { get; init; }

    /// <summary>Upstream requests that did not lead to a served user: the quota this strategy burned for nothing.</summary>
    public int WastedUpstreamRequests { get; init; }
}

/// <summary>
/// Runs one strategy on one scenario: arrivals, faults and the other consumer fired on the world's clock in
/// <see cref="Step"/>s; simulated, the fake clock only moves once the world has settled.
/// </summary>
public static class BenchRunner
{
    /// <summary>The step the clock moves by; connect times are measured to this resolution.</summary>
    public static readonly TimeSpan Step = TimeSpan.FromMilliseconds(10);

    private sealed class UserRun
    {
        public TimeSpan ArrivedAt { get; init; }

        public Task<RouteAnswer>? Connect { get; set; }

        public TimeSpan? FinishedAt { get; set; }
    }

    /// <summary>Runs <paramref name="strategyName"/> on <paramref name="instances"/> server instances (users spread round-robin), each with its own cache.</summary>
    public static Task<StrategyFigures> RunAsync(BenchScenario scenario, string strategyName, bool realTime = false, int instances = 1) =>
        RunAsync(scenario, BenchStrategies.Find(strategyName), realTime, instances);

    /// <summary>Runs <paramref name="strategy"/> as configured by its creator (e.g. <see cref="BrokerRedisStrategy"/> on a given Redis).</summary>
    public static async Task<StrategyFigures> RunAsync(BenchScenario scenario, BenchStrategy strategy, bool realTime = false, int instances = 1)
    {
        await using var world = await BenchWorld.StartAsync(scenario.QuotaPerMinute, realTime, guessPerMinute: scenario.ConfiguredPerMinute);
        var routes = Enumerable.Range(0, instances).Select(i => strategy.CreateRoute(world, i)).ToArray();
        // Settling blocks: the driver runs on its own thread, outside the world.
        var users = await Task.Factory.StartNew(() => DriveAsync(scenario, world, routes), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        return Figures(scenario, world, users);
    }

    private static async Task<List<UserRun>> DriveAsync(BenchScenario scenario, BenchWorld world, IBenchRoute[] routes)
    {
        var users = new List<UserRun>(scenario.Arrivals.Count);
        var faults = new Queue<ScheduledFault>(scenario.Faults.OrderBy(f => f.At));
        var other = new System.Collections.Concurrent.ConcurrentQueue<Task>();
        var nextOther = TimeSpan.Zero;
        var next = 0;
        var end = scenario.LastArrival + BenchScenario.Tail;
        for (var now = TimeSpan.Zero; now <= end; now += Step)
        {
            while (faults.TryPeek(out var fault) && fault.At <= now)
            {
                faults.Dequeue();
                // Faults are the organization's: they hit client secrets and calls alike.
                world.Faults.Activate(fault.Kind, fault.Duration);
            }

            if (scenario.OtherConsumerInterval is { } interval && now >= nextOther && now <= scenario.LastArrival)
            {
                nextOther += interval;
                other.Enqueue(world.Activity.Start(async () =>
                {
                    (await world.OtherConsumer.SendAsync(world.NewMintRequest())).Dispose();
                    (await world.OtherConsumer.SendAsync(world.NewServerCallRequest())).Dispose();
                }));
            }

            while (next < scenario.Arrivals.Count && scenario.Arrivals[next] <= now)
            {
                var user = new UserRun { ArrivedAt = world.Elapsed };
                var route = routes[next % routes.Length];
                user.Connect = world.Activity.Start(async () =>
                {
                    var answer = await BenchBrowser.ConnectAsync(route, world.Time, CancellationToken.None, world);
                    user.FinishedAt = world.Elapsed;
                    if (answer.Status == 200)
                    {
                        other.Enqueue(world.Activity.Start(() => TalkAsync(world)));
                    }

                    return answer;
                });
                users.Add(user);
                next++;
            }

            world.Settle();
            if (next == scenario.Arrivals.Count && users.TrueForAll(u => u.Connect!.IsCompleted) && other.All(t => t.IsCompleted))
            {
                break;
            }

            await world.StepToAsync(now + Step);
        }

        return users;
    }

    /// <summary>A connected session's voice turns: each response counts against the organization's responses limit.</summary>
    private static async Task<bool> TalkAsync(BenchWorld world)
    {
        for (var turn = 0; turn < BenchScenario.ResponsesPerSession; turn++)
        {
            await Task.Delay(BenchScenario.ResponseGap, world.Time);
            world.TryResponse();
        }

        return true;
    }

    private static StrategyFigures Figures(BenchScenario scenario, BenchWorld world, List<UserRun> users)
    {
        var answers = users.Select(u => (User: u, Answer: u.Connect!.IsCompletedSuccessfully ? u.Connect.Result : (RouteAnswer?)null)).ToList();
        var served = answers.Where(a => a.Answer?.Status == 200).ToList();
        var errors = answers.Count(a => a.Answer is { Status: >= 500, RetryAfter: null });
        var refused = answers.Count(a => a.Answer is { Status: not 200, RetryAfter: not null });
        var latencies = served.Select(a => (a.User.FinishedAt!.Value - a.User.ArrivedAt).TotalMilliseconds).Order().ToList();

        double? recovery = null;
        if (scenario.Storm is { } storm)
        {
            var stormEnd = storm.At + storm.Duration;
            var failedDuringStorm = answers.Any(a => a.Answer?.Status != 200 && a.User.FinishedAt >= storm.At && a.User.FinishedAt <= stormEnd + BenchBrowser.RetryDelay * BenchBrowser.Retries);
            var firstSuccessAfter = served.Select(a => a.User.FinishedAt!.Value).Where(t => t >= stormEnd).DefaultIfEmpty(TimeSpan.MaxValue).Min();
            recovery = !failedDuringStorm ? 0 : firstSuccessAfter == TimeSpan.MaxValue ? null : Math.Round((firstSuccessAfter - stormEnd).TotalSeconds, 2);
        }

        var underQuotaError = scenario.QuotaFault is { } quota ? world.Upstream.RequestsSince(world.Origin + quota.At) : 0;
        var couldServe = Math.Min(users.Count, scenario.QuotaAllowance);
        return new StrategyFigures(
            served.Count,
            errors,
            refused,
            world.Upstream.Requests,
            world.Upstream.TooMany,
            couldServe == 0 ? 0 : Math.Round(Math.Min(1, served.Count / couldServe), 4),
            world.Upstream.Ok,
            Percentile(latencies, 0.50),
            Percentile(latencies, 0.99),
            recovery,
            users.Count - served.Count - errors - refused,
            underQuotaError,
            world.Activity.SettleTimeouts)
        {
            Calls = world.Upstream.Calls,
            Responses429 = world.ResponsesRefused,
            WastedUpstreamRequests = Math.Max(0, world.Upstream.Requests - world.Upstream.Ok - served.Count),
        };
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : Math.Round(sorted[Math.Min(sorted.Count - 1, Math.Max(0, (int)Math.Ceiling(p * sorted.Count) - 1))], 1);
}
