using RealtimeConsole.Hosting;

if (ConsoleVerbs.TryGet(args, out var verb))
{
    return await verb(args[1..]);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddRealtimeConsole();

var app = builder.Build();
app.MapRealtimeConsole();
await app.RunAsync();
return 0;

/// <summary>Entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
