using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using RealtimeConsole.Bench;

namespace RealtimeConsole.Simulator;

/// <summary>
/// <c>dotnet run -c Release --project RealtimeConsole -- bench simulator [--clients 64] [--seconds 5]</c>: the standalone
/// simulator on 127.0.0.1 (ephemeral port), limits raised out of the way, N concurrent HTTP clients minting ephemeral
/// keys for a bounded time; prints requests/s, p50/p99 latency and whether issue #2's goal is met.
/// <c>--url http://127.0.0.1:5090/</c> drives an already running <c>simulator</c> process instead (its limits are raised
/// through the admin API), and reads that process's own CPU time from <c>GET /simulator/admin/stats</c>.
/// </summary>
public static class SimulatorThroughputBench
{
    /// <summary>Issue #2: "well over 10,000 mints/s"; this bench reads "well over" as at least 1.5×.</summary>
    public const double GoalMintsPerSecond = 15_000;

    private const string MintBody = """{"expires_after":{"anchor":"created_at","seconds":10},"session":{"type":"realtime","model":"gpt-realtime","instructions":"Bench."}}""";

    public static Task<int> RunAsync(string[] args) => RunAsync(args, Console.Out);

    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        if (!LoopbackBenchArguments.TryParse(args, defaultClients: 64, out var clients, out var seconds, out var warmupSeconds, out var target))
        {
            await Console.Error.WriteLineAsync("usage: bench simulator [--clients 1..250] [--seconds 1..600] [--warmup 0..60] [--url http://127.0.0.1:5090/]");
            return 2;
        }

        if (target is not null)
        {
            return await MeasureAsync(output, target, new SimulatorOptions().ApiKey, clients, seconds, warmupSeconds, simulatorInProcess: false);
        }

        await using var app = SimulatorHost.Build(
        [
            "--urls", "http://127.0.0.1:0",
            "--Logging:LogLevel:Default=Warning",
            "--Simulator:RequestsPerMinute:ClientSecrets=" + RequestRateBucket.MaxLimit.ToString(CultureInfo.InvariantCulture),
        ]);
        await app.StartAsync();
        try
        {
            var apiKey = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<SimulatorOptions>>().Value.ApiKey;
            return await MeasureAsync(output, SimulatorHost.ListeningAddress(app), apiKey, clients, seconds, warmupSeconds, simulatorInProcess: true);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    private static async Task<int> MeasureAsync(TextWriter output, Uri address, string apiKey, int clients, int seconds, int warmupSeconds, bool simulatorInProcess)
    {
        using var admin = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
        if (!simulatorInProcess)
        {
            // A separate simulator keeps its configured limits; raise them so the bench measures the simulator, not its 429s.
            using var raised = await admin.PutAsJsonAsync("simulator/admin/limits/client_secrets", new { requestsPerMinute = RequestRateBucket.MaxLimit });
            raised.EnsureSuccessStatusCode();
        }

        using var load = new LoopbackLoad(address, clients, new LoopbackRequest("simulator/v1/realtime/client_secrets", Encoding.UTF8.GetBytes(MintBody), apiKey), distinctAddresses: false);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"simulator at {address}{(simulatorInProcess ? " (in this process)" : " (separate process)")} · {clients} clients · {warmupSeconds}s warm-up · {seconds}s measured · {Environment.ProcessorCount} cores"));
        if (warmupSeconds > 0)
        {
            await load.RunAsync(TimeSpan.FromSeconds(warmupSeconds));
        }

        var serverCpuBefore = simulatorInProcess ? null : await ServerCpuSecondsAsync(admin);
        var run = await load.RunAsync(TimeSpan.FromSeconds(seconds));
        var serverCpuAfter = simulatorInProcess ? null : await ServerCpuSecondsAsync(admin);

        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"mints: {run.Ok} ok, {run.Failed} failed ({LoopbackLoad.FormatFailures(run)}) in {run.Elapsed.TotalSeconds:F2}s → {run.RequestsPerSecond:F0} requests/s"));
        await output.WriteLineAsync("latency: " + LoopbackLoad.FormatLatency(run));
        // On a shared machine the wall-clock rate says more about the neighbours than about the simulator; CPU time does not.
        var clientCpu = run.ClientCpu.TotalSeconds;
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"cpu: {clientCpu:F2} s used by {(simulatorInProcess ? "clients and simulator together" : "the clients")} ({clientCpu / run.Elapsed.TotalSeconds:F2} of {Environment.ProcessorCount} cores) → {run.Ok / Math.Max(clientCpu, 0.001):F0} mints per CPU-second"));
        double? simulatorCapacity = null;
        if (serverCpuBefore is { } before && serverCpuAfter is { } after)
        {
            var simulatorCpu = Math.Max(after - before, 0.001);
            simulatorCapacity = run.Ok / simulatorCpu;
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"simulator cpu: {simulatorCpu:F2} s ({simulatorCpu / run.Elapsed.TotalSeconds:F2} of {Environment.ProcessorCount} cores) → {simulatorCapacity:F0} mints per simulator CPU-second"));
        }

        var met = run.Failed == 0 && run.RequestsPerSecond >= GoalMintsPerSecond;
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"goal well over 10,000 mints/s (≥ {GoalMintsPerSecond:N0} measured here, clients sharing the cores, no failures): {(met ? "met" : "NOT MET")}"));
        return met ? 0 : 1;
    }

    private static async Task<double?> ServerCpuSecondsAsync(HttpClient admin)
    {
        using var stats = await JsonDocument.ParseAsync(await admin.GetStreamAsync("simulator/admin/stats"));
        return stats.RootElement.TryGetProperty("process", out var process) && process.TryGetProperty("cpuSeconds", out var cpu) ? cpu.GetDouble() : null;
    }
}
