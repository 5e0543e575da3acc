using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Telemetry;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Tokens;
using RealtimeConsole.Upstream;
using RealtimeConsole.RateLimits;

namespace RealtimeConsole.Tests.Upstream;

/// <summary>A scripted upstream: answers each request with the responder and records when (on the fake clock) it came.</summary>
public sealed class FakeUpstreamHandler(TimeProvider time, Func<HttpRequestMessage, int, HttpResponseMessage> responder) : HttpMessageHandler
{
    private int _count;

    public ConcurrentQueue<(DateTimeOffset At, HttpRequestMessage Request, string Body)> Requests { get; } = new();

    public int Count => Volatile.Read(ref _count);

    /// <summary>Completes when the n-th request (1-based) has arrived (before it is answered).</summary>
    public Task WaitForRequestAsync(int n) => _arrivals.GetOrAdd(n, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task
        .WaitAsync(ConditionWaiter.Patience);

    private readonly ConcurrentDictionary<int, TaskCompletionSource> _arrivals = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
        Requests.Enqueue((time.GetUtcNow(), request, body));
        var n = Interlocked.Increment(ref _count);
        _arrivals.GetOrAdd(n, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        return responder(request, n);
    }

    public static HttpResponseMessage Secret(TimeProvider time, int lifetimeSeconds = 600, string value = "ek_test") => Json(
        HttpStatusCode.OK, "{\"value\":\"" + value + "\",\"expires_at\":" + (time.GetUtcNow().ToUnixTimeSeconds() + lifetimeSeconds) + ",\"session\":{\"type\":\"realtime\"}}");

    public static HttpResponseMessage RateLimited(string? retryAfterMs = null, string? retryAfter = null, string requestId = "req_429")
    {
        var response = Json(HttpStatusCode.TooManyRequests,
            """{"error":{"message":"Rate limit reached for gpt-realtime on requests per min (RPM): Limit 3, Used 3, Requested 1.","type":"requests","param":null,"code":"rate_limit_exceeded"}}""");
        if (retryAfterMs is not null)
        {
            response.Headers.Add("retry-after-ms", retryAfterMs);
        }

        if (retryAfter is not null)
        {
            response.Headers.Add("retry-after", retryAfter);
        }

        response.Headers.Add("x-request-id", requestId);
        return response;
    }

    public static HttpResponseMessage InsufficientQuota(string requestId = "req_quota")
    {
        var response = Json(HttpStatusCode.TooManyRequests,
            """{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}""");
        response.Headers.Add("x-request-id", requestId);
        return response;
    }

    public static HttpResponseMessage Json(HttpStatusCode status, string json, string? requestId = null)
    {
        var response = new HttpResponseMessage(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (requestId is not null)
        {
            response.Headers.Add("x-request-id", requestId);
        }

        return response;
    }
}

/// <summary>A TimeProvider over FakeTimeProvider that reports each timer created, so a test advances only once a wait is scheduled.</summary>
public sealed class ObservedTimeProvider(FakeTimeProvider fake) : TimeProvider
{
    private readonly ConcurrentQueue<TimeSpan> _created = new();
    private readonly ConcurrentQueue<TimeSpan> _unclaimed = new();
    private readonly SemaphoreSlim _signal = new(0);

    public FakeTimeProvider Fake { get; } = fake;

    public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

    public override long GetTimestamp() => Fake.GetTimestamp();

    public override long TimestampFrequency => Fake.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => Fake.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = Fake.CreateTimer(callback, state, dueTime, period);
        _created.Enqueue(dueTime);
        if (period == Timeout.InfiniteTimeSpan || period == TimeSpan.Zero)
        {
            _unclaimed.Enqueue(dueTime);
        }

        _signal.Release();
        return timer;
    }

    /// <summary>
    /// Waits (bounded, in real time) for the next one-shot timer created since the last call whose due time matches, and returns
    /// that due time, so a test can advance the fake clock by exactly a random (jittered) delay once it exists.
    /// </summary>
    public async Task<TimeSpan> NextTimerAsync(Func<TimeSpan, bool> match)
    {
        for (var i = 0; i < 1000; i++)
        {
            while (_unclaimed.TryDequeue(out var dueTime))
            {
                if (match(dueTime))
                {
                    return dueTime;
                }
            }

            if (!await _signal.WaitAsync(ConditionWaiter.Patience))
            {
                break;
            }
        }

        throw new TimeoutException($"No matching timer was created; seen: {string.Join(", ", _created)}");
    }

    /// <summary>Waits (bounded, in real time) until a timer with exactly this due time has been created.</summary>
    public async Task WaitForTimerAsync(TimeSpan dueTime)
    {
        for (var i = 0; i < 1000; i++)
        {
            if (_created.Contains(dueTime))
            {
                return;
            }

            if (!await _signal.WaitAsync(ConditionWaiter.Patience))
            {
                break;
            }
        }

        throw new TimeoutException($"No timer due in {dueTime} was created; seen: {string.Join(", ", _created)}");
    }
}

/// <summary>The broker's services on a fake clock and a scripted upstream, without a web host.</summary>
public sealed class BrokerHarness : IDisposable
{
    private readonly ServiceProvider _services;

    public BrokerHarness(Func<HttpRequestMessage, int, HttpResponseMessage> responder, Dictionary<string, string?>? settings = null)
    {
        Time = new ObservedTimeProvider(new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero)));
        Upstream = new FakeUpstreamHandler(Time, responder);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OPENAI_API_KEY"] = "sk-test-harness",
            ["Realtime:BaseUrl"] = "http://upstream.test/v1",
            ["Realtime:CooldownReleaseJitter"] = "00:00:00",
            ["Realtime:RefreshJitterFraction"] = "0",
        }.Concat(settings ?? []).ToDictionary()).Build();

        var services = new ServiceCollection()
            .AddLogging()
            .AddMetrics()
            .AddSingleton<IConfiguration>(configuration)
            .AddSingleton<TimeProvider>(Time)
            .AddSingleton<IServer, NoServer>();
        services.AddBrokerCore();
        services.AddHttpClient(UpstreamGate.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => Upstream);
        services.AddSingleton<BrokerMetrics>().AddSingleton<BrokerTelemetry>();
        _services = services.BuildServiceProvider();
        // Telemetry listens to what the broker publishes from the moment it exists, as it does in the app from start-up.
        _services.GetRequiredService<BrokerTelemetry>();
    }

    public ObservedTimeProvider Time { get; }

    public FakeUpstreamHandler Upstream { get; }

    public UpstreamGate Gate => _services.GetRequiredService<UpstreamGate>();

    public RealtimeUpstreamClient Client => _services.GetRequiredService<RealtimeUpstreamClient>();

    public ClientSecretBroker Broker => _services.GetRequiredService<ClientSecretBroker>();

    public IBrokerStateStore State => _services.GetRequiredService<IBrokerStateStore>();

    public BrokerTelemetry Telemetry => _services.GetRequiredService<BrokerTelemetry>();

    public void Dispose() => _services.Dispose();

    private sealed class NoServer : IServer
    {
        public IFeatureCollection Features { get; } = new FeatureCollection();

        public void Dispose()
        {
        }

        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken)
            where TContext : notnull => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
