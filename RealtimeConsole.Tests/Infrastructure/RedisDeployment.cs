using Microsoft.Extensions.DependencyInjection;
using RealtimeConsole.Deployment;

namespace RealtimeConsole.Tests.Infrastructure;

/// <summary>
/// One real redis-server and the console instances a test runs on it, all of one deployment (its own name, so its own keys
/// and channels): in memory or on a loopback socket. Disposes the instances, then the server.
/// </summary>
public sealed class RedisDeployment : IAsyncDisposable
{
    private readonly List<ConsoleAppFactory> _instances = [];

    private RedisDeployment(RedisServer redis) => Redis = redis;

    public RedisServer Redis { get; }

    /// <summary><c>Deployment:Name</c> of every instance.</summary>
    public string Name { get; } = "it-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>The instances running, in the order they joined.</summary>
    public IReadOnlyList<ConsoleAppFactory> Instances => _instances;

    public static async Task<RedisDeployment> StartAsync() => new(await RedisServer.StartNewAsync());

    /// <summary>An instance in memory (TestServer), started on first use; <paramref name="id"/> null keeps the generated one.</summary>
    public ConsoleAppFactory InMemory(string? id = null) => Join(new ConsoleAppFactory(), id);

    /// <summary>An instance on a 127.0.0.1 socket, started before this returns, beating every <paramref name="heartbeat"/>.</summary>
    public LoopbackConsoleServer OnLoopback(string id, TimeSpan heartbeat, TimeSpan instanceTimeout, Action<ConsoleAppFactory>? configure = null)
    {
        var server = Join(new LoopbackConsoleServer(), id);
        server.WithSetting("Deployment:HeartbeatInterval", heartbeat.ToString("c"))
            .WithSetting("Deployment:InstanceTimeout", instanceTimeout.ToString("c"));
        configure?.Invoke(server);
        _ = server.BaseAddress;
        return server;
    }

    /// <summary>The instance's connection to the shared store.</summary>
    public static RedisStore StoreOf(ConsoleAppFactory instance) => instance.Services.GetRequiredService<RedisStore>();

    /// <summary>Stops one instance as a shutdown would (it leaves the deployment).</summary>
    public async Task StopAsync(ConsoleAppFactory instance)
    {
        _instances.Remove(instance);
        await instance.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        _instances.Clear();
        await Redis.DisposeAsync();
    }

    private T Join<T>(T instance, string? id)
        where T : ConsoleAppFactory
    {
        instance.WithSetting("ConnectionStrings:Redis", Redis.ConnectionString).WithSetting("Deployment:Name", Name);
        if (id is not null)
        {
            instance.WithSetting("Deployment:InstanceId", id);
        }

        _instances.Add(instance);
        return instance;
    }
}
