using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RealtimeConsole.Simulator.Media.Client;
using RealtimeConsole.Simulator.Media.Dtls;
using RealtimeConsole.Simulator.Media.Realtime;

namespace RealtimeConsole.Simulator.Media;

/// <summary>
/// <c>bench media [--connects N] [--sessions 25,50,100] [--seconds S]</c>: the simulator's media peer against C# client
/// peers on loopback. Connect time runs from the offer handed to the peer to the data channel's DCEP ACK; the
/// concurrency stage holds N calls with audio both ways for S seconds and counts lost and missing packets.
/// </summary>
public static class MediaPeerBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var connects = IntArg(args, "--connects", 200);
        var seconds = IntArg(args, "--seconds", 10);
        var levels = (Arg(args, "--sessions") ?? "25,50,100").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var time = TimeProvider.System;
        var options = new MediaPeerOptions { MaxConcurrentCalls = Math.Max(levels.Max(), 1) + 10 };
        await using var peer = new SimulatorMediaPeer(new FixedWindowResponseBudget(time, 1_000_000), time, Options.Create(options), NullLogger<SimulatorMediaPeer>.Instance);
        var certificate = DtlsCertificate.Create(time);
        var session = new JsonObject { ["audio"] = new JsonObject { ["input"] = new JsonObject { ["turn_detection"] = null } } };

        Console.WriteLine($"media peer bench: {Environment.ProcessorCount} cores, {connects} sequential connects, levels {string.Join(',', levels)}, {seconds} s each");
        var connectTimes = new List<double>();
        for (var i = 0; i < connects + 5; i++)
        {
            await using var client = new WebRtcClientPeer(certificate, time);
            var offer = client.CreateOffer();
            var started = Stopwatch.GetTimestamp();
            var accepted = await peer.AcceptAsync(offer, session, CancellationToken.None);
            await client.ConnectAsync(accepted.AnswerSdp, new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
            if (i >= 5)
            {
                connectTimes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            await peer.HangUpAsync(accepted.CallId, CancellationToken.None);
        }

        connectTimes.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"connect (offer -> channel open): p50 {Percentile(connectTimes, 0.50):0.0} ms, p95 {Percentile(connectTimes, 0.95):0.0} ms, max {connectTimes[^1]:0.0} ms (goal p50 < 150 ms)"));

        var bestWithoutLoss = 0;
        foreach (var level in levels)
        {
            var clients = Enumerable.Range(0, level).Select(_ => new WebRtcClientPeer(certificate, time) { SendMicrophone = true }).ToList();
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var callIds = await Task.WhenAll(clients.Select(async c =>
            {
                var accepted = await peer.AcceptAsync(c.CreateOffer(), session, CancellationToken.None);
                await c.ConnectAsync(accepted.AnswerSdp, new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
                return accepted.CallId;
            }));
            var before = clients.Select(c => c.AudioPacketsReceived).ToArray();
            var clock = Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(seconds), time);
            var elapsed = clock.Elapsed.TotalSeconds;
            var received = clients.Select((c, i) => c.AudioPacketsReceived - before[i]).ToArray();
            var lost = clients.Sum(c => c.AudioPacketsLost);
            var expected = (long)(elapsed * 50);
            var shortest = received.Min();
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds / elapsed / Environment.ProcessorCount * 100;
            var ok = lost == 0 && shortest >= expected * 0.95;
            bestWithoutLoss = ok ? Math.Max(bestWithoutLoss, level) : bestWithoutLoss;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{level,4} sessions: {received.Sum()} packets in {elapsed:0.0} s, lost {lost}, slowest session {shortest}/{expected} expected, CPU {cpu:0}% of {Environment.ProcessorCount} cores -> {(ok ? "OK" : "LOSS")}"));
            foreach (var c in clients)
            {
                await c.DisposeAsync();
            }

            var ending = callIds.Select(peer.Find).OfType<WebRtcCall>().Select(c => c.Completion).ToList();
            foreach (var id in callIds)
            {
                await peer.HangUpAsync(id, CancellationToken.None);
            }

            await Task.WhenAll(ending).WaitAsync(TimeSpan.FromSeconds(10));
        }

        Console.WriteLine($"concurrent sessions with audio and no loss: {bestWithoutLoss} (goal 50 on 2 cores); live calls after the run: {peer.LiveCalls}");
        return 0;
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static string? Arg(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }

    private static int IntArg(string[] args, string name, int fallback) =>
        Arg(args, name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;
}
