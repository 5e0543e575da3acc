namespace RealtimeConsole.Simulator;

/// <summary>The embedded OpenAI Realtime simulator: registration, endpoints under <c>/simulator</c>, and the standalone host.</summary>
public static class SimulatorFeature
{
    public static WebApplicationBuilder AddRealtimeSimulator(this WebApplicationBuilder builder)
    {
        return builder;
    }

    public static WebApplication MapRealtimeSimulator(this WebApplication app)
    {
        return app;
    }
}

/// <summary><c>dotnet run --project RealtimeConsole -- simulator --urls http://127.0.0.1:5090</c>.</summary>
public static class SimulatorHost
{
    public static Task<int> RunStandaloneAsync(string[] args)
    {
        Console.Error.WriteLine("The standalone simulator is not built yet.");
        return Task.FromResult(2);
    }
}
