using MudBlazor.Services;
using RealtimeConsole.Access;
using RealtimeConsole.Components;
using RealtimeConsole.Deployment;
using RealtimeConsole.Simulator;
using RealtimeConsole.Simulator.Media;
using RealtimeConsole.Surface;
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
        builder.AddHardenedSurface();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddMudServices();
        builder.Services.AddHealthChecks();

        builder.AddDeployment();
        builder.AddConsoleAccess();
        builder.AddRealtimeSimulator();
        builder.AddSimulatorMediaPeer();
        builder.AddClientSecretBroker();
        builder.AddTelemetryHub();
        return builder;
    }

    public static WebApplication MapRealtimeConsole(this WebApplication app)
    {
        app.MapDeployment();
        app.UseHardenedSurface();
        app.MapConsoleAccess();
        app.UseBrowserAssets();
        app.UseAntiforgery();

        // Load balancers probe it without signing in; it answers only Healthy/Unhealthy.
        app.MapHealthChecks("/healthz").AllowAnonymous();
        if (SimulatorFeature.IsEnabled(app.Configuration))
        {
            // The OpenAI surface checks its own bearer keys, as OpenAI does; driving it is for admins.
            app.MapRealtimeSimulator(openAiSurface: app.MapGroup("").AllowAnonymous(), adminApi: app.MapGroup("").RequireAuthorization(AccessPolicies.Admin));
        }

        app.MapClientSecretBroker();
        app.MapTelemetryHub();

        app.MapStaticAssets().AllowAnonymous();
        // Each page names its role policy; the circuit itself needs a signed-in user. The surface's own
        // Content-Security-Policy carries frame-ancestors; Blazor's would be a second policy header.
        app.MapRazorComponents<App>()
            .AddInteractiveServerRenderMode(options => options.ContentSecurityFrameAncestorsPolicy = null)
            .RequireAuthorization(AccessPolicies.SignedIn);
        app.AnnounceUpstream();
        return app;
    }
}
