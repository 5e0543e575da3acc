using System.Globalization;
using System.Net;
using Microsoft.Extensions.Http.Resilience;
using RealtimeConsole.Tokens;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Bench;

/// <summary>What the app's connect route answered one browser request: 200, or a status with an optional Retry-After.</summary>
public readonly record struct RouteAnswer(int Status, TimeSpan? RetryAfter)
{
    public static readonly RouteAnswer Served = new(200, null);

    public static readonly RouteAnswer ServerError = new(500, null);
}

/// <summary>The server side of one strategy: the route a browser calls to get a client secret.</summary>
public interface IBenchStrategy
{
    string Name { get; }

    Task<RouteAnswer> ConnectAsync(CancellationToken cancellationToken);
}

public static class BenchStrategies
{
    public static readonly string[] Names = ["seed", "sdk-default", "standard-resilience", "cookbook", "broker"];

    public static IBenchStrategy Create(string name, BenchWorld world) => name switch
    {
        "seed" => new SeedRoute(world, Client(world.Upstream)),
        "sdk-default" => new SeedRoute(world, Client(new SdkDefaultRetryHandler(world.Time) { InnerHandler = world.Upstream }), name),
        "standard-resilience" => new SeedRoute(world, StandardResilienceClient(world), name),
        "cookbook" => new SeedRoute(world, Client(new CookbookHandler(world.Time, world.QuotaPerMinute) { InnerHandler = world.Upstream }), name),
        "broker" => new BrokerRoute(world.Services.GetRequiredService<ClientSecretBroker>()),
        _ => throw new ArgumentException($"Unknown strategy '{name}'. Use one of: {string.Join(", ", Names)}.", nameof(name)),
    };

    // HttpClient's own 100 s timeout runs on the wall clock: in simulated time it would cut requests off at random
    // (a cookbook request queued through its 15 s pause turned into a 500). The seed's fetch has no timeout either.
    private static HttpClient Client(HttpMessageHandler handler) => new(handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>The real <c>AddStandardResilienceHandler()</c> with its defaults; Polly takes the world's clock from DI.</summary>
    private static HttpClient StandardResilienceClient(BenchWorld world)
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

/// <summary>
/// The forum post's route, ported: a module-level secret cached 55 s from the local clock when the mint was started,
/// refreshed 5 s early, no single-flight (every caller that finds it stale mints), any upstream error becomes a 500.
/// The other seed-based strategies put their retry stack into <paramref name="upstream"/> and keep this caching.
/// </summary>
public sealed class SeedRoute(BenchWorld world, HttpClient upstream, string name = "seed") : IBenchStrategy
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
            await GetEphemeralTokenAsync(cancellationToken);
            return RouteAnswer.Served;
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

/// <summary>This project's broker (Shared mode, from DI): refusals carry their status and Retry-After as the endpoint sends them.</summary>
public sealed class BrokerRoute(ClientSecretBroker broker) : IBenchStrategy
{
    public string Name => "broker";

    public async Task<RouteAnswer> ConnectAsync(CancellationToken cancellationToken)
    {
        try
        {
            await broker.GetSecretAsync(null, cancellationToken);
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

/// <summary>A browser connecting: on a 5xx without Retry-After it tries again after 1 s, up to 3 times (the seed's client).</summary>
public static class BenchBrowser
{
    public const int Retries = 3;
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    public static async Task<RouteAnswer> ConnectAsync(IBenchStrategy strategy, TimeProvider time, CancellationToken cancellationToken)
    {
        for (var retry = 0; ; retry++)
        {
            var answer = await strategy.ConnectAsync(cancellationToken);
            if (answer.Status < 500 || answer.RetryAfter is not null || retry >= Retries)
            {
                return answer;
            }

            await Task.Delay(RetryDelay, time, cancellationToken);
        }
    }
}
