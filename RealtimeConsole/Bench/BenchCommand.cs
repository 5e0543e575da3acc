using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RealtimeConsole.Simulator;
using RealtimeConsole.Simulator.Media;

namespace RealtimeConsole.Bench;

/// <summary>
/// <c>dotnet run -c Release --project RealtimeConsole -- bench [--scenario burst|steady|storm|quota|shared-org|all] [--json FILE]
/// [--strategies seed,broker] [--steady-minutes 10] [--quota 60] [--real-time]</c>; <c>bench throughput</c> is the broker's loopback
/// throughput; <c>bench simulator</c> and <c>bench media</c> are the simulator's own benches.
/// </summary>
public static class BenchCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length > 0 && args[0] == "simulator")
        {
            return await SimulatorThroughputBench.RunAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] == "throughput")
        {
            return await BrokerThroughputBench.RunAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] == "media")
        {
            return await Simulator.Media.MediaPeerBench.RunAsync(args[1..]);
        }

        if (!TryParse(args, out var scenarios, out var strategies, out var jsonFile, out var demand, out var error))
        {
            Console.Error.WriteLine(error);
            Console.Error.WriteLine("usage: bench [--scenario burst|steady|storm|quota|shared-org|all] [--json FILE] [--strategies seed,sdk-default,standard-resilience,cookbook,broker] [--steady-minutes 1..10] [--quota 2..600] [--real-time]");
            Console.Error.WriteLine("       bench simulator [...] | bench throughput [...] | bench media [...]");
            return 2;
        }

        Console.WriteLine(demand.Describe());
        var results = new List<(BenchScenario Scenario, Dictionary<string, StrategyFigures> Figures)>();
        var allMet = true;
        foreach (var name in scenarios)
        {
            var scenario = demand.Scenario(name);
            var figures = new Dictionary<string, StrategyFigures>();
            foreach (var strategy in strategies)
            {
                figures[strategy] = await BenchRunner.RunAsync(scenario, strategy, demand.RealTime);
            }

            results.Add((scenario, figures));
            Console.WriteLine(BenchReport.Table(scenario, figures));
            if (figures.TryGetValue("broker", out var broker))
            {
                foreach (var (goal, met) in BenchReport.Goals(scenario, broker))
                {
                    Console.WriteLine($"  broker goal: {goal}: {(met ? "met" : "NOT MET")}");
                    allMet &= met;
                }
            }

            Console.WriteLine();
        }

        if (jsonFile is not null)
        {
            var documents = results.Select(r => BenchReport.ToJson(r.Scenario, r.Figures)).ToArray();
            JsonNode root = documents.Length == 1 && scenarios.Length == 1 && !args.Contains("all") ? documents[0] : new JsonArray(documents);
            await File.WriteAllTextAsync(jsonFile, root.ToJsonString(Json));
            Console.WriteLine($"wrote {jsonFile}");
        }

        return allMet ? 0 : 1;
    }

    private static bool TryParse(string[] args, out string[] scenarios, out string[] strategies, out string? jsonFile, out BenchDemand demand, out string error)
    {
        scenarios = ["burst"];
        strategies = BenchStrategies.Names;
        jsonFile = null;
        demand = new BenchDemand(args.Contains(BenchDemand.RealTimeFlag));
        error = "";
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--scenario" when value == "all":
                    scenarios = BenchScenario.Names;
                    break;
                case "--scenario" when value is not null && BenchScenario.Names.Contains(value):
                    scenarios = [value];
                    break;
                case "--strategies" when value is not null && value.Split(',').All(BenchStrategies.Names.Contains):
                    strategies = value.Split(',');
                    break;
                case "--json" when !string.IsNullOrWhiteSpace(value):
                    jsonFile = value;
                    break;
                case "--steady-minutes" when int.TryParse(value, CultureInfo.InvariantCulture, out var minutes) && minutes is >= 1 and <= 10:
                    demand = demand with { Minutes = minutes };
                    break;
                case "--quota" when int.TryParse(value, CultureInfo.InvariantCulture, out var quota) && quota is >= 2 and <= 600:
                    demand = demand with { QuotaPerMinute = quota };
                    break;
                case BenchDemand.RealTimeFlag:
                    continue;
                default:
                    error = $"bench: '{args[i]}{(value is null ? "" : " " + value)}' is not understood.";
                    return false;
            }

            i++;
        }

        return true;
    }
}

/// <summary>The table, the JSON document and the broker's goals for one scenario.</summary>
public static class BenchReport
{
    public static string Table(BenchScenario scenario, IReadOnlyDictionary<string, StrategyFigures> figures)
    {
        var header = new[] { "strategy", "served", "5xx", "refused+RA", "waiting/other", "upstream", "429", "quotaUtil", "mints", "p50 ms", "p99 ms", "recovery s" };
        var rows = figures.Select(f => new[]
        {
            f.Key, N(f.Value.UsersServed), N(f.Value.UserErrors5xx), N(f.Value.UserRefusedWithRetryAfter), N(f.Value.UsersOtherwiseFailed),
            N(f.Value.UpstreamRequests), N(f.Value.Upstream429), f.Value.QuotaUtilization.ToString("P1", CultureInfo.InvariantCulture), N(f.Value.Mints),
            f.Value.P50ConnectMs.ToString("0", CultureInfo.InvariantCulture), f.Value.P99ConnectMs.ToString("0", CultureInfo.InvariantCulture),
            f.Value.RecoverySeconds?.ToString("0.##", CultureInfo.InvariantCulture) ?? (scenario.Storm is null ? "-" : "never"),
        }).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        var lines = new List<string>
        {
            $"scenario {scenario.Name}: {scenario.Description} · {scenario.Arrivals.Count} users · quota {scenario.QuotaPerMinute}/min · upstream {BenchWorld.UpstreamLatency.TotalMilliseconds:0} ms",
            Row(header, widths),
            string.Join("-+-", widths.Select(w => new string('-', w))),
        };
        lines.AddRange(rows.Select(r => Row(r, widths)));
        lines.AddRange(figures.Where(f => f.Value.SettleTimeouts > 0).Select(f =>
            $"  warning: {f.Key}: the simulated world did not come to rest {f.Value.SettleTimeouts} time(s) within {SimulatedActivity.SettleLimit.TotalSeconds:0} s; its figures may be off"));
        return string.Join(Environment.NewLine, lines);

        static string N(int n) => n.ToString(CultureInfo.InvariantCulture);
        static string Row(string[] cells, int[] widths) => string.Join(" | ", cells.Select((c, i) => i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i])));
    }

    public static JsonObject ToJson(BenchScenario scenario, IReadOnlyDictionary<string, StrategyFigures> figures)
    {
        var strategies = new JsonObject();
        foreach (var (name, f) in figures)
        {
            strategies[name] = JsonSerializer.SerializeToNode(f, new JsonSerializerOptions(JsonSerializerDefaults.Web));
        }

        return new JsonObject { ["scenario"] = scenario.Name, ["strategies"] = strategies };
    }

    /// <summary>The issue's goals for the broker that apply to <paramref name="scenario"/>.</summary>
    public static IEnumerable<(string Goal, bool Met)> Goals(BenchScenario scenario, StrategyFigures broker)
    {
        if (scenario.Name is "burst" or "steady" or "shared-org")
        {
            yield return ("zero upstream 429s", broker.Upstream429 == 0);
        }

        if (scenario.Arrivals.Count > scenario.QuotaAllowance)
        {
            yield return ("quota utilization ≥ 98% (demand exceeds the quota)", broker.QuotaUtilization >= 0.98);
        }

        yield return ("zero user-visible 5xx", broker.UserErrors5xx == 0);
        yield return ("every refused user told when to retry", broker.UsersOtherwiseFailed == 0);
        if (scenario.QuotaFault is { } quota)
        {
            var window = scenario.LastArrival + BenchScenario.Tail - quota.At;
            var allowed = (int)Math.Ceiling(window / TimeSpan.FromMinutes(1)) + 1;
            yield return ($"insufficient_quota: ≤ 1 upstream request per 60 s re-check ({broker.UpstreamRequestsUnderQuotaError} sent, ≤ {allowed} allowed)", broker.UpstreamRequestsUnderQuotaError <= allowed);
        }
    }
}
