using System.Reflection;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.Options;
using RealtimeConsole.Deployment;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion.Backplane.StackExchangeRedis;
using ZiggyCreatures.Caching.Fusion.Locking.Distributed.Redis;

namespace RealtimeConsole.Tokens;

/// <summary>
/// The secrets of a deployment, shared through Redis. Shared secrets live in FusionCache: this instance's memory (L1, the
/// hot path, no round trip), Redis (L2, sealed by <see cref="ProtectedSecretSerializer"/>), the Redis backplane (a
/// replacement evicts every other instance's L1) and the Redis distributed locker (one mint for the whole deployment).
/// The pool is one Redis list that every instance takes from and fills, claiming a place before each mint.
/// While the store is unreachable every instance keeps what it holds and works on its own: L1 serves, a miss mints locally,
/// the pool falls back to this process.
/// </summary>
public sealed class SharedSecretCache : ISecretCache, IDisposable
{
    // Longer than one mint may take upstream (queue wait, retries), shorter than a caller would wait for it.
    private static readonly TimeSpan MintLockTimeout = TimeSpan.FromSeconds(30);

    // A place claimed by an instance that died before filling it is free again after this long.
    private static readonly TimeSpan PlaceClaimLife = TimeSpan.FromSeconds(60);

    private const string ReservePlaceScript = """
        local claimed = tonumber(redis.call('GET', KEYS[2]) or '0')
        if redis.call('LLEN', KEYS[1]) + claimed >= tonumber(ARGV[1]) then return 0 end
        redis.call('INCR', KEYS[2])
        redis.call('PEXPIRE', KEYS[2], ARGV[2])
        return 1
        """;

    private const string FillPlaceScript = """
        redis.call('RPUSH', KEYS[1], ARGV[1])
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
        return redis.call('LLEN', KEYS[1])
        """;

    private const string ReleasePlaceScript = """
        if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
        return 0
        """;

    private const string TakeScript = """
        local taken = redis.call('LPOP', KEYS[1])
        return { taken, redis.call('LLEN', KEYS[1]) }
        """;

    private static readonly PoolPlace SharedPlace = new(Shared: true);

    private readonly RedisStore _store;
    private readonly SecretOptions _options;
    private readonly TimeProvider _time;
    private readonly ProtectedSecretSerializer _sealer;
    private readonly MemoryCache _memory = new(new MemoryCacheOptions());
    private readonly FusionCache _cache;
    private readonly MemorySecretCache _alone = new();

    private readonly FusionCacheEntryOptions _fromMemory = new() { SkipDistributedCacheRead = true, SkipDistributedCacheWrite = true, SkipBackplaneNotifications = true };

    // A stored value this instance cannot open (a key ring it does not share yet, a damaged entry) is a miss, never an error.
    private readonly FusionCacheEntryOptions _fromStore = new() { SkipMemoryCacheRead = true, SkipMemoryCacheWrite = true, ReThrowSerializationExceptions = false };
    private readonly FusionCacheEntryOptions _replaceEverywhere = new()
    {
        SkipMemoryCacheRead = true,
        SkipDistributedCacheRead = true,
        DistributedLockTimeout = MintLockTimeout,
        ReThrowSerializationExceptions = false,
    };

    private readonly FusionCacheEntryOptions _replaceHere = new()
    {
        SkipMemoryCacheRead = true,
        SkipDistributedCacheRead = true,
        SkipDistributedCacheWrite = true,
        SkipBackplaneNotifications = true,
        SkipDistributedLocker = true,
    };

    public SharedSecretCache(RedisStore store, IDataProtectionProvider protection, IOptions<SecretOptions> options, TimeProvider time, ILoggerFactory loggers)
    {
        _store = store;
        _options = options.Value;
        _time = time;
        _sealer = new ProtectedSecretSerializer(protection);

        Func<Task<IConnectionMultiplexer>> connection = () => Task.FromResult<IConnectionMultiplexer>(BorrowedConnection.Of(store.Connection));
        _cache = new FusionCache(
            new FusionCacheOptions
            {
                CacheName = "secrets",
                CacheKeyPrefix = (string?)store.Key("secret:"),
                BackplaneChannelPrefix = (string?)store.Key("secrets"),

                // No tags or Clear(): without them a memory hit never looks at Redis.
                DisableTagging = true,

                // No circuit breakers: RedisStore.IsAvailable decides when to go alone. A broken-open breaker would skip the
                // write of a fresh mint yet keep its distributed lock, holding every other instance until the lock expires.
                DistributedCacheCircuitBreakerDuration = TimeSpan.Zero,
                BackplaneCircuitBreakerDuration = TimeSpan.Zero,
            },
            _memory,
            new WarningsOnly<FusionCache>(loggers));
        _cache.SetupDistributedCache(new RedisCache(new RedisCacheOptions { ConnectionMultiplexerFactory = connection }), _sealer);
        _cache.SetupBackplane(new RedisBackplane(new RedisBackplaneOptions { ConnectionMultiplexerFactory = connection }, new WarningsOnly<RedisBackplane>(loggers)));
        _cache.SetupDistributedLocker(new RedisDistributedLocker(new RedisDistributedLockerOptions { ConnectionMultiplexerFactory = connection }, new WarningsOnly<RedisDistributedLocker>(loggers)));
        _cache.Events.Memory.Set += (_, _) => HeldSecretChanged?.Invoke();
        _cache.Events.Memory.Expire += (_, _) => HeldSecretChanged?.Invoke();
        _cache.Events.Memory.Remove += (_, _) => HeldSecretChanged?.Invoke();
    }

    /// <summary>
    /// Raised after this instance's memory copy of a shared secret changed: set here, or refreshed or expired by another
    /// instance's backplane message (a test waits on it to see a replacement arrive, not on a sleep).
    /// </summary>
    public event Action? HeldSecretChanged;

    public ClientSecret? Peek(string key) => _cache.TryGet<ClientSecret>(key, _fromMemory) is { HasValue: true } held ? held.Value : null;

    public void Forget(string key) => _cache.Remove(key, _fromMemory);

    public async Task<SharedSecretUpdate> UpdateSharedAsync(string key, Func<ClientSecret, bool> keep, Func<CancellationToken, Task<ClientSecret>> mint, CancellationToken cancellationToken)
    {
        if (!_store.IsAvailable)
        {
            // On its own: mint for this instance only (no lock to wait for, nothing to write where nobody can read it).
            var alone = await _cache.GetOrSetAsync<ClientSecret>(key, async (entry, ct) => LivesUntilExpiry(entry, await mint(ct)), _replaceHere, cancellationToken);
            return new SharedSecretUpdate(alone, Minted: true);
        }

        // Most updates find another instance's secret already stored: one read, no lock.
        if (await _cache.TryGetAsync<ClientSecret>(key, _fromStore, cancellationToken) is { HasValue: true } stored && keep(stored.Value))
        {
            await _cache.SetAsync(key, stored.Value, LocalEntry(stored.Value), cancellationToken);
            return new SharedSecretUpdate(stored.Value, Minted: false);
        }

        // Under the deployment-wide lock, look again: the instance that held it before us may have just stored a keeper.
        var minted = false;
        var secret = await _cache.GetOrSetAsync<ClientSecret>(key, async (entry, ct) =>
        {
            if (await _cache.TryGetAsync<ClientSecret>(key, _fromStore, ct) is { HasValue: true } latest && keep(latest.Value))
            {
                return LivesUntilExpiry(entry, latest.Value);
            }

            minted = true;
            return LivesUntilExpiry(entry, await mint(ct));
        }, _replaceEverywhere, cancellationToken);
        return new SharedSecretUpdate(secret, minted);
    }

    public async ValueTask<PoolTake> TakeFromPoolAsync(string key, Func<ClientSecret, bool> usable)
    {
        // Secrets minted alone while the store was away go first: nobody else can hand them out.
        var alone = await _alone.TakeFromPoolAsync(key, usable);
        if (alone.Secret is not null || !_store.IsAvailable)
        {
            return alone;
        }

        try
        {
            for (var attempt = 0; attempt <= _options.PoolSize; attempt++)
            {
                var taken = (RedisResult[])(await _store.Database.ScriptEvaluateAsync(TakeScript, [PoolKey(key)]))!;
                var level = (int)taken[1];
                if (taken[0].IsNull)
                {
                    return new PoolTake(null, level);
                }

                if (_sealer.Open((byte[])taken[0]!) is { } secret && usable(secret))
                {
                    return new PoolTake(secret, level);
                }
            }

            return new PoolTake(null, 0);
        }
        catch (Exception e) when (IsStoreFailure(e))
        {
            _store.ReportFailure(e);
            return alone;
        }
    }

    public async ValueTask<PoolPlace?> ReservePoolPlaceAsync(string key, int size)
    {
        if (_store.IsAvailable)
        {
            try
            {
                var claimed = (int)await _store.Database.ScriptEvaluateAsync(ReservePlaceScript, [PoolKey(key), FillingKey(key)], [size, (long)PlaceClaimLife.TotalMilliseconds]);
                return claimed == 1 ? SharedPlace : null;
            }
            catch (Exception e) when (IsStoreFailure(e))
            {
                _store.ReportFailure(e);
            }
        }

        return await _alone.ReservePoolPlaceAsync(key, size);
    }

    public async ValueTask<int> AddToPoolAsync(string key, PoolPlace place, ClientSecret secret)
    {
        if (place.Shared)
        {
            try
            {
                var life = (long)Math.Max(1_000, (secret.ExpiresOn - _time.GetUtcNow()).TotalMilliseconds);
                return (int)await _store.Database.ScriptEvaluateAsync(FillPlaceScript, [PoolKey(key), FillingKey(key)], [_sealer.Seal(secret), life]);
            }
            catch (Exception e) when (IsStoreFailure(e))
            {
                // The store went away during the mint: keep the secret here rather than waste it.
                _store.ReportFailure(e);
            }
        }

        return await _alone.AddToPoolAsync(key, place, secret);
    }

    public async ValueTask ReleasePoolPlaceAsync(string key, PoolPlace place)
    {
        if (!place.Shared)
        {
            await _alone.ReleasePoolPlaceAsync(key, place);
            return;
        }

        try
        {
            await _store.Database.ScriptEvaluateAsync(ReleasePlaceScript, [FillingKey(key)]);
        }
        catch (Exception e) when (IsStoreFailure(e))
        {
            // The claim expires on its own.
            _store.ReportFailure(e);
        }
    }

    public async ValueTask ClearPoolAsync(string key)
    {
        await _alone.ClearPoolAsync(key);
        try
        {
            await _store.Database.KeyDeleteAsync(PoolKey(key));
        }
        catch (Exception e) when (IsStoreFailure(e))
        {
            _store.ReportFailure(e);
        }
    }

    public void Dispose()
    {
        _cache.Dispose();
        _memory.Dispose();
    }

    /// <summary>Cached until the secret has less than the minimum life left, as <c>expires_at</c> says: never a guessed TTL.</summary>
    private ClientSecret LivesUntilExpiry(FusionCacheFactoryExecutionContext<ClientSecret> entry, ClientSecret secret)
    {
        entry.Options.Duration = LifeLeft(secret);
        return secret;
    }

    private FusionCacheEntryOptions LocalEntry(ClientSecret secret)
    {
        var local = _fromMemory.Duplicate();
        local.Duration = LifeLeft(secret);
        return local;
    }

    private TimeSpan LifeLeft(ClientSecret secret)
    {
        var left = secret.ExpiresOn - _options.MinimumSecretLife - _time.GetUtcNow();
        return left > TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1);
    }

    private RedisKey PoolKey(string key) => _store.Key("secret-pool:" + key);

    private RedisKey FillingKey(string key) => _store.Key("secret-pool-filling:" + key);

    private static bool IsStoreFailure(Exception e) => e is RedisException or TimeoutException or ObjectDisposedException;

    /// <summary>FusionCache narrates every call at Information; only its warnings and errors belong in the console's log.</summary>
    private sealed class WarningsOnly<T>(ILoggerFactory loggers) : ILogger<T>
    {
        private readonly ILogger _inner = loggers.CreateLogger<T>();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => _inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && _inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                _inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }

    /// <summary>
    /// The deployment's one connection, lent to FusionCache's Redis parts, which close the connection they are given when
    /// disposed: here closing is a no-op, and <see cref="RedisStore"/>, which owns the connection, ends it.
    /// </summary>
    internal class BorrowedConnection : DispatchProxy
    {
        private IConnectionMultiplexer? _owned;

        public static IConnectionMultiplexer Of(IConnectionMultiplexer connection)
        {
            var borrowed = Create<IConnectionMultiplexer, BorrowedConnection>();
            ((BorrowedConnection)(object)borrowed)._owned = connection;
            return borrowed;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => targetMethod?.Name switch
        {
            null => null,
            nameof(IDisposable.Dispose) or nameof(IConnectionMultiplexer.Close) => null,
            nameof(IAsyncDisposable.DisposeAsync) => ValueTask.CompletedTask,
            nameof(IConnectionMultiplexer.CloseAsync) => Task.CompletedTask,
            _ => Forward(targetMethod, args),
        };

        private object? Forward(MethodInfo method, object?[]? args)
        {
            try
            {
                return method.Invoke(_owned, args);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                throw;
            }
        }
    }
}
