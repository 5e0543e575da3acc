using Microsoft.Extensions.Logging.Abstractions;
using RealtimeConsole.Bench;
using RealtimeConsole.Deployment;

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

    /// <summary>
    /// One instance's connection to this server, as instance <paramref name="instanceId"/> of <paramref name="deployment"/> holds
    /// it, with commands timing out after <paramref name="timeout"/> (the caller disposes it).
    /// </summary>
    public RedisStore Connect(string deployment, string instanceId, TimeProvider time, TimeSpan timeout) =>
        new(DeploymentOptions.ParseRedis(ConnectionString, timeout), deployment, instanceId, time, NullLogger<RedisStore>.Instance);

    /// <summary>Brings a stopped server back, empty, on the same port.</summary>
    public Task StartAsync() => _server.StartAsync();

    /// <summary>Stops the server at once, as a crash or a network cut would.</summary>
    public Task StopAsync() => _server.StopAsync();

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
