using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Tokens;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tests.Tokens;

/// <summary>
/// The deployment-wide single flight of the Shared secret, forced through its distributed lock: three console instances on
/// loopback sockets and one real redis-server, the one mint held upstream until every instance is inside the lock path, watched with MONITOR.
/// </summary>
public sealed class SharedSecretCacheLockTests
{
    private const int CallersPerInstance = 500;

    private static readonly string[] Names = ["lock-a", "lock-b", "lock-c"];

    [Fact]
    public async Task Instances_that_miss_while_another_mints_wait_on_the_distributed_lock_then_read_the_secret_from_Redis_and_mint_nothing()
    {
        await using var redis = await RedisServer.StartNewAsync();
        await using var log = await RedisCommandLog.StartAsync(redis);
        var upstream = new MintingUpstream();
        // Real Kestrel instances on 127.0.0.1; each caller's request crosses a socket (up to 100 connections at a time per
        // instance, as a proxy in front would hold them).
        var apps = Names.Select(name =>
        {
            var server = new LoopbackConsoleServer();
            server.WithSetting("ConnectionStrings:Redis", redis.ConnectionString)
                .WithSetting("Deployment:Name", "lock-tests")
                .WithSetting("Deployment:InstanceId", name)
                // Redis stays up here: an answer slowed by 1,500 callers on two cores must not count as an outage (a local mint).
                .WithSetting("Deployment:RedisTimeout", "00:00:10")
                .WithSetting("Realtime:BaseUrl", "http://upstream.test/v1")
                .WithSetting("Realtime:SecretMode", "Shared")
                .WithSetting("Realtime:ClientSecretsPerMinute", "600")
                .WithSetting("Realtime:DoorPermitsPerMinute", "100000")
                .WithServices(s => s.AddHttpClient(UpstreamGate.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => upstream.HandlerFor(name)));
            return server;
        }).ToArray();
        HttpClient[] clients = [];
        try
        {
            clients = apps.Select(a => new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 100 }) { BaseAddress = a.BaseAddress, Timeout = TimeSpan.FromSeconds(120) }).ToArray();
            var sources = Names.ToDictionary(name => name, _ => new ConcurrentQueue<SecretSource>());
            foreach (var (app, name) in apps.Zip(Names))
            {
                app.Services.GetRequiredService<SecretSignals>().Served += (_, _, source) => sources[name].Enqueue(source);
            }

            upstream.Hold();
            var callers = clients.SelectMany(client => Enumerable.Range(0, CallersPerInstance)
                .Select(_ => Task.Run(() => client.PostAsync("/api/realtime/client-secret", null)))).ToArray();

            // The owner holds the lock for as long as its mint is held; the lock's first SET NX in the log is the owner's.
            var owner = await upstream.WaitForMintAsync(1);
            var others = Names.Where(n => n != owner).ToArray();
            await log.WaitForAsync(commands => LockAttempts(commands).FirstOrDefault()?.Client == ClientName(owner));
            var ownerLock = LockAttempts(log.Commands).First();

            // Each other instance has missed Redis and asks for the lock the owner holds: it can only wait.
            await log.WaitForAsync(commands => others.All(other => LockAttempts(commands).Any(c => c.Client == ClientName(other) && c.Index > ownerLock.Index)));
            var released = await log.MarkAsync("mint-released");
            upstream.Release();
            var responses = await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(120));

            Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            var values = await Task.WhenAll(responses.Select(async r => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("value").GetString()));
            Assert.Single(values.Distinct());
            Assert.Equal(1, upstream.Mints);
            Assert.Equal([owner], upstream.MintedFor);

            // The others served all their callers from the shared cache, which each read in Redis once the owner let the lock go.
            var secretKey = ownerLock.Words[1][..^LockSuffix.Length];
            foreach (var other in others)
            {
                Assert.Equal(CallersPerInstance, sources[other].Count);
                Assert.All(sources[other], source => Assert.Equal(SecretSource.Cache, source));
                Assert.Contains(log.Commands, c => c.Client == ClientName(other) && c.Index > released && c.Name is "HMGET" or "HGETALL" && c.Words[1].EndsWith(secretKey, StringComparison.Ordinal));
            }

            // The owner minted once; its other callers joined that mint, or (arriving over their sockets after it) found it held.
            Assert.Equal(CallersPerInstance, sources[owner].Count);
            Assert.Single(sources[owner], source => source == SecretSource.Minted);
            Assert.All(sources[owner], source => Assert.NotEqual(SecretSource.Pool, source));
        }
        finally
        {
            foreach (var app in apps)
            {
                await app.DisposeAsync();
            }

            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    // FusionCache's distributed lock on an entry is a SET NX of the entry's key plus this suffix.
    private const string LockSuffix = ":lock";

    /// <summary>Attempts to take the distributed lock of the Shared secret's entry (each a SET ... NX, repeated while another holds it).</summary>
    private static IEnumerable<RedisCommand> LockAttempts(IReadOnlyList<RedisCommand> commands) =>
        commands.Where(c => c.Name == "SET" && c.Has("NX") && c.Words[1].Contains(":secret:", StringComparison.Ordinal) && c.Words[1].EndsWith(LockSuffix, StringComparison.Ordinal));

    private static string ClientName(string instance) => "realtime-console:" + instance;
}
