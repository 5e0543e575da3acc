using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;

namespace RealtimeConsole.Bench;

/// <summary>What one request of a <see cref="LoopbackLoad"/> run looks like: method, path, optional JSON body and bearer key.</summary>
public sealed record LoopbackRequest(string Path, byte[]? JsonBody = null, string? BearerKey = null);

/// <summary>The figures of one timed <see cref="LoopbackLoad"/> run.</summary>
public sealed record LoopbackLoadResult(long Ok, long Failed, TimeSpan Elapsed, double P50Ms, double P99Ms, double MaxMs, TimeSpan ClientCpu, IReadOnlyDictionary<int, long> FailedByStatus)
{
    public double RequestsPerSecond => Ok / Math.Max(Elapsed.TotalSeconds, 0.001);
}

/// <summary>
/// N concurrent HTTP/1.1 clients over loopback, each a closed loop on its own keep-alive connection (one SocketsHttpHandler
/// per client, driven through <see cref="HttpMessageInvoker"/>, HttpClient's base, which skips HttpClient's per-request timeout
/// and cancellation linking: a lighter client leaves more of the shared cores to the server being measured) sending <see cref="LoopbackRequest"/> as fast as answers come back. With
/// <c>distinctAddresses</c>, client k connects from 127.0.0.(k+2) so per-client limits see N clients, not one.
/// Used by <c>bench simulator</c> and <c>bench throughput</c>.
/// </summary>
public sealed class LoopbackLoad : IDisposable
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    /// <summary>How long past the run's end a request may still take before the run gives up on it.</summary>
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private readonly Client[] _clients;

    public LoopbackLoad(Uri baseAddress, int clients, LoopbackRequest request, bool distinctAddresses)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(clients, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(clients, 250);
        _clients = new Client[clients];
        for (var k = 0; k < clients; k++)
        {
            var local = distinctAddresses ? new IPAddress([127, 0, 0, (byte)(k + 2)]) : null;
            _clients[k] = new Client(baseAddress, request, local);
        }
    }

    public int Clients => _clients.Length;

    /// <summary>Every client sends requests back to back for <paramref name="duration"/>; latencies are per request, in ms.</summary>
    public async Task<LoopbackLoadResult> RunAsync(TimeSpan duration, CancellationToken cancellationToken = default)
    {
        // A server that stops answering fails the requests in flight instead of hanging the bench.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(duration + RequestTimeout);
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var runs = new Task<ClientRun>[_clients.Length];
        for (var k = 0; k < _clients.Length; k++)
        {
            var client = _clients[k];
            runs[k] = Task.Run(() => client.RunAsync(clock, duration, deadline.Token), CancellationToken.None);
        }

        var results = await Task.WhenAll(runs);
        var elapsed = clock.Elapsed;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;

        var latencies = new List<double>(results.Sum(r => r.Latencies.Count));
        var failedByStatus = new SortedDictionary<int, long>();
        long ok = 0, failed = 0;
        foreach (var run in results)
        {
            latencies.AddRange(run.Latencies);
            ok += run.Ok;
            foreach (var (status, count) in run.Failed)
            {
                failed += count;
                failedByStatus[status] = failedByStatus.GetValueOrDefault(status) + count;
            }
        }

        latencies.Sort();
        return new LoopbackLoadResult(ok, failed, elapsed, Percentile(latencies, 0.50), Percentile(latencies, 0.99), latencies.Count > 0 ? latencies[^1] : 0, cpu, failedByStatus);
    }

    public void Dispose()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }
    }

    /// <summary>"p50 0.91 ms · p99 3.80 ms · max 12.00 ms".</summary>
    public static string FormatLatency(LoopbackLoadResult result) => string.Create(CultureInfo.InvariantCulture,
        $"p50 {result.P50Ms:F2} ms · p99 {result.P99Ms:F2} ms · max {result.MaxMs:F2} ms");

    /// <summary>"none", or "429 × 12, 500 × 1" (status 0: no answer at all).</summary>
    public static string FormatFailures(LoopbackLoadResult result) => result.FailedByStatus.Count == 0
        ? "none"
        : string.Join(", ", result.FailedByStatus.Select(f => string.Create(CultureInfo.InvariantCulture, $"{(f.Key == 0 ? "no answer" : f.Key.ToString(CultureInfo.InvariantCulture))} × {f.Value}")));

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    private readonly record struct ClientRun(long Ok, Dictionary<int, long> Failed, List<double> Latencies);

    private sealed class Client : IDisposable
    {
        private readonly HttpMessageInvoker _http;
        private readonly LoopbackRequest _request;
        private readonly Uri _uri;
        private readonly AuthenticationHeaderValue? _auth;
        private readonly byte[] _drain = new byte[16 * 1024];

        public Client(Uri baseAddress, LoopbackRequest request, IPAddress? localAddress)
        {
            var handler = new SocketsHttpHandler
            {
                MaxConnectionsPerServer = 1,
                PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
                UseProxy = false,
                UseCookies = false,
                AllowAutoRedirect = false,
            };
            if (localAddress is not null)
            {
                handler.ConnectCallback = (context, cancellationToken) => ConnectFromAsync(localAddress, context.DnsEndPoint, cancellationToken);
            }

            handler.ConnectTimeout = RequestTimeout;
            _http = new HttpMessageInvoker(handler);
            _request = request;
            _uri = new Uri(baseAddress, request.Path);
            _auth = request.BearerKey is null ? null : new AuthenticationHeaderValue("Bearer", request.BearerKey);
        }

        public async Task<ClientRun> RunAsync(Stopwatch clock, TimeSpan duration, CancellationToken cancellationToken)
        {
            var latencies = new List<double>(32_768);
            var failed = new Dictionary<int, long>();
            long ok = 0;
            while (clock.Elapsed < duration && !cancellationToken.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                int status;
                try
                {
                    status = await SendOnceAsync(cancellationToken);
                }
                catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
                {
                    status = 0;
                }

                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (status is >= 200 and < 300)
                {
                    ok++;
                }
                else
                {
                    failed[status] = failed.GetValueOrDefault(status) + 1;
                }
            }

            return new ClientRun(ok, failed, latencies);
        }

        private async Task<int> SendOnceAsync(CancellationToken cancellationToken)
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, _uri);
            if (_request.JsonBody is { } body)
            {
                message.Content = new ByteArrayContent(body);
                message.Content.Headers.ContentType = Json;
            }

            message.Headers.Authorization = _auth;
            // Headers first, then the body drained into one reused buffer: no per-answer byte[] on the client side.
            using var response = await _http.SendAsync(message, cancellationToken);
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var read = 1;
            while (read > 0)
            {
                read = await stream.ReadAsync(_drain, cancellationToken);
            }

            return (int)response.StatusCode;
        }

        private static async ValueTask<Stream> ConnectFromAsync(IPAddress local, DnsEndPoint remote, CancellationToken cancellationToken)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(local, 0));
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(remote.Host), remote.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        public void Dispose() => _http.Dispose();
    }
}

/// <summary>The arguments both loopback benches take: <c>[--clients N] [--seconds S] [--warmup W] [--url http://host:port/]</c>.</summary>
public static class LoopbackBenchArguments
{
    public static bool TryParse(string[] args, int defaultClients, out int clients, out int seconds, out int warmup, out Uri? target) =>
        TryParse(args, defaultClients, out clients, out seconds, out warmup, out target, out _);

    /// <param name="stores">With <c>--store memory,redis</c>: the broker-state stores to measure one after the other (memory alone by default).</param>
    public static bool TryParse(string[] args, int defaultClients, out int clients, out int seconds, out int warmup, out Uri? target, out string[] stores)
    {
        clients = defaultClients;
        seconds = 5;
        warmup = 2;
        target = null;
        stores = ["memory"];
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--store" && i + 1 < args.Length && args[i + 1].Split(',') is var names && names.All(n => n is "memory" or "redis"))
            {
                stores = [.. names.Distinct()];
                i++;
                continue;
            }

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
                case "--clients" when value is >= 1 and <= 250:
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
