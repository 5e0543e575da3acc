using RealtimeConsole.Deployment;
using RealtimeConsole.Hosting;

if (ConsoleVerbs.TryGet(args, out var verb))
{
    return await verb(args[1..]);
}

try
{
    var builder = WebApplication.CreateBuilder(args);
    builder.AddRealtimeConsole();

    var app = builder.Build();
    app.MapRealtimeConsole();
    await app.RunAsync();
    return 0;
}
catch (DeploymentConfigurationException e)
{
    // A deployment setting that cannot work: say which and why, without a stack trace.
    await Console.Error.WriteLineAsync($"RealtimeConsole cannot start: {e.Message}");
    return 2;
}

/// <summary>Entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
