using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Deployment;
using RealtimeConsole.Simulator;
using RealtimeConsole.Simulator.Media;
using RealtimeConsole.Tokens;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Bench;

/// <summary>
/// One strategy's run: a fresh simulator with the upstream wire counted by <see cref="CountingUpstreamHandler"/>, and
/// one broker per simulated server instance (<see cref="BrokerInstance"/>), each with its own cache and budget.
/// Simulated (the default): an in-memory TestServer with every timer on one shared <see cref="FakeTimeProvider"/>, moved
/// by <see cref="StepToAsync"/> once <see cref="Activity"/> has settled. Real time: the same app on Kestrel at 127.0.0.1:0
/// on the system clock, strategies and broker reaching the simulator over loopback HTTP.
/// </summary>
public sealed class BenchWorld : IAsyncDisposable
{
    /// <summary>Where the simulated clock starts.</summary>
    public static readonly DateTimeOffset SimulatedStart = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>How long each upstream round trip takes on top of the wire (simulated, or waited on the wall clock in real time).</summary>
    public static readonly TimeSpan UpstreamLatency = TimeSpan.FromMilliseconds(250);

    public const string ApiKey = "sk-sim-bench";
    public const string MintBody = """{"expires_after":{"anchor":"created_at","seconds":600},"session":{"type":"realtime","model":"gpt-realtime","instructions":"Bench."}}""";

    private const string OtherSessionJson = "{\"type\":\"realtime\",\"model\":\"gpt-realtime\",\"instructions\":\"Bench.\"}";

    private readonly WebApplication _app;
    private readonly FakeTimeProvider? _fake;
    private readonly Uri _simulatorBase;
    private readonly Dictionary<int, ServiceProvider> _brokers = [];

    // One deployment per world on the shared bench Redis, so runs never see each other's state.
    private readonly string _deploymentName = "bench-" + Guid.NewGuid().ToString("N")[..12];
    private readonly SimulatorRateLimiter _organization;
    private int _responsesRefused;

    private BenchWorld(WebApplication app, TimeProvider time, FakeTimeProvider? fake, int quotaPerMinute, int guessPerMinute, HttpMessageHandler wire, Uri simulatorBase)
    {
        _app = app;
        _fake = fake;
        _simulatorBase = simulatorBase;
        _organization = app.Services.GetRequiredService<SimulatorRateLimiter>();
        Time = time;
        Origin = time.GetUtcNow();
        QuotaPerMinute = quotaPerMinute;
        GuessPerMinute = guessPerMinute;
        ClientSecretsUri = new Uri(simulatorBase, "realtime/client_secrets");
        CallsUri = new Uri(simulatorBase, "realtime/calls");
        Upstream = new CountingUpstreamHandler(wire, time);
        Browser = new HttpClient(Upstream, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
        OtherConsumer = new HttpClient(new CountingUpstreamHandler(wire, time), disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>The world's clock: the fake one, or the system clock in real time.</summary>
    public TimeProvider Time { get; }

    /// <summary>When the run started on <see cref="Time"/>.</summary>
    public DateTimeOffset Origin { get; }

    /// <summary>Time since <see cref="Origin"/>.</summary>
    public TimeSpan Elapsed => Time.GetUtcNow() - Origin;

    /// <summary>The organization's real limit per resource (client secrets and calls).</summary>
    public int QuotaPerMinute { get; }

    /// <summary>The limit the strategies were configured with.</summary>
    public int GuessPerMinute { get; }

    /// <summary>The simulator's <c>POST /v1/realtime/client_secrets</c>.</summary>
    public Uri ClientSecretsUri { get; }

    /// <summary>The simulator's <c>POST /v1/realtime/calls</c>.</summary>
    public Uri CallsUri { get; }

    /// <summary>Browsers posting their offers upstream with a client secret, through the same counted wire (OpenAI counts them against the organization too).</summary>
    public HttpClient Browser { get; }

    /// <summary>Responses refused by the organization's responses limit (a session's turn answered with a rate-limit error).</summary>
    public int ResponsesRefused => Volatile.Read(ref _responsesRefused);

    /// <summary>Work that belongs to the world: what the driver waits for before moving the fake clock.</summary>
    public SimulatedActivity Activity { get; } = new();

    /// <summary>The wire our strategy's server sends upstream through (counted).</summary>
    public CountingUpstreamHandler Upstream { get; }

    /// <summary>Another consumer of the same organization (not counted in the strategy's figures).</summary>
    public HttpClient OtherConsumer { get; }

    public IServiceProvider Services => _app.Services;

    public SimulatorFaults Faults => _app.Services.GetRequiredService<SimulatorFaults>();

    public static async Task<BenchWorld> StartAsync(int quotaPerMinute, bool realTime = false, IReadOnlyDictionary<string, string?>? settings = null, int? guessPerMinute = null)
    {
        var fake = realTime ? null : new FakeTimeProvider(SimulatedStart) { AutoAdvanceAmount = TimeSpan.Zero };
        TimeProvider time = fake ?? TimeProvider.System;
        var rpm = quotaPerMinute.ToString(CultureInfo.InvariantCulture);
        var app = SimulatorHost.Build(
            [
                "--Logging:LogLevel:Default=None",
                "--urls=http://127.0.0.1:0",
                "--Simulator:ApiKey=" + ApiKey,
                "--Simulator:RequestsPerMinute:ClientSecrets=" + rpm,
                "--Simulator:RequestsPerMinute:Calls=" + rpm,
                "--Simulator:RequestsPerMinute:Responses=" + (quotaPerMinute * BenchScenario.ResponsesPerSession).ToString(CultureInfo.InvariantCulture),
            ],
            builder =>
            {
                if (!realTime)
                {
                    // The server side of a request carries the caller's context, so the settle count sees it too.
                    builder.WebHost.UseTestServer(o => o.PreserveExecutionContext = true);
                }

                if (settings is not null)
                {
                    builder.Configuration.AddInMemoryCollection(settings);
                }

                builder.Services.AddSingleton(time);
                builder.Services.AddSingleton<ISimulatorMediaPeer, BenchMediaPeer>();
            });
        await app.StartAsync();
        var simulatorBase = realTime ? new Uri(SimulatorHost.ListeningAddress(app), "simulator/v1/") : new Uri("http://localhost/simulator/v1/");
        HttpMessageHandler wire = realTime ? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) } : app.GetTestServer().CreateHandler();
        return new BenchWorld(app, time, fake, quotaPerMinute, guessPerMinute ?? quotaPerMinute, wire, simulatorBase);
    }

    /// <summary>
    /// The broker of server instance <paramref name="instance"/> (created on first use): its own options, upstream gate,
    /// budgets and secret cache, configured with <see cref="GuessPerMinute"/>, talking to the simulator through the counted wire.
    /// With <paramref name="sharedRedis"/> every instance of this world keeps its broker state in that Redis, as one deployment.
    /// </summary>
    public IServiceProvider BrokerInstance(int instance, string? sharedRedis = null)
    {
        lock (_brokers)
        {
            if (_brokers.TryGetValue(instance, out var existing))
            {
                return existing;
            }

            var guess = GuessPerMinute.ToString(CultureInfo.InvariantCulture);
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["OPENAI_API_KEY"] = ApiKey,
                ["Realtime:BaseUrl"] = _simulatorBase.ToString(),
                ["Realtime:SecretMode"] = "Shared",
                ["Realtime:ClientSecretsPerMinute"] = guess,
                ["Realtime:CallsPerMinute"] = guess,
                ["Realtime:Instructions"] = "Bench.",
                ["ConnectionStrings:Redis"] = sharedRedis,
                ["Deployment:Name"] = _deploymentName,
                ["Deployment:InstanceId"] = "bench-" + instance.ToString(CultureInfo.InvariantCulture),
            }).Build();
            var services = new ServiceCollection();
            services.AddSingleton<IConfiguration>(configuration);
            services.AddSingleton(Time);
            services.AddLogging();
            services.AddMetrics();
            services.AddOptions();
            services.AddDeploymentCore(configuration);
            services.AddBrokerCore();
            // One counted wire for the whole run: the factory must never retire (and dispose) it.
            services.AddHttpClient(UpstreamGate.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => Upstream).SetHandlerLifetime(Timeout.InfiniteTimeSpan);
            var provider = services.BuildServiceProvider();
            if (provider.GetService<RedisStore>() is { } store)
            {
                // A Redis round trip runs on no thread of the world: the clock must not move while one is on its way.
                Activity.AddBusyCheck(() => store.Connection.GetCounters().TotalOutstanding > 0);
            }

            _brokers[instance] = provider;
            return provider;
        }
    }

    /// <summary>A browser's offer posted upstream with a client secret, as the seed's page does.</summary>
    public HttpRequestMessage NewCallRequest(string secret)
    {
        var content = new StringContent(BenchMediaPeer.Offer, System.Text.Encoding.UTF8);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/sdp");
        var request = new HttpRequestMessage(HttpMethod.Post, CallsUri) { Content = content };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", secret);
        return request;
    }

    /// <summary>Another app of the organization opening a session server-side with the key (one calls request).</summary>
    public HttpRequestMessage NewServerCallRequest()
    {
        var sdp = new StringContent(BenchMediaPeer.Offer, System.Text.Encoding.UTF8);
        sdp.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/sdp");
        var request = new HttpRequestMessage(HttpMethod.Post, CallsUri)
        {
            Content = new MultipartFormDataContent { { sdp, "sdp" }, { new StringContent(OtherSessionJson, System.Text.Encoding.UTF8, "application/json"), "session" } },
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ApiKey);
        return request;
    }

    /// <summary>One response in a live session (a voice turn), counted against the organization's responses limit as the simulator counts it.</summary>
    public bool TryResponse()
    {
        var admitted = _organization.TryAcquire(SimulatorResource.Responses).Admitted;
        if (!admitted)
        {
            Interlocked.Increment(ref _responsesRefused);
        }

        return admitted;
    }

    /// <summary>A request minting one client secret with the server-side key, as every strategy sends it.</summary>
    public HttpRequestMessage NewMintRequest()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, ClientSecretsUri) { Content = new StringContent(MintBody, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ApiKey);
        return request;
    }

    /// <summary>Simulated: waits until every task of the world waits on the fake clock (call it from a thread outside the world). Real time: nothing to wait for.</summary>
    public void Settle()
    {
        if (_fake is not null)
        {
            Activity.Settle();
        }
    }

    /// <summary>Moves the world's clock to <paramref name="target"/> (since <see cref="Origin"/>): the fake clock advances, the real one is waited for.</summary>
    public async Task StepToAsync(TimeSpan target)
    {
        var by = target - Elapsed;
        if (by <= TimeSpan.Zero)
        {
            return;
        }

        if (_fake is not null)
        {
            _fake.Advance(by);
        }
        else
        {
            await Task.Delay(by, TimeProvider.System);
        }
    }

    /// <summary>
    /// Starts <paramref name="work"/> in the world and moves the clock in <see cref="BenchRunner.Step"/>s until it finishes
    /// or <paramref name="limit"/> has passed on the world's clock (then it throws <see cref="TimeoutException"/>).
    /// </summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> work, TimeSpan limit)
    {
        var task = Activity.Start(work);
        await AdvanceAsync(limit, () => task.IsCompleted);
        return task.IsCompleted ? await task : throw new TimeoutException($"The work did not finish within {limit.TotalSeconds:0.##} s on the world's clock.");
    }

    /// <summary>Moves the clock on by <paramref name="by"/> in <see cref="BenchRunner.Step"/>s, or until <paramref name="until"/> holds, letting the world run to rest before each step.</summary>
    public Task AdvanceAsync(TimeSpan by, Func<bool>? until = null)
    {
        var size = BenchRunner.Step;
        var end = Elapsed + by;
        // Settling blocks a thread: do it on one of our own, outside the world and any synchronization context.
        return Task.Factory.StartNew(
            async () =>
            {
                while (true)
                {
                    Settle();
                    var now = Elapsed;
                    if (now >= end || until?.Invoke() == true)
                    {
                        return;
                    }

                    await StepToAsync(now + size < end ? now + size : end);
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default).Unwrap();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var broker in _brokers.Values)
        {
            await broker.DisposeAsync();
        }

        Browser.Dispose();
        OtherConsumer.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        // Also disposes the wire (the loopback connections in real time) that the other consumer shares.
        Upstream.Dispose();
    }
}

/// <summary>The upstream wire: adds <see cref="BenchWorld.UpstreamLatency"/> of simulated time and counts requests, 429s, mints and calls opened.</summary>
public sealed class CountingUpstreamHandler(HttpMessageHandler inner, TimeProvider time) : DelegatingHandler(inner)
{
    private readonly Lock _gate = new();
    private readonly List<DateTimeOffset> _sentAt = [];
    private int _tooMany;
    private int _ok;
    private int _calls;

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

    /// <summary>Client secrets minted.</summary>
    public int Ok => Volatile.Read(ref _ok);

    /// <summary>Calls (sessions) opened.</summary>
    public int Calls => Volatile.Read(ref _calls);

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
        else if (response.IsSuccessStatusCode && request.RequestUri!.AbsolutePath.EndsWith("/calls", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _calls);
        }
        else if (response.IsSuccessStatusCode)
        {
            Interlocked.Increment(ref _ok);
        }

        return response;
    }
}
