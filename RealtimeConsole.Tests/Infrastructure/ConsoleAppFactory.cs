using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace RealtimeConsole.Tests.Infrastructure;

/// <summary>The whole console in memory (TestServer), with settings a test can override.</summary>
public class ConsoleAppFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings = new()
    {
        // Tests never use a real key, whatever the machine's environment says.
        ["OPENAI_API_KEY"] = "",

        // Nor do they export telemetry anywhere; the OTLP test sets its own collector.
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "",

        // A test host on loopback; the sign-in tests set BrowserToken or OpenIdConnect explicitly.
        ["Auth:Mode"] = "Unsecured",
    };

    private readonly List<Action<IServiceCollection>> _serviceOverrides = [];

    public ConsoleAppFactory WithSetting(string key, string? value)
    {
        _settings[key] = value;
        return this;
    }

    public ConsoleAppFactory WithServices(Action<IServiceCollection> configure)
    {
        _serviceOverrides.Add(configure);
        return this;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureServices(services =>
        {
            foreach (var configure in _serviceOverrides)
            {
                configure(services);
            }
        });
    }
}
