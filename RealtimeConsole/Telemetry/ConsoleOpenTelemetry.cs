using System.Reflection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using RealtimeConsole.Deployment;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Telemetry;

/// <summary>
/// What Aspire's service defaults give a .NET service: a resource naming the service and this instance, ASP.NET Core,
/// HttpClient and runtime metrics beside the broker's meter with Prometheus on <c>/metrics</c>, and OTLP export of all
/// three signals when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (and never otherwise). Traces (ASP.NET Core, HttpClient,
/// Redis, every upstream call) are recorded only when they go somewhere: with OTLP on, or with <c>Telemetry:Tracing=true</c>.
/// </summary>
public static partial class ConsoleOpenTelemetry
{
    public const string ServiceName = "RealtimeConsole";

    /// <summary>The standard variable (from the environment or any configuration source) that switches OTLP export on.</summary>
    public const string OtlpEndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Records traces without OTLP (for another exporter); recording spans nobody reads costs a third or more of the hot path's requests per CPU-second.</summary>
    public const string TracingSetting = "Telemetry:Tracing";

    private static readonly string[] ServerAndClientMeters =
    [
        "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Http.Connections",
        "Microsoft.AspNetCore.Diagnostics", "System.Net.Http", "System.Net.NameResolution",
    ];

    public static WebApplicationBuilder AddConsoleOpenTelemetry(this WebApplicationBuilder builder)
    {
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource
                .Clear()
                .AddService(ServiceName, serviceVersion: ServiceVersion(), autoGenerateServiceInstanceId: false)
                .AddDetector(sp => new ConsoleInstanceDetector(sp.GetRequiredService<ConsoleInstance>()))
                .AddTelemetrySdk()
                // Last, so OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES still override the names above, as everywhere.
                .AddEnvironmentVariableDetector())
            .WithMetrics(metrics => metrics
                .AddMeter(BrokerMetrics.MeterName)
                // ASP.NET Core's and HttpClient's meters by name, leaving out routing's and rate limiting's per-request
                // ones: with them, bench throughput served a fifth fewer requests per CPU-second.
                .AddMeter(ServerAndClientMeters)
                .AddRuntimeInstrumentation()
                .AddPrometheusExporter());

        var exportsOtlp = ExportsOtlp(builder.Configuration);
        if (RecordsTraces(builder.Configuration))
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource(UpstreamTracing.ActivitySourceName)
                // Probes and scrapes come every few seconds and say nothing about the service's work.
                .AddAspNetCoreInstrumentation(aspNetCore => aspNetCore.Filter = context =>
                    !context.Request.Path.StartsWithSegments("/healthz") && !context.Request.Path.StartsWithSegments("/metrics"))
                .AddHttpClientInstrumentation()
                .AddRedisInstrumentation()
                .ConfigureRedisInstrumentation((sp, redis) =>
                {
                    if (sp.GetService<RedisStore>() is { } store)
                    {
                        redis.AddConnection(store.Connection);
                    }
                }));
        }

        if (exportsOtlp)
        {
            telemetry.WithLogging(configureBuilder: null, configureOptions: logging =>
            {
                logging.IncludeFormattedMessage = true;
                logging.IncludeScopes = true;
            });
            // Endpoint, protocol and headers come from the standard OTEL_EXPORTER_OTLP_* settings.
            telemetry.UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>One line at start saying whether spans are recorded and where they go, since without an exporter none are.</summary>
    public static WebApplication AnnounceTracing(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("RealtimeConsole.Telemetry");
        var tracing = DescribeTracing(app.Configuration);
        app.Lifetime.ApplicationStarted.Register(() => LogTracing(logger, tracing));
        return app;
    }

    public static string DescribeTracing(IConfiguration configuration) => (RecordsTraces(configuration), ExportsOtlp(configuration)) switch
    {
        (true, true) => $"recorded and exported over OTLP ({OtlpEndpointSetting} is set)",
        (true, false) => $"recorded ({TracingSetting}=true) for an exporter of your own; nothing is sent over OTLP",
        (false, true) => $"off ({TracingSetting}=false); metrics and logs still go over OTLP",
        (false, false) => $"off, no span is recorded (set {OtlpEndpointSetting} to export them, or {TracingSetting}=true to record them anyway)",
    };

    private static bool ExportsOtlp(IConfiguration configuration) => !string.IsNullOrWhiteSpace(configuration[OtlpEndpointSetting]);

    private static bool RecordsTraces(IConfiguration configuration) => string.IsNullOrWhiteSpace(configuration[TracingSetting])
        ? ExportsOtlp(configuration)
        : configuration.GetValue<bool>(TracingSetting);

    [LoggerMessage(Level = LogLevel.Information, Message = "Traces: {Tracing}")]
    private static partial void LogTracing(ILogger logger, string tracing);

    private static string? ServiceVersion() =>
        typeof(ConsoleOpenTelemetry).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;

    /// <summary>Names this instance with the id <c>/limits</c> and the shared store know it by.</summary>
    private sealed class ConsoleInstanceDetector(ConsoleInstance instance) : IResourceDetector
    {
        public Resource Detect() => new([new("service.instance.id", instance.Id)]);
    }
}
