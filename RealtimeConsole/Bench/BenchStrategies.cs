using System.Globalization;
using System.Net;
using Microsoft.Extensions.Http.Resilience;
using RealtimeConsole.Tokens;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Bench;

/// <summary>
/// What the app's connect route answered one browser request: 200, or a status with an optional Retry-After. A route that
/// hands out a client secret returns it in <see cref="Secret"/>: the browser then posts its SDP offer upstream with it.
/// </summary>
public readonly record struct RouteAnswer(int Status, TimeSpan? RetryAfter, string? Secret = null)
{
    public static readonly RouteAnswer Served = new(200, null);

    public static readonly RouteAnswer ServerError = new(500, null);

    public static RouteAnswer WithSecret(string secret) => new(200, null, secret);
}

/// <summary>One server instance's connect route: a client secret, or the whole SDP exchange done server-side.</summary>
public interface IBenchRoute
{
    string Name { get; }

    Task<RouteAnswer> ConnectAsync(CancellationToken cancellationToken);
}

/// <summary>
/// A way to build the connect route, compared by the bench. Adding a strategy is one class deriving from this: the
/// bench finds every concrete subclass in this assembly and orders them by <see cref="Order"/>.
/// </summary>
public abstract class BenchStrategy
{
    public abstract string Name { get; }

    /// <summary>Where the strategy sits in tables and in the default list.</summary>
    public abstract int Order { get; }

    /// <summary>The route of one server instance: each instance has its own cache (and, for the broker, its own budget).</summary>
    public abstract IBenchRoute CreateRoute(BenchWorld world, int instance);
}

public static class BenchStrategies
{
    public static readonly IReadOnlyList<BenchStrategy> All = typeof(BenchStrategy).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(BenchStrategy)) && !t.IsAbstract && t.GetConstructor(Type.EmptyTypes) is not null)
        .Select(t => (BenchStrategy)Activator.CreateInstance(t)!)
        .OrderBy(s => s.Order)
        .ToArray();

    public static readonly string[] Names = [.. All.Select(s => s.Name)];

    public static BenchStrategy Find(string name) =>
        All.FirstOrDefault(s => s.Name == name) ?? throw new ArgumentException($"Unknown strategy '{name}'. Use one of: {string.Join(", ", Names)}.", nameof(name));

    /// <summary>The route of instance 0 of strategy <paramref name="name"/>.</summary>
    public static IBenchRoute Create(string name, BenchWorld world) => Find(name).CreateRoute(world, 0);

    // HttpClient's own 100 s timeout runs on the wall clock: in simulated time it would cut requests off at random
    // (a cookbook request queued through its 15 s pause turned into a 500). The seed's fetch has no timeout either.
    internal static HttpClient Client(HttpMessageHandler handler) => new(handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>The real <c>AddStandardResilienceHandler()</c> with its defaults; Polly takes the world's clock from DI.</summary>
    internal static HttpClient StandardResilienceClient(BenchWorld world)
    {
        var services = new ServiceCollection();
        services.AddSingleton(world.Time);
        services.AddLogging();
        services.AddHttpClient("standard", client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => world.Upstream)
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .AddStandardResilienceHandler();
        var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IHttpClientFactory>().CreateClient("standard");
    }
}

/// <summary>The forum post's route as posted: see <see cref="SeedRoute"/>.</summary>
public sealed class SeedStrategy : BenchStrategy
{
    public override string Name => "seed";

    public override int Order => 10;

    public override IBenchRoute CreateRoute(BenchWorld world, int instance) => new SeedRoute(world, BenchStrategies.Client(world.Upstream));
}

/// <summary>The seed's caching with the OpenAI .NET SDK's default retries underneath.</summary>
public sealed class SdkDefaultStrategy : BenchStrategy
{
    public override string Name => "sdk-default";

    public override int Order => 20;

    public override IBenchRoute CreateRoute(BenchWorld world, int instance) =>
        new SeedRoute(world, BenchStrategies.Client(new SdkDefaultRetryHandler(world.Time) { InnerHandler = world.Upstream }), Name);
}

/// <summary>The seed's caching with <c>AddStandardResilienceHandler()</c> underneath.</summary>
public sealed class StandardResilienceStrategy : BenchStrategy
{
    public override string Name => "standard-resilience";

    public override int Order => 30;

    public override IBenchRoute CreateRoute(BenchWorld world, int instance) => new SeedRoute(world, BenchStrategies.StandardResilienceClient(world), Name);
}

/// <summary>The seed's caching with the OpenAI cookbook's throttling underneath.</summary>
public sealed class CookbookStrategy : BenchStrategy
{
    public override string Name => "cookbook";

    public override int Order => 40;

    public override IBenchRoute CreateRoute(BenchWorld world, int instance) =>
        new SeedRoute(world, BenchStrategies.Client(new CookbookHandler(world.Time, world.GuessPerMinute) { InnerHandler = world.Upstream }), Name);
}

/// <summary>
/// This project's broker as the README recommends it for budget safety: the server exchanges the SDP offer through
/// <c>/v1/realtime/calls</c> with the key, so every request that counts against the organization goes through the
/// instance's budget. One broker (one budget, learned from upstream's headers) per instance.
/// </summary>
public sealed class BrokerStrategy : BenchStrategy
{
    public override string Name => "broker";

    public override int Order => 50;

    public override IBenchRoute CreateRoute(BenchWorld world, int instance) => new BrokerCallRoute(world.BrokerInstance(instance), Name);
}

/// <summary>
/// The broker as a deployment runs it: every instance keeps its budgets, cooldown and quota gate in one Redis (a
/// throwaway redis-server the bench starts, or <c>BENCH_REDIS</c>), so N instances spend one budget.
/// </summary>
public sealed class BrokerRedisStrategy : BenchStrategy
{
    private readonly string? _connectionString;

    public BrokerRedisStrategy()
    {
    }

    /// <summary>On the Redis at <paramref name="connectionString"/> instead of the bench's own.</summary>
    public BrokerRedisStrategy(string connectionString) => _connectionString = connectionString;

    public override string Name => "broker-redis";

    public override int Order => 55;

    public override IBenchRoute CreateRoute(BenchWorld world, int instance) =>
        new BrokerCallRoute(world.BrokerInstance(instance, _connectionString ?? BenchRedis.ConnectionString), Name);
}

/// <summary>The broker handing out its Shared-mode secret; the browser then posts its offer upstream itself (unbudgeted).</summary>
public sealed class BrokerDirectStrategy : BenchStrategy
{
    public override string Name => "broker-direct";

    public override int Order => 60;

    public override IBenchRoute CreateRoute(BenchWorld world, int instance) => new BrokerSecretRoute(world.BrokerInstance(instance).GetRequiredService<ClientSecretBroker>(), Name);
}

/// <summary>
/// The forum post's route, ported: a module-level secret cached 55 s from the local clock when the mint was started,
/// refreshed 5 s early, no single-flight (every caller that finds it stale mints), any upstream error becomes a 500.
/// The other seed-based strategies put their retry stack into <paramref name="upstream"/> and keep this caching.
/// </summary>
public sealed class SeedRoute(BenchWorld world, HttpClient upstream, string name = "seed") : IBenchRoute
{
    private static readonly TimeSpan Validity = TimeSpan.FromSeconds(55);
    private static readonly TimeSpan RefreshThreshold = TimeSpan.FromSeconds(5);

    private string? _cachedToken;
    private DateTimeOffset _tokenExpiryTime;

    public string Name => name;

    public async Task<RouteAnswer> ConnectAsync(CancellationToken cancellationToken)
    {
        try
        {
            return RouteAnswer.WithSecret(await GetEphemeralTokenAsync(cancellationToken));
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or TimeoutException or Polly.ExecutionRejectedException or OperationCanceledException)
        {
            return RouteAnswer.ServerError;
        }
    }

    private async Task<string> GetEphemeralTokenAsync(CancellationToken cancellationToken)
    {
        var now = world.Time.GetUtcNow();
        if (_cachedToken is { } cached && now < _tokenExpiryTime - RefreshThreshold)
        {
            return cached;
        }

        using var response = await upstream.SendAsync(world.NewMintRequest(), cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"Failed to obtain ephemeral token: {(int)response.StatusCode}");
        }

        using var document = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        var token = document.RootElement.GetProperty("value").GetString() ?? throw new InvalidOperationException("Ephemeral token not found in response");
        _cachedToken = token;
        _tokenExpiryTime = now + Validity;
        return token;
    }
}

/// <summary>The broker's secret route (<c>/api/realtime/client-secret</c>): refusals carry their status and Retry-After as the endpoint sends them.</summary>
public sealed class BrokerSecretRoute(ClientSecretBroker broker, string name = "broker-direct") : IBenchRoute
{
    public string Name => name;

    public async Task<RouteAnswer> ConnectAsync(CancellationToken cancellationToken)
    {
        try
        {
            return RouteAnswer.WithSecret((await broker.GetSecretAsync(null, cancellationToken)).Secret.Value);
        }
        catch (UpstreamRefusal refusal)
        {
            return new RouteAnswer((int)refusal.Status, refusal.RetryAfter);
        }
    }
}

/// <summary>The broker's server-side SDP exchange (<c>/api/realtime/calls</c>) through the instance's gate and budget.</summary>
public sealed class BrokerCallRoute(IServiceProvider instance, string name = "broker") : IBenchRoute
{
    private readonly RealtimeUpstreamClient _upstream = instance.GetRequiredService<RealtimeUpstreamClient>();
    private readonly ClientSecretBroker _broker = instance.GetRequiredService<ClientSecretBroker>();

    public string Name => name;

    public async Task<RouteAnswer> ConnectAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _upstream.CreateCallAsync(BenchMediaPeer.Offer, _broker.DefaultSession.ToSessionJson(), cancellationToken);
            return RouteAnswer.Served;
        }
        catch (UpstreamRefusal refusal)
        {
            return new RouteAnswer((int)refusal.Status, refusal.RetryAfter);
        }
    }
}

/// <summary>
/// System.ClientModel's default retry as the OpenAI .NET SDK uses it: 3 retries of 408/429/500/502/503/504 and
/// transport errors, 0.8 s doubling (jitter left out so runs repeat exactly), Retry-After honoured with no cap.
/// </summary>
public sealed class SdkDefaultRetryHandler(TimeProvider time) : DelegatingHandler
{
    public const int MaxRetries = 3;
    public static readonly TimeSpan InitialDelay = TimeSpan.FromSeconds(0.8);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        for (var retry = 0; ; retry++)
        {
            var response = await base.SendAsync(Clone(request, body), cancellationToken);
            if (retry >= MaxRetries || !IsRetriable(response.StatusCode))
            {
                return response;
            }

            var delay = RetryAfter(response) ?? InitialDelay * (1 << retry);
            response.Dispose();
            await Task.Delay(delay, time, cancellationToken);
        }
    }

    private static bool IsRetriable(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests or HttpStatusCode.InternalServerError
            or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    internal static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        if (response.Headers.TryGetValues("retry-after-ms", out var ms) && double.TryParse(ms.First(), NumberStyles.Float, CultureInfo.InvariantCulture, out var millis))
        {
            return TimeSpan.FromMilliseconds(millis);
        }

        return response.Headers.RetryAfter?.Delta;
    }

    internal static HttpRequestMessage Clone(HttpRequestMessage request, byte[]? body)
    {
        var copy = new HttpRequestMessage(request.Method, request.RequestUri);
        foreach (var header in request.Headers)
        {
            copy.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        if (body is not null)
        {
            copy.Content = new ByteArrayContent(body);
            copy.Content.Headers.ContentType = request.Content!.Headers.ContentType;
        }

        return copy;
    }
}

/// <summary>
/// The OpenAI cookbook's parallel processor rules: request capacity refilled continuously at the per-minute limit
/// (capped at one minute's worth), one unit per request, a global 15 s pause after any 429, up to 5 attempts.
/// </summary>
public sealed class CookbookHandler(TimeProvider time, int requestsPerMinute) : DelegatingHandler
{
    public const int MaxAttempts = 5;
    public static readonly TimeSpan PauseAfterRateLimit = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan CapacityPoll = TimeSpan.FromMilliseconds(10);

    private readonly Lock _gate = new();
    private double _capacity = requestsPerMinute;
    private DateTimeOffset _lastUpdate = time.GetUtcNow();
    private DateTimeOffset _lastRateLimitError = DateTimeOffset.MinValue;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        for (var attempt = 1; ; attempt++)
        {
            await TakeCapacityAsync(cancellationToken);
            var response = await base.SendAsync(SdkDefaultRetryHandler.Clone(request, body), cancellationToken);
            if (response.StatusCode != HttpStatusCode.TooManyRequests && response.IsSuccessStatusCode || attempt >= MaxAttempts)
            {
                return response;
            }

            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                lock (_gate)
                {
                    _lastRateLimitError = time.GetUtcNow();
                }
            }

            response.Dispose();
        }
    }

    private async Task TakeCapacityAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            TimeSpan wait;
            lock (_gate)
            {
                var now = time.GetUtcNow();
                var pausedUntil = _lastRateLimitError + PauseAfterRateLimit;
                _capacity = Math.Min(requestsPerMinute, _capacity + requestsPerMinute * (now - _lastUpdate).TotalMinutes);
                _lastUpdate = now;
                if (now < pausedUntil)
                {
                    wait = pausedUntil - now;
                }
                else if (_capacity >= 1)
                {
                    _capacity -= 1;
                    return;
                }
                else
                {
                    wait = CapacityPoll;
                }
            }

            await Task.Delay(wait, time, cancellationToken);
        }
    }
}

/// <summary>
/// A browser connecting: it asks the route, and on a 5xx without Retry-After tries again after 1 s, up to 3 times (the
/// seed's client). Given a secret, it then posts its SDP offer upstream with it, as the seed's page does (no retry).
/// </summary>
public static class BenchBrowser
{
    public const int Retries = 3;
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    public static async Task<RouteAnswer> ConnectAsync(IBenchRoute route, TimeProvider time, CancellationToken cancellationToken, BenchWorld? world = null)
    {
        for (var retry = 0; ; retry++)
        {
            var answer = await route.ConnectAsync(cancellationToken);
            if (answer.Status < 500 || answer.RetryAfter is not null || retry >= Retries)
            {
                return answer is { Status: 200, Secret: { } secret } && world is not null ? await PostOfferAsync(world, secret, cancellationToken) : answer;
            }

            await Task.Delay(RetryDelay, time, cancellationToken);
        }
    }

    private static async Task<RouteAnswer> PostOfferAsync(BenchWorld world, string secret, CancellationToken cancellationToken)
    {
        using var response = await world.Browser.SendAsync(world.NewCallRequest(secret), cancellationToken);
        // The page shows upstream's error; nothing in the seed's code reads upstream's retry-after.
        return response.IsSuccessStatusCode ? RouteAnswer.Served : new RouteAnswer((int)response.StatusCode, null);
    }
}
