using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using OpenTelemetry.Trace;
using RealtimeConsole.Telemetry;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Telemetry;

/// <summary>Spans are recorded only when they go somewhere; the start-up log says in one line which case this instance is in.</summary>
public sealed class TracingAnnouncementTests
{
    [Theory]
    [InlineData(null, null, "off, no span is recorded (set OTEL_EXPORTER_OTLP_ENDPOINT to export them, or Telemetry:Tracing=true to record them anyway)")]
    [InlineData(null, "true", "recorded (Telemetry:Tracing=true) for an exporter of your own; nothing is sent over OTLP")]
    [InlineData("http://collector:4317", null, "recorded and exported over OTLP (OTEL_EXPORTER_OTLP_ENDPOINT is set)")]
    [InlineData("http://collector:4317", "false", "off (Telemetry:Tracing=false); metrics and logs still go over OTLP")]
    public void The_description_follows_the_two_settings(string? endpoint, string? tracing, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [ConsoleOpenTelemetry.OtlpEndpointSetting] = endpoint,
            [ConsoleOpenTelemetry.TracingSetting] = tracing,
        }).Build();

        Assert.Equal(expected, ConsoleOpenTelemetry.DescribeTracing(configuration));
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("true", true)]
    public async Task The_start_up_line_says_whether_this_instance_records_spans_and_it_does_exactly_then(string? tracing, bool records)
    {
        var logs = new FakeLogCollector();
        using var app = new ConsoleAppFactory()
            .WithSetting(ConsoleOpenTelemetry.TracingSetting, tracing)
            .WithServices(s => s.AddLogging(l => l.AddProvider(new FakeLoggerProvider(logs))));

        Assert.Equal(records, app.Services.GetService<TracerProvider>() is not null);
        // The line is written when the host reports it started, which the test host may hear of first: read the log as it grows.
        var line = await logs.FirstAsync(r => r.Category == "RealtimeConsole.Telemetry" && r.Message.StartsWith("Traces: ", StringComparison.Ordinal), "Traces: …");
        Assert.Single(logs.GetSnapshot(), r => r.Category == "RealtimeConsole.Telemetry" && r.Message.StartsWith("Traces: ", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.StartsWith(records ? "Traces: recorded" : "Traces: off", line.Message, StringComparison.Ordinal);
    }
}
