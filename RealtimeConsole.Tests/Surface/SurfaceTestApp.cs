using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tests.Surface;

/// <summary>The console as deployed (Production), with generous limits so only the surface under test refuses anything.</summary>
public sealed class ProductionConsole : ConsoleAppFactory
{
    public ProductionConsole()
    {
        WithSetting("Realtime:DoorPermitsPerMinute", "100000");
        WithSetting("Simulator:RequestsPerMinute:ClientSecrets", "100000");
        WithSetting("Simulator:RequestsPerMinute:Calls", "100000");

        // The broker's upstream is the embedded simulator, reached in memory.
        WithServices(s => s.AddHttpClient(UpstreamGate.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => Server.CreateHandler()));
    }

    /// <summary>Adds paths that throw once every real endpoint has passed on them: an unexpected failure anywhere.</summary>
    public ProductionConsole WithThrowingPaths() => (ProductionConsole)WithServices(s => s.AddSingleton<IStartupFilter, ThrowingPaths>());

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseEnvironment("Production");
    }

    public const string ThrowingApiPath = "/api/test/throws";
    public const string ThrowingPagePath = "/test-page-throws";
    public const string SecretInException = "connection string Password=hunter2";

    private sealed class ThrowingPaths : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            next(app);
            app.Use((HttpContext context, RequestDelegate _) =>
                context.Request.Path == ThrowingApiPath || context.Request.Path == ThrowingPagePath
                    ? throw new InvalidOperationException("Boom with " + SecretInException)
                    : Task.CompletedTask);
        };
    }
}

/// <summary>Reads an error answer and checks it is JSON with a message, in the shape its path promises.</summary>
public static class ErrorAnswer
{
    public static async Task<JsonElement> AssertJsonErrorAsync(HttpResponseMessage response, int status, bool simulatorShape)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}, expected {status}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(body);
        var error = document.RootElement.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()), body);
        if (simulatorShape)
        {
            Assert.True(error.TryGetProperty("type", out _), $"not OpenAI-shaped: {body}");
            Assert.True(error.TryGetProperty("param", out _), $"not OpenAI-shaped: {body}");
        }
        else
        {
            Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("code").GetString()), body);
            Assert.False(error.TryGetProperty("type", out _), $"console routes answer the console's shape: {body}");
        }

        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        return error.Clone();
    }
}
