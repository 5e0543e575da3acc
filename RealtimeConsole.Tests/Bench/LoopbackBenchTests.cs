using System.Text.RegularExpressions;
using RealtimeConsole.Bench;
using RealtimeConsole.Simulator;

namespace RealtimeConsole.Tests.Bench;

/// <summary>The loopback benches run end to end, briefly, and print their figures and goal line (numbers are not asserted).</summary>
public sealed partial class LoopbackBenchTests
{
    [Fact]
    public async Task Bench_simulator_mints_over_loopback_and_states_the_goal()
    {
        using var output = new StringWriter();
        var exit = await SimulatorThroughputBench.RunAsync(["--clients", "2", "--seconds", "1", "--warmup", "0"], output);

        var text = output.ToString();
        Assert.Matches(@"mints: [1-9]\d* ok, 0 failed \(none\) in [\d.]+s → \d+ requests/s", text);
        Assert.Matches(@"latency: p50 [\d.]+ ms · p99 [\d.]+ ms", text);
        var goal = GoalLine().Match(text);
        Assert.True(goal.Success, text);
        Assert.Equal(goal.Groups[1].Value == "met" ? 0 : 1, exit);
    }

    [Fact]
    public async Task Bench_simulator_with_url_reports_the_separate_simulators_cpu()
    {
        await using var simulator = SimulatorHost.Build(["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning"]);
        await simulator.StartAsync();
        using var output = new StringWriter();

        await SimulatorThroughputBench.RunAsync(["--url", SimulatorHost.ListeningAddress(simulator).ToString(), "--clients", "2", "--seconds", "1", "--warmup", "0"], output);

        var text = output.ToString();
        Assert.Contains("(separate process)", text);
        Assert.Matches(@"mints: [1-9]\d* ok, 0 failed", text);
        Assert.Matches(@"simulator cpu: [\d.]+ s .* → \d+ mints per simulator CPU-second", text);
        Assert.Matches(GoalLine(), text);
        await simulator.StopAsync();
    }

    [Fact]
    public async Task Bench_throughput_serves_shared_secrets_from_one_upstream_mint_and_states_the_goal()
    {
        using var output = new StringWriter();
        var exit = await BrokerThroughputBench.RunAsync(["--clients", "3", "--seconds", "1", "--warmup", "0"], output);

        var text = output.ToString();
        Assert.Contains("3 clients from 127.0.0.2..127.0.0.4", text);
        Assert.Contains("door limit 100,000/min per client (raised for the bench; default 30)", text);
        Assert.Matches(@"secrets: [1-9]\d* ok, 0 failed \(none\) in [\d.]+s → \d+ requests/s", text);
        Assert.Matches(@"latency: p50 [\d.]+ ms · p99 [\d.]+ ms", text);
        Assert.Contains("upstream mints since start (warm-up included): 1 seen by the simulator, 1 by the broker", text);
        var goal = GoalLine().Match(text);
        Assert.True(goal.Success, text);
        Assert.Equal(goal.Groups[1].Value == "met" ? 0 : 1, exit);
    }

    [Fact]
    public async Task Loopback_benches_reject_unknown_arguments()
    {
        Assert.Equal(2, await BenchCommand.RunAsync(["throughput", "--clients", "0"]));
        Assert.Equal(2, await BenchCommand.RunAsync(["throughput", "--bogus", "1"]));
        Assert.Equal(2, await BenchCommand.RunAsync(["simulator", "--seconds", "x"]));
    }

    [GeneratedRegex(@"goal .+: (met|NOT MET)\r?$", RegexOptions.Multiline)]
    private static partial Regex GoalLine();
}
