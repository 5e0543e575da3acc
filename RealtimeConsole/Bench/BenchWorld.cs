using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Simulator;
using RealtimeConsole.Tokens;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Bench;

/// <summary>
/// One strategy's run: a fresh in-process simulator (and broker) on an in-memory TestServer, every timer on one shared
/// <see cref="FakeTimeProvider"/>, and the upstream wire counted by <see cref="CountingUpstreamHandler"/>.
/// </summary>
public sealed class BenchWorld : IAsyncDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>How long each upstream round trip takes in simulated time.</summary>
    public static readonly TimeSpan UpstreamLatency = TimeSpan.FromMilliseconds(250);

    public const string ApiKey = "sk-sim-bench";
    public const string ClientSecretsPath = "http://localhost/simulator/v1/realtime/client_secrets";
    public const string MintBody = """{"expires_after":{"anchor":"created_at","seconds":600},"session":{"type":"realtime","model":"gpt-realtime","instructions":"Bench."}}""";

    private readonly WebApplication _app;

    private BenchWorld(WebApplication app, FakeTimeProvider time, int quotaPerMinute)
    {
        _app = app;
        Time = time;
        QuotaPerMinute = quotaPerMinute;
        var server = app.GetTestServer();
        Upstream = new CountingUpstreamHandler(server.CreateHandler(), time);
        OtherConsumer = new HttpClient(new CountingUpstreamHandler(server.CreateHandler(), time));
    }

    public FakeTimeProvider Time { get; }

    public int QuotaPerMinute { get; }

    /// <summary>The wire our strategy's server sends upstream through (counted).</summary>
    public CountingUpstreamHandler Upstream { get; }

    /// <summary>Another consumer of the same organization (not counted in the strategy's figures).</summary>
    public HttpClient OtherConsumer { get; }

    public IServiceProvider Services => _app.Services;

    public SimulatorFaults Faults => _app.Services.GetRequiredService<SimulatorFaults>();

    public static async Task<BenchWorld> StartAsync(int quotaPerMinute, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var time = new FakeTimeProvider(Start) { AutoAdvanceAmount = TimeSpan.Zero };
        var rpm = quotaPerMinute.ToString(CultureInfo.InvariantCulture);
        BenchWorld? world = null;
        var app = SimulatorHost.Build(
            [
                "--Logging:LogLevel:Default=None",
                "--Simulator:ApiKey=" + ApiKey,
                "--Simulator:RequestsPerMinute:ClientSecrets=" + rpm,
                "--Realtime:BaseUrl=http://localhost/simulator/v1",
                "--Realtime:SecretMode=Shared",
                "--Realtime:ClientSecretsPerMinute=" + rpm,
            ],
            builder =>
            {
                builder.WebHost.UseTestServer();
                builder.Configuration["OPENAI_API_KEY"] = ApiKey;
                if (settings is not null)
                {
                    builder.Configuration.AddInMemoryCollection(settings);
                }

                builder.Services.AddSingleton<TimeProvider>(time);
                builder.AddClientSecretBroker();
                builder.Services.AddHttpClient(UpstreamGate.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => world!.Upstream);
            });
        await app.StartAsync();
        world = new BenchWorld(app, time, quotaPerMinute);
        return world;
    }

    /// <summary>A request minting one client secret with the server-side key, as every strategy sends it.</summary>
    public static HttpRequestMessage NewMintRequest()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, ClientSecretsPath) { Content = new StringContent(MintBody, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ApiKey);
        return request;
    }

    public async ValueTask DisposeAsync()
    {
        OtherConsumer.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>The upstream wire: adds <see cref="BenchWorld.UpstreamLatency"/> of simulated time and counts requests, 429s and successful mints.</summary>
public sealed class CountingUpstreamHandler(HttpMessageHandler inner, TimeProvider time) : DelegatingHandler(inner)
{
    private readonly Lock _gate = new();
    private readonly List<DateTimeOffset> _sentAt = [];
    private int _tooMany;
    private int _ok;

    public int Requests
    {
        get
        {
            lock (_gate)
            {
                return _sentAt.Count;
            }
        }
    }

    public int TooMany => Volatile.Read(ref _tooMany);

    public int Ok => Volatile.Read(ref _ok);

    /// <summary>When each request was sent (simulated time).</summary>
    public IReadOnlyList<DateTimeOffset> SentAt
    {
        get
        {
            lock (_gate)
            {
                return [.. _sentAt];
            }
        }
    }

    /// <summary>Requests sent at or after <paramref name="from"/>.</summary>
    public int RequestsSince(DateTimeOffset from)
    {
        lock (_gate)
        {
            return _sentAt.Count(t => t >= from);
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _sentAt.Add(time.GetUtcNow());
        }

        await Task.Delay(BenchWorld.UpstreamLatency, time, cancellationToken);
        var response = await base.SendAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            Interlocked.Increment(ref _tooMany);
        }
        else if (response.IsSuccessStatusCode)
        {
            Interlocked.Increment(ref _ok);
        }

        return response;
    }
}
