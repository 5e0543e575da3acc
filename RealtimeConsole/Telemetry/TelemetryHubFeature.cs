namespace RealtimeConsole.Telemetry;

/// <summary>The SignalR telemetry hub at <c>/hubs/telemetry</c> for outside watchers.</summary>
public static class TelemetryHubFeature
{
    public static WebApplicationBuilder AddTelemetryHub(this WebApplicationBuilder builder)
    {
        return builder;
    }

    public static WebApplication MapTelemetryHub(this WebApplication app)
    {
        return app;
    }
}

/// <summary><c>dotnet run --project RealtimeConsole -- watch --url http://host:port</c>.</summary>
public static class WatchCommand
{
    public static Task<int> RunAsync(string[] args)
    {
        Console.Error.WriteLine("The watch command is not built yet.");
        return Task.FromResult(2);
    }
}
