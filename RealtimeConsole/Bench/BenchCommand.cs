using RealtimeConsole.Simulator;
using RealtimeConsole.Simulator.Media;

namespace RealtimeConsole.Bench;

/// <summary><c>dotnet run -c Release --project RealtimeConsole -- bench ...</c>.</summary>
public static class BenchCommand
{
    public static Task<int> RunAsync(string[] args)
    {
        if (args.Length > 0 && args[0] == "simulator")
        {
            return SimulatorThroughputBench.RunAsync(args[1..]);
        }

        if (args.Length > 0 && args[0] == "media")
        {
            return MediaPeerBench.RunAsync(args[1..]);
        }

        Console.Error.WriteLine("The bench command is not built yet.");
        return Task.FromResult(2);
    }
}
