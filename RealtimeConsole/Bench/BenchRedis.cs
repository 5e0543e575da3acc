namespace RealtimeConsole.Bench;

/// <summary>
/// The Redis the bench's shared strategies use: <c>BENCH_REDIS</c> (host:port) when set, else one throwaway
/// <see cref="LocalRedisServer"/> for the whole bench process, started on first use and stopped when the process exits.
/// </summary>
public static class BenchRedis
{
    private static readonly Lazy<string> Shared = new(Start);

    public static string ConnectionString => Shared.Value;

    private static string Start()
    {
        if (Environment.GetEnvironmentVariable("BENCH_REDIS") is { Length: > 0 } external)
        {
            return external;
        }

        var server = LocalRedisServer.StartNewAsync().GetAwaiter().GetResult();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return server.ConnectionString;
    }
}
