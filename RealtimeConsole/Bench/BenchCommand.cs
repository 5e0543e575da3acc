using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RealtimeConsole.Simulator;
using RealtimeConsole.Simulator.Media;

namespace RealtimeConsole.Bench;

/// <summary>
/// <c>dotnet run -c Release --project RealtimeConsole -- bench [--scenario burst|steady|storm|quota|shared-org|unknown-limit|unknown-limit-low|all]
/// [--json FILE] [--strategies seed,broker] [--instances 1,2,4,8] [--steady-minutes 10] [--quota 60] [--real-time]</c>; <c>bench throughput</c> is the broker's loopback
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

        if (!TryParse(args, out var scenarios, out var strategies, out var jsonFile, out var demand, out var instanceCounts, out var error))
        {
            Console.Error.WriteLine(error);
            Console.Error.WriteLine($"usage: bench [--scenario {string.Join('|', BenchScenario.Names)}|all] [--json FILE] [--strategies {string.Join(',', BenchStrategies.Names)}] [--instances 1,2,4,8] [--steady-minutes 1..10] [--quota 3..600] [--real-time]");
            Console.Error.WriteLine("       bench simulator [...] | bench throughput [...] | bench media [...]");
            return 2;
        }

        Console.WriteLine(demand.Describe());
        Console.WriteLine("A connect is the whole path: a client secret and the browser's offer posted upstream with it, or (broker) the offer exchanged server-side; "
            + $"then {BenchScenario.ResponsesPerSession} responses per session. Each strategy gets one cache (and the broker one budget) per instance.");
        var results = new List<(BenchScenario Scenario, int Instances, Dictionary<string, StrategyFigures> Figures)>();
        var allMet = true;
        foreach (var name in scenarios)
        {
            var scenario = demand.Scenario(name);
            foreach (var instances in instanceCounts)
            {
                var figures = new Dictionary<string, StrategyFigures>();
                foreach (var strategy in strategies)
                {
                    figures[strategy] = await BenchRunner.RunAsync(scenario, strategy, demand.RealTime, instances);
                }

                results.Add((scenario, instances, figures));
                Console.WriteLine(BenchReport.Table(scenario, figures, instances));
                if (instances == 1 && figures.TryGetValue("broker", out var broker))
                {
                    foreach (var (goal, met) in BenchReport.Goals(scenario, broker))
                    {
                        Console.WriteLine($"  broker goal: {goal}: {(met ? "met" : "NOT MET")}");
                        allMet &= met;
                    }
                }

                // One shared store makes any number of instances one broker: the same goals at every count.
                if (figures.TryGetValue("broker-redis", out var shared))
                {
                    foreach (var (goal, met) in BenchReport.Goals(scenario, shared))
                    {
                        Console.WriteLine($"  broker-redis goal ({instances} instance{(instances == 1 ? "" : "s")}): {goal}: {(met ? "met" : "NOT MET")}");
                        allMet &= met;
                    }
                }

                Console.WriteLine();
            }
        }

        if (instanceCounts.Length > 1)
        {
            Console.WriteLine(BenchReport.WasteByInstances(results.Select(r => (r.Scenario.Name, r.Instances, r.Figures)).ToList()));
        }

        if (jsonFile is not null)
        {
            var documents = results.Select(r => BenchReport.ToJson(r.Scenario, r.Figures, r.Instances)).ToArray();
            JsonNode root = documents.Length == 1 && scenarios.Length == 1 && !args.Contains("all") ? documents[0] : new JsonArray(documents);
            await File.WriteAllTextAsync(jsonFile, root.ToJsonString(Json));
            Console.WriteLine($"wrote {jsonFile}");
        }

        return allMet ? 0 : 1;
    }

    private static bool TryParse(string[] args, out string[] scenarios, out string[] strategies, out string? jsonFile, out BenchDemand demand, out int[] instances, out string error)
    {
        scenarios = ["burst"];
        strategies = BenchStrategies.Names;
        instances = [1];
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
                case "--instances" when value is not null && value.Split(',').All(n => int.TryParse(n, CultureInfo.InvariantCulture, out var count) && count is >= 1 and <= 16):
                    instances = [.. value.Split(',').Select(n => int.Parse(n, CultureInfo.InvariantCulture)).Distinct().Order()];
                    break;
                case "--quota" when int.TryParse(value, CultureInfo.InvariantCulture, out var quota) && quota is >= 3 and <= 600:
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
    public static string Table(BenchScenario scenario, IReadOnlyDictionary<string, StrategyFigures> figures, int instances = 1)
    {
        var header = new[] { "strategy", "served", "5xx", "refused+RA", "waiting/other", "upstream", "429", "wasted", "quotaUtil", "mints", "calls", "resp429", "p50 ms", "p99 ms", "recovery s" };
        var rows = figures.Select(f => new[]
        {
            f.Key, N(f.Value.UsersServed), N(f.Value.UserErrors5xx), N(f.Value.UserRefusedWithRetryAfter), N(f.Value.UsersOtherwiseFailed),
            N(f.Value.UpstreamRequests), N(f.Value.Upstream429), N(f.Value.WastedUpstreamRequests), f.Value.QuotaUtilization.ToString("P1", CultureInfo.InvariantCulture),
            N(f.Value.Mints), N(f.Value.Calls), N(f.Value.Responses429),
            f.Value.P50ConnectMs.ToString("0", CultureInfo.InvariantCulture), f.Value.P99ConnectMs.ToString("0", CultureInfo.InvariantCulture),
            f.Value.RecoverySeconds?.ToString("0.##", CultureInfo.InvariantCulture) ?? (scenario.Storm is null ? "-" : "never"),
        }).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        var lines = new List<string>
        {
            $"scenario {scenario.Name}: {scenario.Description} · {scenario.Arrivals.Count} users · quota {scenario.QuotaPerMinute}/min"
                + (scenario.ConfiguredPerMinute == scenario.QuotaPerMinute ? "" : $" (configured guess {scenario.ConfiguredPerMinute}/min)")
                + $" · {instances} instance{(instances == 1 ? "" : "s")} · upstream {BenchWorld.UpstreamLatency.TotalMilliseconds:0} ms",
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

    public static JsonObject ToJson(BenchScenario scenario, IReadOnlyDictionary<string, StrategyFigures> figures, int instances = 1)
    {
        var strategies = new JsonObject();
        foreach (var (name, f) in figures)
        {
            strategies[name] = JsonSerializer.SerializeToNode(f, new JsonSerializerOptions(JsonSerializerDefaults.Web));
        }

        return new JsonObject { ["scenario"] = scenario.Name, ["instances"] = instances, ["strategies"] = strategies };
    }

    /// <summary>Upstream 429s and wasted requests per strategy as instances are added: the gap one shared store closes.</summary>
    public static string WasteByInstances(IReadOnlyList<(string Scenario, int Instances, Dictionary<string, StrategyFigures> Figures)> runs)
    {
        var lines = new List<string> { "upstream 429s / wasted upstream requests, by instances:" };
        foreach (var scenario in runs.GroupBy(r => r.Scenario))
        {
            var counts = scenario.Select(r => r.Instances).ToArray();
            lines.Add($"  {scenario.Key}: " + string.Join("  ", counts.Select(c => $"{c}×".PadLeft(4))));
            foreach (var strategy in scenario.First().Figures.Keys)
            {
                var cells = scenario.Select(r => r.Figures.TryGetValue(strategy, out var f) ? $"{f.Upstream429}/{f.WastedUpstreamRequests}" : "-");
                lines.Add($"    {strategy,-20} " + string.Join("  ", cells.Select(c => c.PadLeft(9))));
            }
        }

        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>The issue's goals for the broker that apply to <paramref name="scenario"/>.</summary>
    public static IEnumerable<(string Goal, bool Met)> Goals(BenchScenario scenario, StrategyFigures broker)
    {
        if (scenario.Storm is null && scenario.QuotaFault is null)
        {
            // Storms and insufficient_quota are 429s upstream sends whatever we do; everywhere else none may come back.
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
