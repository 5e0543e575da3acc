using MudBlazor.Services;
using RealtimeConsole.Components;
using RealtimeConsole.Simulator;
using RealtimeConsole.Simulator.Media;
using RealtimeConsole.Telemetry;
using RealtimeConsole.Tokens;

namespace RealtimeConsole.Hosting;

/// <summary>The one place where the console's features are registered and mapped.</summary>
public static class RealtimeConsoleHosting
{
    public const string DefaultUrl = "http://localhost:5080";

    public static WebApplicationBuilder AddRealtimeConsole(this WebApplicationBuilder builder)
    {
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        // Outside Development the host serves only wwwroot/; run from a build (not a publish), Blazor's and MudBlazor's
        // files live in the static web assets manifest, so include it as Development does (a no-op once published).
        if (!builder.Environment.IsDevelopment())
        {
            builder.WebHost.UseStaticWebAssets();
        }

        builder.QuietRequestDiagnostics();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddMudServices();
        builder.Services.AddHealthChecks();

        builder.AddRealtimeSimulator();
        builder.AddSimulatorMediaPeer();
        builder.AddClientSecretBroker();
        builder.AddTelemetryHub();
        return builder;
    }

    public static WebApplication MapRealtimeConsole(this WebApplication app)
    {
        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler("/Error", createScopeForErrors: true);
        }

        app.UseBrowserAssets();
        app.UseAntiforgery();

        app.MapHealthChecks("/healthz");
        app.MapRealtimeSimulator();
        app.MapClientSecretBroker();
        app.MapTelemetryHub();

        app.MapStaticAssets();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        app.AnnounceUpstream();
        return app;
    }
}
