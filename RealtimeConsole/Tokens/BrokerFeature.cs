using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using RealtimeConsole.Access;
using RealtimeConsole.Telemetry;
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
        services.AddOptions<RealtimeOptions>().BindConfiguration(RealtimeOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        // Polly in UpstreamGate owns timeouts and retries: the HttpClient itself must never time out or retry.
        services.AddHttpClient(UpstreamGate.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan);

        services.AddSingleton<UpstreamEndpoint>();
        services.AddSingleton<BrokerMetrics>();
        services.AddSingleton<BrokerTelemetry>();
        services.AddSingleton<UpstreamGate>();
        services.AddSingleton<RealtimeUpstreamClient>();
        services.AddSingleton<IClientSecretMinter>(sp => sp.GetRequiredService<RealtimeUpstreamClient>());
        services.AddSingleton<ClientSecretBroker>();

        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(BrokerMetrics.MeterName).AddPrometheusExporter());

        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(DoorPolicy, context =>
            {
                var options = context.RequestServices.GetRequiredService<IOptions<RealtimeOptions>>().Value;
                var client = context.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } user }
                    ? "user:" + user
                    : "ip:" + (context.Connection.RemoteIpAddress?.ToString() ?? "local");
                return RateLimitPartition.GetFixedWindowLimiter(client, _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = options.DoorPermitsPerMinute,
                    Window = TimeSpan.FromMinutes(1),
                    QueueLimit = 0,
                });
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

    public static WebApplication MapClientSecretBroker(this WebApplication app)
    {
        app.UseRateLimiter();
        BrokerEndpoints.Map(app);
        TelemetryEndpoints.Map(app);
        app.MapPrometheusScrapingEndpoint().RequireAuthorization(AccessPolicies.TelemetryReader);
        return app;
    }
}
