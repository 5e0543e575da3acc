using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace RealtimeConsole.Simulator;

/// <summary>
/// <c>dotnet run -c Release --project RealtimeConsole -- bench simulator [--clients 64] [--seconds 5]</c>: the standalone
/// simulator on 127.0.0.1 (ephemeral port), limits raised out of the way, N concurrent HTTP clients minting ephemeral
/// keys for a bounded time; prints requests/s and p50/p99 latency. <c>--url http://127.0.0.1:5090/</c> drives an
/// already running <c>simulator</c> process instead (its limits must be raised), so its CPU can be measured apart.
/// </summary>
public static class SimulatorThroughputBench
{
    private const string MintBody = """{"expires_after":{"anchor":"created_at","seconds":10},"session":{"type":"realtime","model":"gpt-realtime","instructions":"Bench."}}""";

    public static async Task<int> RunAsync(string[] args)
    {
        if (!TryParse(args, out var clients, out var seconds, out var warmupSeconds, out var target))
        {
            Console.Error.WriteLine("usage: bench simulator [--clients 1..1024] [--seconds 1..600] [--warmup 0..60] [--url http://127.0.0.1:5090/]");
            return 2;
        }

        if (target is not null)
        {
            return await MeasureAsync(target, new SimulatorOptions().ApiKey, clients, seconds, warmupSeconds, simulatorInProcess: false);
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
            return await MeasureAsync(SimulatorHost.ListeningAddress(app), apiKey, clients, seconds, warmupSeconds, simulatorInProcess: true);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    private static async Task<int> MeasureAsync(Uri address, string apiKey, int clients, int seconds, int warmupSeconds, bool simulatorInProcess)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = clients, PooledConnectionLifetime = Timeout.InfiniteTimeSpan, UseProxy = false };
        using var http = new HttpClient(handler) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"simulator at {address} · {clients} clients · {warmupSeconds}s warm-up · {seconds}s measured · {Environment.ProcessorCount} cores"));
        await DriveAsync(http, apiKey, clients, TimeSpan.FromSeconds(warmupSeconds));
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var run = await DriveAsync(http, apiKey, clients, TimeSpan.FromSeconds(seconds));
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;

        var latencies = run.Latencies;
        latencies.Sort();
        var rps = run.Ok / run.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"mints: {run.Ok} ok, {run.Failed} failed in {run.Elapsed.TotalSeconds:F2}s → {rps:F0} requests/s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"latency: p50 {Percentile(latencies, 0.50):F2} ms · p99 {Percentile(latencies, 0.99):F2} ms · max {(latencies.Count > 0 ? latencies[^1] : 0):F2} ms"));
        // On a shared machine the wall-clock rate says more about the neighbours than about the simulator; CPU time does not.
        var perCpuSecond = run.Ok / Math.Max(cpu.TotalSeconds, 0.001);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"cpu: {cpu.TotalSeconds:F2} s used by {(simulatorInProcess ? "clients and simulator together" : "the clients alone")} ({cpu.TotalSeconds / run.Elapsed.TotalSeconds:F2} of {Environment.ProcessorCount} cores) → {perCpuSecond:F0} mints per CPU-second"));
        return run.Failed == 0 ? 0 : 1;
    }

    private static async Task<(long Ok, long Failed, TimeSpan Elapsed, List<double> Latencies)> DriveAsync(HttpClient http, string apiKey, int clients, TimeSpan duration)
    {
        var ok = 0L;
        var failed = 0L;
        var perWorker = new List<double>[clients];
        var clock = Stopwatch.StartNew();
        var workers = new Task[clients];
        for (var w = 0; w < clients; w++)
        {
            var samples = perWorker[w] = new List<double>(16_384);
            workers[w] = Task.Run(async () =>
            {
                var body = Encoding.UTF8.GetBytes(MintBody);
                var auth = new AuthenticationHeaderValue("Bearer", apiKey);
                while (clock.Elapsed < duration)
                {
                    var started = Stopwatch.GetTimestamp();
                    using var request = new HttpRequestMessage(HttpMethod.Post, "simulator/v1/realtime/client_secrets") { Content = new ByteArrayContent(body) };
                    request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    request.Headers.Authorization = auth;
                    using var response = await http.SendAsync(request);
                    await response.Content.ReadAsByteArrayAsync();
                    samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref ok);
                    }
                    else
                    {
                        Interlocked.Increment(ref failed);
                    }
                }
            });
        }

        await Task.WhenAll(workers);
        var elapsed = clock.Elapsed;
        var all = new List<double>(perWorker.Sum(s => s.Count));
        foreach (var samples in perWorker)
        {
            all.AddRange(samples);
        }

        return (ok, failed, elapsed, all);
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static bool TryParse(string[] args, out int clients, out int seconds, out int warmup, out Uri? target)
    {
        clients = 64;
        seconds = 5;
        warmup = 2;
        target = null;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--url" && i + 1 < args.Length && Uri.TryCreate(args[++i].TrimEnd('/') + "/", UriKind.Absolute, out var url) && url.Scheme == Uri.UriSchemeHttp)
            {
                target = url;
                continue;
            }

            if (i + 1 >= args.Length || !int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var value))
            {
                return false;
            }

            switch (args[i++])
            {
                case "--clients" when value is >= 1 and <= 1024:
                    clients = value;
                    break;
                case "--seconds" when value is >= 1 and <= 600:
                    seconds = value;
                    break;
                case "--warmup" when value is >= 0 and <= 60:
                    warmup = value;
                    break;
                default:
                    return false;
            }
        }

        return true;
    }
}
