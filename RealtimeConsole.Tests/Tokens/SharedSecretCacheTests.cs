using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Deployment;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Tokens;
using RealtimeConsole.Upstream;
using StackExchange.Redis;

namespace RealtimeConsole.Tests.Tokens;

/// <summary>
/// Several console instances (in-memory servers) sharing one real redis-server, in front of one counting upstream: the
/// Shared secret and the pool are the deployment's, not each instance's; what Redis holds is sealed; Redis going away
/// never turns into a 5xx. Time-driven cases run the brokers on one <see cref="FakeTimeProvider"/>.
/// </summary>
public sealed class SharedSecretCacheTests
{
    /// <summary>
    /// A deployment on its own redis-server whose instances (in memory, each in <paramref name="mode"/>) all mint from one
    /// counting upstream, the brokers on <paramref name="time"/> when given.
    /// </summary>
    private sealed class SecretsDeployment(RedisDeployment deployment, string mode, TimeProvider? time) : IAsyncDisposable
    {
        public RedisServer Redis => deployment.Redis;

        public CountingUpstream Upstream { get; } = new(time ?? TimeProvider.System);

        public static async Task<SecretsDeployment> StartAsync(string mode = "Shared", TimeProvider? time = null) =>
            new(await RedisDeployment.StartAsync(), mode, time);

        public ConsoleAppFactory Instance() => Configured(deployment.InMemory());

        /// <summary>
        /// A real instance on a 127.0.0.1 socket, as a deployment runs them behind its proxy. Redis stays up in the tests that use
        /// it, so a Redis answer slowed by a starved thread pool must not count as an outage (which would mint locally).
        /// </summary>
        public LoopbackConsoleServer OnLoopback(string id)
        {
            var defaults = new DeploymentOptions();
            return deployment.OnLoopback(id, defaults.HeartbeatInterval, defaults.InstanceTimeout, instance => Configured(instance).WithSetting("Deployment:RedisTimeout", "00:00:10"));
        }

        private ConsoleAppFactory Configured(ConsoleAppFactory instance) =>
            instance
                .WithSetting("Realtime:BaseUrl", "http://upstream.test/v1")
                .WithSetting("Realtime:SecretMode", mode)
                .WithSetting("Realtime:PoolSize", "3")
                .WithSetting("Realtime:RefreshJitterFraction", "0")
                .WithSetting("Realtime:ClientSecretsPerMinute", "600")
                .WithSetting("Realtime:DoorPermitsPerMinute", "100000")
                .WithServices(s =>
                {
                    s.AddHttpClient(UpstreamGate.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => Upstream);
                    if (time is not null)
                    {
                        s.AddSingleton(time);
                    }
                });

        /// <summary>Two instances, the first secret minted by A and served by B too.</summary>
        public async Task<TwoInstances> TwoSharingOneSecretAsync()
        {
            var (a, b) = (Instance(), Instance());
            var (clientA, clientB) = (a.CreateClient(), b.CreateClient());
            var first = await SecretAsync(clientA);
            Assert.Equal(first, await SecretAsync(clientB));
            return new TwoInstances(a, b, clientA, clientB, first);
        }

        public ValueTask DisposeAsync() => deployment.DisposeAsync();
    }

    private sealed record TwoInstances(ConsoleAppFactory A, ConsoleAppFactory B, HttpClient ClientA, HttpClient ClientB, string First);

    /// <summary>One secret from the broker; <paramref name="refused"/> reports that secret as refused upstream first.</summary>
    private static async Task<string> SecretAsync(HttpClient client, string? voice = null, string? refused = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/realtime/client-secret");
        if (voice is not null)
        {
            request.Content = new StringContent($$"""{"voice":"{{voice}}"}""", Encoding.UTF8, "application/json");
        }

        if (refused is not null)
        {
            request.Headers.Add(BrokerEndpoints.RefusedSecretHeader, refused);
        }

        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("value").GetString()!;
    }

    /// <summary>
    /// Asks <paramref name="instance"/> each time its memory copy of a shared secret changes (a replacement arrives through
    /// the backplane or a refresh lands) until it serves <paramref name="expected"/>.
    /// </summary>
    private static async Task WaitUntilServedAsync(ConsoleAppFactory instance, HttpClient client, string expected, string? voice = null)
    {
        var cache = Assert.IsType<SharedSecretCache>(instance.Services.GetRequiredService<ISecretCache>());
        await using var waiter = new ConditionWaiter().On(h => cache.HeldSecretChanged += h, h => cache.HeldSecretChanged -= h);
        await waiter.UntilAsync(() => SecretAsync(client, voice), served => served == expected, $"the instance to serve {expected}", served => served);
    }

    /// <summary>Waits on the instance's store events until it answers again.</summary>
    private static async Task WaitUntilStoreAnswersAsync(ConsoleAppFactory instance)
    {
        var store = RedisDeployment.StoreOf(instance);
        await using var waiter = new ConditionWaiter().OnStore(store);
        await waiter.UntilAsync(() => store.IsAvailable, "the instance's store to answer again");
    }

    [Fact]
    public async Task Three_instances_on_loopback_with_500_concurrent_callers_each_cause_one_upstream_mint()
    {
        await using var deployment = await SecretsDeployment.StartAsync();
        var upstream = deployment.Upstream;
        // Real Kestrel instances; each caller's request crosses a socket, up to 100 connections at a time per instance as a proxy
        // in front would hold them.
        var clients = Enumerable.Range(0, 3)
            .Select(i => new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 100 }) { BaseAddress = deployment.OnLoopback("instance-" + i).BaseAddress, Timeout = TimeSpan.FromSeconds(90) })
            .ToArray();
        try
        {
            upstream.Hold();
            var callers = clients.SelectMany(client => Enumerable.Range(0, 500).Select(_ => Task.Run(() => client.PostAsync("/api/realtime/client-secret", null)))).ToArray();
            await upstream.WaitForMintsAsync(1);
            upstream.Release();
            var responses = await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(90));

            Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            var values = await Task.WhenAll(responses.Select(async r => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("value").GetString()));
            Assert.Single(values.Distinct());
            Assert.Equal(1, upstream.Mints);
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_secret_minted_by_one_instance_is_served_by_another_and_Redis_holds_it_sealed()
    {
        await using var deployment = await SecretsDeployment.StartAsync();
        var (a, b) = (deployment.Instance(), deployment.Instance());

        var minted = await SecretAsync(a.CreateClient());
        var servedByB = await SecretAsync(b.CreateClient());

        Assert.Equal(minted, servedByB);
        Assert.Equal(1, deployment.Upstream.Mints);
        Assert.IsType<SharedSecretCache>(b.Services.GetRequiredService<ISecretCache>());

        // What B read it from: a key in Redis whose raw bytes never contain the secret.
        var stored = await RawValuesAsync(deployment.Redis);
        Assert.Contains(stored, entry => entry.Key.Contains("secret:", StringComparison.Ordinal) && entry.Value.Length > minted.Length);
        Assert.All(stored, entry => Assert.DoesNotContain(minted, entry.Value, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_stored_secret_an_instance_cannot_open_is_a_miss_that_mints_not_an_error()
    {
        await using var deployment = await SecretsDeployment.StartAsync();
        var first = await SecretAsync(deployment.Instance().CreateClient());

        await using (var connection = await ConnectionMultiplexer.ConnectAsync(deployment.Redis.ConnectionString))
        {
            var stored = (await RawValuesAsync(deployment.Redis)).Keys.Single(k => k.Contains("secret:", StringComparison.Ordinal));
            await connection.GetDatabase().HashSetAsync(stored, "data", "sealed by a key ring nobody here has"u8.ToArray());
        }

        var second = await SecretAsync(deployment.Instance().CreateClient());
        Assert.NotEqual(first, second);
        Assert.Equal(2, deployment.Upstream.Mints);
    }

    [Fact]
    public async Task In_Shared_mode_a_cache_hit_is_served_from_memory_without_a_Redis_round_trip()
    {
        await using var deployment = await SecretsDeployment.StartAsync();
        var two = await deployment.TwoSharingOneSecretAsync();
        var clients = new[] { two.ClientA, two.ClientB };

        // Every command any instance sends that names a secret's key (a read, a write, the lock, the backplane), as Redis
        // executed them between two marks; the heartbeats and budget scripts that run meanwhile name other keys.
        await using var log = await RedisCommandLog.StartAsync(deployment.Redis);
        var start = await log.MarkAsync("hits-start");
        var hits = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => SecretAsync(clients[i % 2])));
        Assert.All(hits, value => Assert.Equal(two.First, value));
        var end = await log.MarkAsync("hits-end");
        Assert.Empty(SecretCommands(log, start, end));

        // The log does see Redis asked when it is: a configuration this instance does not hold yet.
        await SecretAsync(two.ClientB, voice: "ash");
        Assert.NotEmpty(SecretCommands(log, end, await log.MarkAsync("miss-end")));
    }

    /// <summary>The commands between two marks of <paramref name="log"/> that name a cached secret's key or the secrets' backplane.</summary>
    private static List<string> SecretCommands(RedisCommandLog log, int from, int to) =>
        [.. log.Commands
            .Where(c => c.Index > from && c.Index < to && c.Words.Skip(1).Any(w => w.Contains(":secret", StringComparison.Ordinal)))
            .Select(c => $"{c.Client ?? "a script"}: {string.Join(' ', c.Words.Take(3))}")];

    [Fact]
    public async Task Pool_mode_fills_one_pool_for_the_deployment_and_hands_each_secret_out_once()
    {
        await using var deployment = await SecretsDeployment.StartAsync("Pool");
        var upstream = deployment.Upstream;
        var clients = new[] { deployment.Instance().CreateClient(), deployment.Instance().CreateClient() };
        await using var poolWrites = new ConditionWaiter();
        await poolWrites.OnKeysAsync(deployment.Redis, "*secret-pool:*");
        Task PoolFullAsync() => poolWrites.UntilAsync(async () => await PoolLengthAsync(deployment.Redis) == 3, "the shared pool to hold 3 secrets");

        // A's first take finds the pool empty: one mint on demand, and the pool fills to its three places.
        var onDemand = await SecretAsync(clients[0]);
        await PoolFullAsync();
        Assert.Equal(1 + 3, upstream.Mints);

        // B takes from the pool A filled; then both instances take and refill the same pool together, never beyond three.
        var fromTheSharedPool = await SecretAsync(clients[1]);
        await PoolFullAsync();
        Assert.Equal(1 + 3 + 1, upstream.Mints);
        var taken = await Task.WhenAll(new[] { clients[0], clients[1], clients[0] }.Select(c => SecretAsync(c)));
        Assert.Equal(5, taken.Append(onDemand).Append(fromTheSharedPool).Distinct().Count());

        await PoolFullAsync();
        Assert.Equal(1 + 3 + 1 + 3, upstream.Mints);
        var pooled = await RawValuesAsync(deployment.Redis);
        Assert.All(pooled, entry => Assert.DoesNotContain("ek_", entry.Value, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Past_the_refresh_point_on_the_brokers_clock_the_deployment_refreshes_once_and_every_instance_serves_the_new_secret()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var deployment = await SecretsDeployment.StartAsync(time: time);
        var upstream = deployment.Upstream;
        var (a, b, clientA, clientB, first) = await deployment.TwoSharingOneSecretAsync();

        // Refresh point: 600 s secret, 20 % margin.
        time.Advance(TimeSpan.FromSeconds(481));
        Assert.Equal(first, await SecretAsync(clientA));
        var second = await upstream.MintedAsync(2);
        await WaitUntilServedAsync(a, clientA, second);
        await WaitUntilServedAsync(b, clientB, second);
        Assert.Equal(2, upstream.Mints);

        // Past its usable life: the next caller anywhere waits for one new secret, the other instance takes it from Redis.
        time.Advance(TimeSpan.FromSeconds(595));
        var third = await SecretAsync(clientB);
        Assert.NotEqual(second, third);
        Assert.Equal(third, await SecretAsync(clientA));
        Assert.Equal(3, upstream.Mints);
    }

    [Fact]
    public async Task Force_refresh_on_one_instance_replaces_the_secret_on_all_and_a_second_press_elsewhere_mints_nothing()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var deployment = await SecretsDeployment.StartAsync(time: time);
        var upstream = deployment.Upstream;
        var (a, b, _, clientB, first) = await deployment.TwoSharingOneSecretAsync();

        time.Advance(ClientSecretBroker.MinimumForcedRefreshInterval);
        await a.Services.GetRequiredService<ClientSecretBroker>().ForceRefreshAsync(CancellationToken.None);
        var second = upstream.LastValue;
        Assert.NotEqual(first, second);
        await WaitUntilServedAsync(b, clientB, second);

        await b.Services.GetRequiredService<ClientSecretBroker>().ForceRefreshAsync(CancellationToken.None);
        Assert.Equal(2, upstream.Mints);
        Assert.Equal(second, await SecretAsync(clientB));
    }

    [Fact]
    public async Task A_key_refused_on_one_instance_is_replaced_once_for_all_and_a_late_report_elsewhere_mints_nothing()
    {
        await using var deployment = await SecretsDeployment.StartAsync();
        var (a, _, clientA, clientB, refused) = await deployment.TwoSharingOneSecretAsync();

        var replacement = await SecretAsync(clientB, refused: refused);
        Assert.NotEqual(refused, replacement);
        await WaitUntilServedAsync(a, clientA, replacement);

        Assert.Equal(replacement, await SecretAsync(clientA, refused: refused));
        Assert.Equal(2, deployment.Upstream.Mints);
    }

    [Fact]
    public async Task A_failed_mint_reaches_callers_as_the_same_answer_as_in_memory_mode_and_the_next_caller_mints()
    {
        await using var deployment = await SecretsDeployment.StartAsync();
        var upstream = deployment.Upstream;
        var shared = deployment.Instance();
        var alone = deployment.Instance().WithSetting("ConnectionStrings:Redis", "").WithSetting("Realtime:Store", "Memory");
        var (sharedClient, aloneClient) = (shared.CreateClient(), alone.CreateClient());
        Assert.IsType<MemorySecretCache>(alone.Services.GetRequiredService<ISecretCache>());

        upstream.FailNext();
        using var inMemory = await aloneClient.PostAsync("/api/realtime/client-secret", null);
        upstream.FailNext();
        using var throughRedis = await sharedClient.PostAsync("/api/realtime/client-secret", null);

        Assert.Equal(HttpStatusCode.BadRequest, inMemory.StatusCode);
        Assert.Equal(inMemory.StatusCode, throughRedis.StatusCode);
        Assert.Equal(await inMemory.Content.ReadAsStringAsync(), await throughRedis.Content.ReadAsStringAsync());
        await SecretAsync(sharedClient);
        Assert.Equal(3, upstream.Mints);
    }

    [Fact]
    public async Task With_Redis_stopped_mid_run_valid_secrets_keep_being_served_a_miss_mints_locally_and_nothing_is_a_5xx()
    {
        await using var deployment = await SecretsDeployment.StartAsync();
        var upstream = deployment.Upstream;
        var (a, b, clientA, clientB, shared) = await deployment.TwoSharingOneSecretAsync();
        var clients = new[] { clientA, clientB };

        await deployment.Redis.StopAsync();
        var during = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => clients[i % 2].PostAsync("/api/realtime/client-secret", null)));
        Assert.All(during, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.All(await Task.WhenAll(during.Select(r => r.Content.ReadAsStringAsync())), body => Assert.Contains(shared, body, StringComparison.Ordinal));
        Assert.Equal(1, upstream.Mints);

        // A configuration nobody has yet: each instance mints its own rather than fail.
        var aloneA = await SecretAsync(clients[0], voice: "ash");
        var aloneB = await SecretAsync(clients[1], voice: "ash");
        Assert.NotEqual(shared, aloneA);
        Assert.Equal(aloneA, await SecretAsync(clients[0], voice: "ash"));
        Assert.Equal(3, upstream.Mints);

        // Back, empty: still served, and the deployment shares again.
        await deployment.Redis.StartAsync();
        Assert.Equal(shared, await SecretAsync(clients[0]));
        Assert.Equal(aloneB, await SecretAsync(clients[1], voice: "ash"));
        await WaitUntilStoreAnswersAsync(a);
        var afterward = await SecretAsync(clients[0], voice: "verse");
        await WaitUntilStoreAnswersAsync(b);
        var onB = await SecretAsync(clients[1], voice: "verse");
        if (onB != afterward)
        {
            // B's first request raced its own reconnection (a read that failed is a miss) and minted: its secret replaced
            // A's in Redis and the backplane tells A, so the deployment still ends up with one secret (once a full CI run).
            await WaitUntilServedAsync(a, clients[0], onB, voice: "verse");
            Assert.Equal(5, upstream.Mints);
        }

        Assert.Equal(onB, await SecretAsync(clients[0], voice: "verse"));
        Assert.Equal(onB, await SecretAsync(clients[1], voice: "verse"));
    }

    [Fact]
    public async Task Started_while_Redis_is_down_an_instance_renders_its_pages_and_serves_secrets_then_shares_its_keys_once_Redis_is_back()
    {
        await using var deployment = await SecretsDeployment.StartAsync();
        var redis = deployment.Redis;
        await redis.StopAsync();
        var alone = deployment.Instance();
        var client = alone.CreateClient();

        using var page = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var secret = await SecretAsync(client);
        var sealedAlone = alone.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("i15").Protect("payload");

        await using var keyRingWrites = new ConditionWaiter();
        await redis.StartAsync();
        await keyRingWrites.OnKeysAsync(redis, "*" + SharedDataProtection.KeyRingKey);
        await WaitUntilStoreAnswersAsync(alone);
        Assert.Equal(secret, await SecretAsync(client));
        var aloneStore = RedisDeployment.StoreOf(alone);
        await keyRingWrites.UntilAsync(
            async () => (await RawValuesAsync(redis)).Keys.ToList(),
            keys => keys.Any(k => k.EndsWith(SharedDataProtection.KeyRingKey, StringComparison.Ordinal)),
            "the key ring made alone to reach Redis",
            keys => $"keys [{string.Join(", ", keys)}], the instance's store connected={aloneStore.Connection.IsConnected} unreachable since={aloneStore.UnreachableSince}");
        var joining = deployment.Instance();
        await using var joiningStore = new ConditionWaiter().OnStore(RedisDeployment.StoreOf(joining));
        await joiningStore.UntilAsync(() => TryUnprotect(joining, sealedAlone) == "payload", "the joining instance to read what was sealed alone");
    }

    private static string? TryUnprotect(ConsoleAppFactory app, string protectedPayload)
    {
        try
        {
            return app.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("i15").Unprotect(protectedPayload);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    [Fact]
    public async Task Data_protected_by_one_instance_including_antiforgery_tokens_is_read_by_another_of_the_same_deployment_only()
    {
        await using var deployment = await SecretsDeployment.StartAsync();
        var (a, b) = (deployment.Instance(), deployment.Instance());
        var elsewhere = deployment.Instance().WithSetting("Deployment:Name", "another-deployment");

        var sealedByA = a.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("i15").Protect("payload");
        Assert.Equal("payload", b.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("i15").Unprotect(sealedByA));
        Assert.ThrowsAny<CryptographicException>(() => elsewhere.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("i15").Unprotect(sealedByA));

        var issuedByA = a.Services.GetRequiredService<IAntiforgery>().GetAndStoreTokens(new DefaultHttpContext { RequestServices = a.Services });
        var cookieOfA = a.Services.GetRequiredService<IOptions<AntiforgeryOptions>>().Value.Cookie.Name!;
        Assert.True(await b.Services.GetRequiredService<IAntiforgery>().IsRequestValidAsync(PostWith(issuedByA, cookieOfA, b.Services)));
        Assert.False(await elsewhere.Services.GetRequiredService<IAntiforgery>().IsRequestValidAsync(PostWith(issuedByA, cookieOfA, elsewhere.Services)));
    }

    [Fact]
    public async Task Broker_containers_built_as_the_bench_builds_its_instances_share_one_cache_once_each_has_a_RedisStore()
    {
        await using var redis = await RedisServer.StartNewAsync();
        var upstream = new CountingUpstream(TimeProvider.System);
        await using var first = BrokerContainer(redis, upstream, 0);
        await using var second = BrokerContainer(redis, upstream, 1);
        Assert.IsType<SharedSecretCache>(first.GetRequiredService<ISecretCache>());

        var minted = await first.GetRequiredService<ClientSecretBroker>().GetSecretAsync(null, CancellationToken.None);
        var shared = await second.GetRequiredService<ClientSecretBroker>().GetSecretAsync(null, CancellationToken.None);

        Assert.Equal(minted.Secret.Value, shared.Secret.Value);
        Assert.Equal(SecretSource.Cache, shared.Source);
        Assert.Equal(1, upstream.Mints);
    }

    /// <summary>What <c>BenchWorld.BrokerInstance</c> builds, plus the two registrations a <c>broker-redis</c> strategy adds.</summary>
    private static ServiceProvider BrokerContainer(RedisServer redis, CountingUpstream upstream, int instance)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OPENAI_API_KEY"] = "sk-bench",
            ["Realtime:BaseUrl"] = "http://upstream.test/v1",
            ["Realtime:SecretMode"] = "Shared",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSingleton(TimeProvider.System);
        services.AddLogging();
        services.AddMetrics();
        services.AddBrokerCore();
        services.AddHttpClient(UpstreamGate.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => upstream);
        services.AddSingleton(sp => new RedisStore(
            DeploymentOptions.ParseRedis(redis.ConnectionString, TimeSpan.FromSeconds(1)), "bench", $"bench-{instance}", TimeProvider.System, sp.GetRequiredService<ILogger<RedisStore>>()));
        services.AddSharedDataProtection();
        return services.BuildServiceProvider();
    }

    [Fact]
    public void Without_a_Redis_store_the_cache_is_this_processs_memory()
    {
        using var app = new ConsoleAppFactory();

        Assert.IsType<MemorySecretCache>(app.Services.GetRequiredService<ISecretCache>());
    }

    /// <summary>A browser's form post carrying the antiforgery cookie and token one instance issued.</summary>
    private static DefaultHttpContext PostWith(AntiforgeryTokenSet tokens, string cookieName, IServiceProvider services)
    {
        var post = new DefaultHttpContext { RequestServices = services };
        post.Request.Method = "POST";
        post.Request.Headers.Cookie = $"{cookieName}={tokens.CookieToken}";
        post.Request.Headers[tokens.HeaderName!] = tokens.RequestToken;
        return post;
    }

    private static async Task<long> PoolLengthAsync(RedisServer redis)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        long length = 0;
        await foreach (var key in server.KeysAsync(pattern: "*secret-pool:*"))
        {
            length += await connection.GetDatabase().ListLengthAsync(key);
        }

        return length;
    }

    /// <summary>Every key in Redis with its raw content (strings, hash fields and list items, bytes read as Latin-1 so nothing is lost).</summary>
    private static async Task<Dictionary<string, string>> RawValuesAsync(RedisServer redis)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        var database = connection.GetDatabase();
        var values = new Dictionary<string, string>();
        await foreach (var key in server.KeysAsync())
        {
            var raw = await database.KeyTypeAsync(key) switch
            {
                RedisType.String => [(byte[]?)await database.StringGetAsync(key)],
                RedisType.Hash => (await database.HashGetAllAsync(key)).Select(field => (byte[]?)field.Value).ToArray(),
                RedisType.List => (await database.ListRangeAsync(key)).Select(item => (byte[]?)item).ToArray(),
                _ => Array.Empty<byte[]?>(),
            };
            values[key!] = string.Concat(raw.Select(bytes => Encoding.Latin1.GetString(bytes ?? [])));
        }

        return values;
    }

    /// <summary>One upstream for every instance: answers each mint with a fresh ek_ and upstream-style expires_at; can hold mints open.</summary>
    private sealed class CountingUpstream(TimeProvider time) : HttpMessageHandler
    {
        private readonly ConcurrentDictionary<int, TaskCompletionSource> _arrivals = new();
        private readonly ConcurrentDictionary<int, TaskCompletionSource<string>> _answers = new();
        private TaskCompletionSource _gate = Opened();
        private int _mints;
        private int _failNext;
        private string _lastValue = "";

        public int Mints => Volatile.Read(ref _mints);

        public string LastValue => Volatile.Read(ref _lastValue);

        public void Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _gate.TrySetResult();

        /// <summary>The next mint is refused as a bad request (not retried by the gate).</summary>
        public void FailNext() => Volatile.Write(ref _failNext, 1);

        public Task WaitForMintsAsync(int n) => Arrival(n).Task.WaitAsync(ConditionWaiter.Patience);

        /// <summary>The value of the <paramref name="n"/>th mint, once upstream has answered it.</summary>
        public Task<string> MintedAsync(int n) => Answer(n).Task.WaitAsync(ConditionWaiter.Patience);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Assert.EndsWith("/realtime/client_secrets", request.RequestUri!.AbsolutePath, StringComparison.Ordinal);
            var n = Interlocked.Increment(ref _mints);
            Arrival(n).TrySetResult();
            await _gate.Task.WaitAsync(cancellationToken);
            if (Interlocked.Exchange(ref _failNext, 0) == 1)
            {
                const string refusal = """{"error":{"message":"Unknown parameter.","type":"invalid_request_error","param":null,"code":"unknown_parameter"}}""";
                return new HttpResponseMessage(HttpStatusCode.BadRequest) { Content = new StringContent(refusal, Encoding.UTF8, "application/json") };
            }

            var value = $"ek_{n}_{Guid.NewGuid():N}";
            Volatile.Write(ref _lastValue, value);
            Answer(n).TrySetResult(value);
            var expiresAt = time.GetUtcNow().ToUnixTimeSeconds() + 600;
            var body = $$$"""{"value":"{{{value}}}","expires_at":{{{expiresAt.ToString(CultureInfo.InvariantCulture)}}},"session":{"type":"realtime"}}""";
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        }

        private TaskCompletionSource Arrival(int n) => _arrivals.GetOrAdd(n, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        private TaskCompletionSource<string> Answer(int n) => _answers.GetOrAdd(n, _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously));

        private static TaskCompletionSource Opened()
        {
            var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            open.SetResult();
            return open;
        }
    }
}
