using RealtimeConsole.Bench;

namespace RealtimeConsole.Tests.Infrastructure;

/// <summary>
/// A real <c>redis-server</c> (Debian's, installed by test.sh) for one test, on a free 127.0.0.1 port with a throwaway
/// directory: the bench's <see cref="LocalRedisServer"/>. No mocks of Redis anywhere in the tests.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly LocalRedisServer _server;

    private RedisServer(LocalRedisServer server) => _server = server;

    public int Port => _server.Port;

    /// <summary>The value for <c>ConnectionStrings:Redis</c>.</summary>
    public string ConnectionString => _server.ConnectionString;

    public static async Task<RedisServer> StartNewAsync() => new(await LocalRedisServer.StartNewAsync());

    /// <summary>Brings a stopped server back, empty, on the same port.</summary>
    public Task StartAsync() => _server.StartAsync();

    /// <summary>Stops the server at once, as a crash or a network cut would.</summary>
    public Task StopAsync() => _server.StopAsync();

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
