using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using RealtimeConsole.Hosting;
using RealtimeConsole.Simulator.Media;
using RealtimeConsole.Surface;

namespace RealtimeConsole.Simulator;

/// <summary>The embedded OpenAI Realtime simulator: registration, endpoints under <c>/simulator</c>, and the standalone host.</summary>
public static class SimulatorFeature
{
    /// <summary>
    /// Registers the simulator's singletons: <see cref="SimulatorRateLimiter"/> (the organization's budgets),
    /// <see cref="SimulatorFaults"/>, <see cref="SimulatorStats"/>, <see cref="SimulatorClientSecrets"/> (the <c>ek_</c>
    /// keys), <see cref="SimulatorPresets"/>, <see cref="SimulatorChangeNotifier"/> and <see cref="SimulatorGate"/>.
    /// </summary>
    public static WebApplicationBuilder AddRealtimeSimulator(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<SimulatorOptions>()
            .BindConfiguration(SimulatorOptions.Section)
            .Validate(o => !string.IsNullOrWhiteSpace(o.ApiKey) && !o.ApiKey.StartsWith("ek_", StringComparison.Ordinal), "Simulator:ApiKey must be set and must not look like an ephemeral key (ek_...).")
            .Validate(o => !string.IsNullOrWhiteSpace(o.OrganizationId), "Simulator:OrganizationId must be set.")
            .Validate(o => !string.IsNullOrWhiteSpace(o.Model), "Simulator:Model must be set.")
            .Validate(
                o => SimulatorResources.All.All(r => o.RequestsPerMinute.For(r) is >= 1 and <= RequestRateBucket.MaxLimit),
                $"Simulator:RequestsPerMinute values must be between 1 and {RequestRateBucket.MaxLimit}.")
            .Validate(o => o.TokensPerMinute is >= 1 and <= RequestRateBucket.MaxLimit, $"Simulator:TokensPerMinute must be between 1 and {RequestRateBucket.MaxLimit}.")
            .ValidateOnStart();
        builder.Services.AddSingleton<Surface.IApiErrorShape, SimulatorErrorShape>();

        builder.Services.AddSingleton<SimulatorRateLimiter>();
        builder.Services.AddSingleton<SimulatorFaults>();
        builder.Services.AddSingleton<SimulatorStats>();
        builder.Services.AddSingleton<SimulatorClientSecrets>();
        builder.Services.AddSingleton<SimulatorPresets>();
        builder.Services.AddSingleton<SimulatorChangeNotifier>();
        builder.Services.AddSingleton<SimulatorGate>();
        return builder;
    }

    /// <summary>Maps <c>/simulator/v1/...</c> (the OpenAI surface) and <c>/simulator/admin/...</c> (the admin API).</summary>
    public static WebApplication MapRealtimeSimulator(this WebApplication app) => app.MapRealtimeSimulator(app, app);

    /// <summary>The same, each part into its own route group so the console can give each its authorization policy.</summary>
    public static WebApplication MapRealtimeSimulator(this WebApplication app, IEndpointRouteBuilder openAiSurface, IEndpointRouteBuilder adminApi)
    {
        SimulatorEndpoints.Map(openAiSurface);
        SimulatorAdminEndpoints.Map(adminApi);
        return app;
    }

    /// <summary>
    /// Whether the console embeds the simulator: <c>Simulator:Enabled</c> when set, else only without a real <c>OPENAI_API_KEY</c>
    /// (a console on the real API offers no fault switches to whoever can reach it).
    /// </summary>
    public static bool IsEnabled(IConfiguration configuration) =>
        configuration.GetValue<bool?>("Simulator:Enabled") ?? string.IsNullOrWhiteSpace(configuration["OPENAI_API_KEY"]);
}

/// <summary><c>dotnet run --project RealtimeConsole -- simulator --urls http://127.0.0.1:5090</c>.</summary>
public static class SimulatorHost
{
    public const string DefaultUrl = "http://127.0.0.1:5090";

    public static async Task<int> RunStandaloneAsync(string[] args)
    {
        await using var app = Build(args);
        await app.RunAsync();
        return 0;
    }

    /// <summary>The simulator and its media peer alone, with <c>/healthz</c>; <c>--urls</c> overrides <see cref="DefaultUrl"/>.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.QuietRequestDiagnostics();
        builder.AddHardenedSurface();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddHealthChecks();
        builder.AddRealtimeSimulator();
        builder.AddSimulatorMediaPeer();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseHardenedSurface();
        app.MapHealthChecks("/healthz");
        app.MapRealtimeSimulator();
        return app;
    }

    /// <summary>The address the started <paramref name="app"/> listens on (with the port Kestrel picked for port 0).</summary>
    public static Uri ListeningAddress(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
}
