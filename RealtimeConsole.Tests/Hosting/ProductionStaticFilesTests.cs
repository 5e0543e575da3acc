using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Hosting;

/// <summary>
/// <c>dotnet run --project RealtimeConsole</c> runs in Production from the build output: Blazor's and MudBlazor's files
/// must still be served, and a new user must not be greeted by a "WebRootPath was not found" warning.
/// </summary>
public sealed class ProductionStaticFilesTests : IDisposable
{
    private readonly ProductionConsoleAppFactory _factory = new();

    [Theory]
    [InlineData("/_framework/blazor.web.js", "text/javascript")]
    [InlineData("/_content/MudBlazor/MudBlazor.min.css", "text/css")]
    [InlineData("/robots.txt", "text/plain")]
    [InlineData("/assets/voice-session.js", "text/javascript")]
    public async Task Framework_library_and_own_files_are_served_in_Production(string path, string mediaType)
    {
        var response = await _factory.CreateClient().GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.NotEmpty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Startup_logs_no_warning_about_a_missing_web_root()
    {
        Assert.Equal(HttpStatusCode.OK, (await _factory.CreateClient().GetAsync("/healthz")).StatusCode);

        var warnings = _factory.Logs.GetSnapshot().Where(record => record.Level >= LogLevel.Warning).Select(record => $"{record.Category}: {record.Message}").ToList();
        Assert.DoesNotContain(warnings, warning => warning.Contains("WebRootPath", StringComparison.Ordinal));
    }

    public void Dispose() => _factory.Dispose();

    private sealed class ProductionConsoleAppFactory : ConsoleAppFactory
    {
        public FakeLogCollector Logs { get; } = new();

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseEnvironment("Production");
            builder.ConfigureLogging(logging => logging.AddProvider(new FakeLoggerProvider(Logs)));
        }
    }
}
