using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Instrumentation.StackExchangeRedis;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using RealtimeConsole.Deployment;
using RealtimeConsole.Telemetry;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tests.Telemetry;

/// <summary>
/// The console's OpenTelemetry as an operator sees it, through the in-memory exporter: who the service is, the spans of a
/// mint from the browser-facing endpoint down to the simulator, runtime and HTTP metrics, Redis, and OTLP only on request.
/// Activity sources and meters are process-wide, so spans are read by trace id and metrics only for presence.
/// </summary>
public sealed class ConsoleOpenTelemetryTests
{
    private static readonly ActivitySource TestSource = new("RealtimeConsole.Tests.ConsoleOpenTelemetry");

    private static ConsoleAppFactory WithInMemoryExport(ConsoleAppFactory app, RecordedSpans spans, List<Metric>? metrics = null) =>
        app.WithSetting(ConsoleOpenTelemetry.TracingSetting, "true").WithServices(services =>
        {
            services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddSource(TestSource.Name).AddInMemoryExporter(spans));
            if (metrics is not null)
            {
                services.ConfigureOpenTelemetryMeterProvider(meters => meters.AddInMemoryExporter(metrics));
            }
        });

    [Fact]
    public async Task The_resource_names_the_service_and_this_instance_and_metrics_stop_saying_unknown_service()
    {
        var spans = new RecordedSpans();
        using var app = WithInMemoryExport(new ConsoleAppFactory(), spans);
        var client = app.CreateClient();
        var instance = app.Services.GetRequiredService<ConsoleInstance>();

        foreach (var resource in new[] { app.Services.GetRequiredService<TracerProvider>().GetResource(), app.Services.GetRequiredService<MeterProvider>().GetResource() })
        {
            var attributes = resource.Attributes.ToDictionary(a => a.Key, a => a.Value);
            Assert.Equal(ConsoleOpenTelemetry.ServiceName, attributes["service.name"]);
            Assert.Equal(instance.Id, attributes["service.instance.id"]);
            Assert.False(string.IsNullOrWhiteSpace(attributes["service.version"] as string));
            Assert.Equal("opentelemetry", attributes["telemetry.sdk.name"]);
        }

        var metrics = await client.GetStringAsync("/metrics");
        Assert.DoesNotContain("unknown_service", metrics, StringComparison.Ordinal);
        Assert.Matches($"target_info\\{{[^}}]*service_name=\"RealtimeConsole\"[^}}]*\\}}", metrics);
        Assert.Contains($"service_instance_id=\"{instance.Id}\"", metrics, StringComparison.Ordinal);
        Assert.Matches("dotnet_gc_collections_total|dotnet_process_cpu_time_seconds_total", metrics);
    }

    [Fact]
    public async Task A_mint_is_one_trace_from_the_endpoint_through_the_upstream_call_to_the_simulator()
    {
        var spans = new RecordedSpans();
        var metrics = new List<Metric>();
        // A real socket: the upstream HttpClient goes through its own handler chain (and so its instrumentation), as deployed.
        using var app = new LoopbackConsoleServer();
        WithInMemoryExport(app, spans, metrics);
        using var client = app.CreateLoopbackClient();
        ActivityTraceId traceId;
        using (var test = TestSource.StartActivity("mint") ?? throw new InvalidOperationException("Nobody listens to the test's source."))
        {
            traceId = test.TraceId;
            var response = await client.PostAsync("api/realtime/client-secret", null);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var endpoint = await spans.WaitForAsync(traceId, s => IsServerSpan(s, "/api/realtime/client-secret"), "for the broker's endpoint");
        var request = await spans.WaitForAsync(traceId, s => s.DisplayName == "upstream client_secrets", "for the upstream request");
        var attempt = await spans.WaitForAsync(traceId, s => s.DisplayName == "upstream client_secrets attempt", "for the upstream attempt");
        var outgoing = await spans.WaitForAsync(traceId, s => s.Kind == ActivityKind.Client
            && (s.GetTagItem("url.full") as string)?.EndsWith("/simulator/v1/realtime/client_secrets", StringComparison.Ordinal) == true, "for the HttpClient call upstream");
        var simulator = await spans.WaitForAsync(traceId, s => IsServerSpan(s, "/simulator/v1/realtime/client_secrets"), "for the simulator's side");

        Assert.Equal(endpoint.SpanId, request.ParentSpanId);
        Assert.Equal(request.SpanId, attempt.ParentSpanId);
        Assert.Equal(attempt.SpanId, outgoing.ParentSpanId);
        Assert.Equal(outgoing.SpanId, simulator.ParentSpanId);
        Assert.Equal(200, attempt.GetTagItem(UpstreamTracing.StatusAttribute));
        Assert.Equal(1, attempt.GetTagItem(UpstreamTracing.AttemptAttribute));
        Assert.Equal("client_secrets", attempt.GetTagItem(UpstreamTracing.ResourceAttribute));
        Assert.InRange(Assert.IsType<double>(attempt.GetTagItem(UpstreamTracing.WaitAttribute)), 0, 2_000);
        Assert.StartsWith("req_", attempt.GetTagItem(UpstreamTracing.RequestIdAttribute) as string, StringComparison.Ordinal);
        Assert.Equal(200, outgoing.GetTagItem("http.response.status_code"));

        // Prometheus, a pull reader, reports no flush of its own; the in-memory reader is flushed all the same.
        app.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000);
        var meters = metrics.Select(m => m.MeterName).ToHashSet();
        Assert.Contains("System.Runtime", meters);
        Assert.Contains("Microsoft.AspNetCore.Hosting", meters);
        Assert.Contains("System.Net.Http", meters);
        Assert.Contains(BrokerMetrics.MeterName, meters);
    }

    [Fact]
    public async Task A_429_from_the_simulator_is_an_attempt_span_with_status_429_under_a_refused_request()
    {
        var spans = new RecordedSpans();
        ConsoleAppFactory? self = null;
        using var app = WithInMemoryExport(new ConsoleAppFactory(), spans)
            // The storm's wait (20 s) is not waited out: one attempt, then the caller is told.
            .WithSetting("Realtime:MaxRetryAttempts", "0")
            .WithServices(s => s.AddHttpClient(UpstreamGate.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => self!.Server.CreateHandler()));
        self = app;
        var client = app.CreateClient();
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/simulator/admin/faults", new { kind = "rate_limit_storm", seconds = 20 })).StatusCode);

        var traceId = ActivityTraceId.CreateRandom();
        using var mint = new HttpRequestMessage(HttpMethod.Post, "/api/realtime/client-secret");
        mint.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.SendAsync(mint)).StatusCode);

        var attempt = await spans.WaitForAsync(traceId, s => s.DisplayName == "upstream client_secrets attempt", "for the attempt");
        Assert.Equal(429, attempt.GetTagItem(UpstreamTracing.StatusAttribute));
        Assert.Equal("rate_limit_exceeded", attempt.GetTagItem(UpstreamTracing.ErrorTypeAttribute));
        Assert.StartsWith("req_", attempt.GetTagItem(UpstreamTracing.RequestIdAttribute) as string, StringComparison.Ordinal);
        Assert.Equal(ActivityStatusCode.Error, attempt.Status);
        var request = await spans.WaitForAsync(traceId, s => s.DisplayName == "upstream client_secrets", "for the request");
        Assert.Equal("upstream_rate_limited", request.GetTagItem(UpstreamTracing.RefusalAttribute));
        var endpoint = await spans.WaitForAsync(traceId, s => IsServerSpan(s, "/api/realtime/client-secret"), "for the broker's endpoint");
        Assert.Equal(429, endpoint.GetTagItem("http.response.status_code"));
    }

    [Fact]
    public async Task With_a_redis_store_its_commands_are_spans()
    {
        await using var redis = await RedisServer.StartNewAsync();
        var spans = new RecordedSpans();
        using var app = WithInMemoryExport(new ConsoleAppFactory(), spans)
            .WithSetting("Realtime:Store", "Redis")
            .WithSetting("ConnectionStrings:Redis", redis.ConnectionString)
            .WithServices(s => s.Configure<StackExchangeRedisInstrumentationOptions>(o => o.FlushInterval = TimeSpan.FromMilliseconds(100)));
        app.CreateClient();
        var store = app.Services.GetRequiredService<RedisStore>();

        ActivityTraceId traceId;
        using (var test = TestSource.StartActivity("redis") ?? throw new InvalidOperationException("Nobody listens to the test's source."))
        {
            traceId = test.TraceId;
            Assert.True(await store.Database.StringSetAsync(store.Key("otel-test"), "traced"));
        }

        var command = await spans.WaitForAsync(traceId, s => s.Source.Name.Contains("StackExchangeRedis", StringComparison.Ordinal), "from the Redis instrumentation");
        Assert.Equal("SET", command.DisplayName);
        Assert.Equal("redis", command.GetTagItem("db.system") ?? command.GetTagItem("db.system.name"));
    }

    [Fact]
    public void Without_OTEL_EXPORTER_OTLP_ENDPOINT_nothing_is_exported_and_no_span_is_recorded()
    {
        IServiceCollection? registered = null;
        using var app = new ConsoleAppFactory().WithServices(s => registered = s);
        app.CreateClient();

        Assert.NotNull(registered);
        Assert.False(RegistersOtlp(registered), "The OTLP exporter is registered though OTEL_EXPORTER_OTLP_ENDPOINT is not set.");
        // Spans nobody exports are not recorded at all (they cost the hot path); metrics stay for /metrics.
        Assert.Null(app.Services.GetService<TracerProvider>());
        Assert.NotNull(app.Services.GetService<MeterProvider>());
    }

    [Fact]
    public async Task With_OTEL_EXPORTER_OTLP_ENDPOINT_traces_metrics_and_logs_reach_the_collector()
    {
        await using var collector = await FakeOtlpCollector.StartAsync();
        IServiceCollection? registered = null;
        // Disposed (and so flushed) before the collector stops.
        await using var app = new ConsoleAppFactory()
            .WithSetting(ConsoleOpenTelemetry.OtlpEndpointSetting, collector.Endpoint)
            .WithSetting("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            // Export every 200 ms instead of every 5 s (spans) and 60 s (metrics), so the test sees it while the app runs.
            .WithSetting("OTEL_BSP_SCHEDULE_DELAY", "200")
            .WithSetting("OTEL_BLRP_SCHEDULE_DELAY", "200")
            .WithSetting("OTEL_METRIC_EXPORT_INTERVAL", "200")
            .WithServices(s => registered = s);
        Assert.Equal(HttpStatusCode.OK, (await app.CreateClient().GetAsync("/api/telemetry")).StatusCode);

        Assert.True(RegistersOtlp(registered!));
        await collector.WaitForAsync("/v1/traces", "/v1/metrics", "/v1/logs");
    }

    private static bool IsServerSpan(Activity span, string path) =>
        span.Kind == ActivityKind.Server && span.Source.Name == "Microsoft.AspNetCore" && span.GetTagItem("url.path") as string == path;

    /// <summary>Whether any registration comes from the OTLP exporter's assembly (its options, processors or configure callbacks).</summary>
    private static bool RegistersOtlp(IServiceCollection services)
    {
        var otlp = typeof(OpenTelemetry.Exporter.OtlpExporterOptions).Assembly;
        return services.Any(d => d.ServiceType.Assembly == otlp
            || d.ServiceType.GenericTypeArguments.Any(t => t.Assembly == otlp)
            || d.ImplementationType?.Assembly == otlp
            || d.ImplementationInstance?.GetType().Assembly == otlp
            || d.ImplementationFactory?.Method.DeclaringType?.Assembly == otlp);
    }

    /// <summary>An OTLP/HTTP endpoint on loopback that accepts every export and remembers which signal paths were posted.</summary>
    private sealed class FakeOtlpCollector : IAsyncDisposable
    {
        private readonly WebApplication _app;

        // Pulsed by every export the collector receives.
        private readonly ConditionWaiter _received = new();

        private FakeOtlpCollector(WebApplication app) => _app = app;

        public ConcurrentBag<string> Received { get; } = [];

        public string Endpoint { get; private set; } = "";

        public static async Task<FakeOtlpCollector> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var collector = new FakeOtlpCollector(app);
            app.MapPost("/v1/{signal}", (HttpContext context) =>
            {
                collector.Received.Add(context.Request.Path.Value!);
                collector._received.Pulse();
                return Results.Bytes([], "application/x-protobuf");
            });
            await app.StartAsync();
            collector.Endpoint = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            return collector;
        }

        /// <summary>Waits until every one of <paramref name="paths"/> has been posted, looking again at each post.</summary>
        public Task WaitForAsync(params string[] paths) =>
            _received.UntilAsync(
                () => Task.FromResult(paths.All(Received.Contains)),
                all => all,
                "the collector to receive " + string.Join(", ", paths),
                _ => "only " + string.Join(", ", Received.Distinct()));

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
