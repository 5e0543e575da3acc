using System.Collections.Concurrent;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Tests.Upstream;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tests.Hosting;

/// <summary>What `dotnet run` prints at the default log level: the broker's own lines, not HttpClient's per-request chatter.</summary>
public sealed class DefaultLogLevelTests
{
    [Theory]
    [InlineData("Production")]
    [InlineData("Development")]
    public async Task A_mint_logs_the_broker_line_and_no_httpclient_information(string environment)
    {
        var captured = new CapturingLoggerProvider();
        var upstream = new FakeUpstreamHandler(TimeProvider.System, (_, _) => FakeUpstreamHandler.Secret(TimeProvider.System, 600, "ek_log"));
        using var app = new ConsoleAppFactory()
            .WithSetting("OPENAI_API_KEY", "sk-test-logging")
            .WithSetting("Realtime:BaseUrl", "http://upstream.test/v1")
            .WithServices(s => s.AddHttpClient(UpstreamGate.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => upstream));
        using var configured = app.WithWebHostBuilder(builder => builder
            .UseEnvironment(environment)
            .ConfigureLogging(logging => logging.AddProvider(captured)));

        var response = await configured.CreateClient().PostAsync("/api/realtime/client-secret", null);

        Assert.True(response.IsSuccessStatusCode, $"the mint failed: {(int)response.StatusCode}");
        Assert.Equal(1, upstream.Count);
        Assert.Contains(captured.Entries, e => e.Category.StartsWith("RealtimeConsole.", StringComparison.Ordinal) && e.Level == LogLevel.Information);
        Assert.DoesNotContain(captured.Entries, e => e.Category.StartsWith("System.Net.Http.HttpClient", StringComparison.Ordinal) && e.Level < LogLevel.Warning);

        // The filter is a level, not a silence: HttpClient's warnings still reach the console.
        var loggers = configured.Services.GetRequiredService<ILoggerFactory>();
        var handlerLog = loggers.CreateLogger($"System.Net.Http.HttpClient.{UpstreamGate.HttpClientName}.LogicalHandler");
        Assert.False(handlerLog.IsEnabled(LogLevel.Information));
        Assert.True(handlerLog.IsEnabled(LogLevel.Warning));
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentBag<(string Category, LogLevel Level, string Message)> Entries { get; } = [];

        public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, Entries);

        public void Dispose()
        {
        }

        private sealed class CapturingLogger(string category, ConcurrentBag<(string, LogLevel, string)> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                entries.Add((category, logLevel, formatter(state, exception)));
        }
    }
}
