using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using RealtimeConsole.Access;
using RealtimeConsole.Deployment;
using RealtimeConsole.RateLimits;
using RealtimeConsole.RateLimits.Shared;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tokens;

/// <summary>
/// The client-secret broker: upstream client, secret cache, budget, telemetry, and the browser-facing endpoints.
/// Upstream goes through the named HttpClient <see cref="UpstreamGate.HttpClientName"/>; tests on the in-memory
/// TestServer point it at the embedded simulator with one line:
/// <c>services.AddHttpClient(UpstreamGate.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => factory.Server.CreateHandler())</c>.
/// </summary>
public static class BrokerFeature
{
    /// <summary>The per-client limit at the door (per user, else per IP), so one tab or bot cannot drain the organization's budget.</summary>
    public const string DoorPolicy = "realtime-door";

    public static WebApplicationBuilder AddClientSecretBroker(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddBrokerCore();

        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(DoorPolicy, context =>
            {
                var options = context.RequestServices.GetRequiredService<IOptions<RealtimeOptions>>().Value;
                var client = context.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } user }
                    ? "user:" + user
                    : "ip:" + (context.Connection.RemoteIpAddress?.ToString() ?? "local");
                var time = context.RequestServices.GetRequiredService<TimeProvider>();
                return RateLimitPartition.Get(client, _ => new DoorWindowLimiter(options.DoorPermitsPerMinute, TimeSpan.FromMinutes(1), time));
            });
            limiter.OnRejected = async (rejected, cancellationToken) =>
            {
                var wait = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(60);
                var seconds = Upstream.UpstreamRefusal.Seconds(wait);
                rejected.HttpContext.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                rejected.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await rejected.HttpContext.Response.WriteAsJsonAsync(
                    new BrokerErrorBody(new BrokerError("client_rate_limited", $"This client has sent too many requests. Try again in {seconds} s.", seconds)),
                    cancellationToken);
            };
        });
        return builder;
    }

    /// <summary>
    /// The broker itself (options, upstream client and gate, budgets, secret cache, telemetry) without endpoints: what one
    /// server instance holds. The bench builds one of these per simulated instance.
    /// </summary>
    public static IServiceCollection AddBrokerCore(this IServiceCollection services)
    {
        services.AddOptions<RealtimeOptions>().BindConfiguration(RealtimeOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SecretOptions>().BindConfiguration(SecretOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        // Polly in UpstreamGate owns timeouts and retries: the HttpClient itself must never time out or retry.
        services.AddHttpClient(UpstreamGate.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan);

        services.AddSingleton<UpstreamEndpoint>();
        services.AddSingleton<IBrokerStateStore>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<RealtimeOptions>>().Value;
            var guesses = new BudgetGuesses(options.ClientSecretsPerMinute, options.CallsPerMinute);
            var time = sp.GetRequiredService<TimeProvider>();

            // A request whose instance never reports back holds its slot this long at most (every retry of it included).
            var lease = options.AttemptTimeout * 2 + TimeSpan.FromSeconds(5);
            return sp.GetService<RedisStore>() is { } store
                ? new RedisBrokerStateStore(guesses, store, sp.GetService<DeploymentMembers>() ?? new DeploymentMembers(),
                    sp.GetService<ConsoleInstance>() ?? new ConsoleInstance(null, time.GetUtcNow()), time, lease)
                : new MemoryBrokerStateStore(guesses, time);
        });
        services.AddSingleton<UpstreamSignals>();
        services.AddSingleton<SecretSignals>();
        services.AddSingleton<UpstreamGate>();
        services.AddSingleton<RealtimeUpstreamClient>();
        services.AddSingleton<IClientSecretMinter, UpstreamSecretMinter>();
        // Alone, the cache is this process's memory; with the deployment's Redis store, every instance shares one.
        services.AddSingleton<ISecretCache>(sp => sp.GetService<RedisStore>() is { } store
            ? new SharedSecretCache(
                store,
                sp.GetService<IDataProtectionProvider>() ?? throw new InvalidOperationException("The shared secret cache seals secrets with the deployment's Data Protection key ring: call AddSharedDataProtection beside RedisStore."),
                sp.GetRequiredService<IOptions<SecretOptions>>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILoggerFactory>())
            : new MemorySecretCache());
        services.AddSingleton<ClientSecretBroker>();
        return services;
    }

    public static WebApplication MapClientSecretBroker(this WebApplication app)
    {
        app.UseRateLimiter();
        BrokerEndpoints.Map(app);
        return app;
    }
}
