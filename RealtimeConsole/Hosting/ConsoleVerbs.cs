using RealtimeConsole.Bench;
using RealtimeConsole.Simulator;
using RealtimeConsole.Telemetry;

namespace RealtimeConsole.Hosting;

/// <summary>The command-line verbs besides the console itself: <c>simulator</c>, <c>bench</c>, <c>watch</c>.</summary>
public static class ConsoleVerbs
{
    private static readonly Dictionary<string, Func<string[], Task<int>>> Verbs = new(StringComparer.OrdinalIgnoreCase)
    {
        ["simulator"] = SimulatorHost.RunStandaloneAsync,
        ["bench"] = BenchCommand.RunAsync,
        ["watch"] = WatchCommand.RunAsync,
    };

    public static bool TryGet(string[] args, out Func<string[], Task<int>> verb)
    {
        verb = null!;
        return args.Length > 0 && !args[0].StartsWith('-') && Verbs.TryGetValue(args[0], out verb!);
    }
}
