using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace RealtimeConsole.Deployment;

/// <summary>
/// One Data Protection key ring for the whole deployment, kept in Redis under one application name: what one instance
/// protects (antiforgery tokens, Blazor circuit state, the secrets the broker caches in Redis) any other can read.
/// </summary>
public static class SharedDataProtection
{
    /// <summary>The Redis key (under the deployment's prefix) of the key ring.</summary>
    public const string KeyRingKey = "data-protection-keys";

    /// <summary>Needs <see cref="RedisStore"/> in the container; <see cref="DeploymentFeature.AddDeploymentCore"/> calls it when the store is Redis.</summary>
    /// <param name="keyRingCertificates">Encrypt each key before it goes to Redis (<see cref="KeyRingCertificate"/>); null stores them as Data Protection writes them.</param>
    public static IServiceCollection AddSharedDataProtection(this IServiceCollection services, KeyRingCertificates? keyRingCertificates = null)
    {
        services.AddDataProtection().ProtectKeysWith(keyRingCertificates);

        // Read from the validated options rather than fixed at registration: every instance of one Deployment:Name is one application.
        services.AddOptions<DataProtectionOptions>()
            .Configure<IOptions<DeploymentOptions>>((protection, deployment) => protection.ApplicationDiscriminator = "RealtimeConsole:" + deployment.Value.Name);
        services.AddSingleton<SharedKeyRingRepository>();
        services.AddOptions<KeyManagementOptions>()
            .Configure<SharedKeyRingRepository>((keys, repository) => keys.XmlRepository = repository);
        return services;
    }
}

/// <summary>
/// The key ring in Redis, remembered here so that Redis being away never stops a page: while it does not answer, the ring
/// last read (and any key made meanwhile) serves. Whenever Redis answers again, every key this instance knows that Redis
/// lacks is written back: a key made meanwhile, and the whole ring if Redis restarted empty, so an instance started after
/// that reads the ring the running ones protect with instead of making a key of its own.
/// </summary>
public sealed partial class SharedKeyRingRepository : IXmlRepository
{
    private const string KeyElementName = "key";
    private const string RevocationElementName = "revocation";

    // Pairs of (Lua pattern matching the stored form of that element, element): adds only the keys and revocations the list
    // lacks, in one step, so instances restoring at the same moment add each once (Data Protection refuses a ring holding one
    // key id twice).
    private const string RestoreScript = """
        local held = redis.call('LRANGE', KEYS[1], 0, -1)
        local added = 0
        for i = 1, #ARGV, 2 do
          local present = false
          for _, item in ipairs(held) do
            if string.find(item, ARGV[i]) then present = true break end
          end
          if not present then
            redis.call('RPUSH', KEYS[1], ARGV[i + 1])
            added = added + 1
          end
        end
        return added
        """;

    private readonly RedisStore _store;
    private readonly RedisKey _ringKey;
    private readonly RedisXmlRepository _redis;
    private readonly ILogger<SharedKeyRingRepository> _logger;
    private readonly Lock _gate = new();

    // One restore at a time here, so callers that see Redis back together cost one script, not one each.
    private readonly Lock _restoring = new();

    // Every key and revocation this instance has read or made, by identity: what it serves beside the last read, and writes
    // back to a Redis that lacks them (a revoked key must not come back usable with a Redis restarted empty).
    private readonly Dictionary<string, XElement> _known = new(StringComparer.Ordinal);
    private IReadOnlyCollection<XElement> _lastRead = [];

    public SharedKeyRingRepository(RedisStore store, ILogger<SharedKeyRingRepository> logger)
    {
        _store = store;
        _logger = logger;
        _ringKey = store.Key(SharedDataProtection.KeyRingKey);
        _redis = new RedisXmlRepository(() => store.Database, _ringKey);
        // On UnreachableSince, not IsAvailable: the store may count as back a moment before its command connection is, and a
        // restore that fails then marks it unreachable again, so the next "back" tries once more.
        store.AvailabilityChanged += () =>
        {
            if (store.UnreachableSince is null)
            {
                _ = Task.Run(TryRestore);
            }
        };
    }

    /// <summary>Raised after each check of the ring in Redis against the keys known here, with how many were written back.</summary>
    public event Action<int>? Restored;

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        if (_store.IsAvailable)
        {
            try
            {
                Restore();
                var read = _redis.GetAllElements();
                lock (_gate)
                {
                    _lastRead = read;
                    Remember(read);
                }
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                _store.ReportFailure(e);
            }
        }

        lock (_gate)
        {
            var read = _lastRead.Select(IdentityOf).ToHashSet(StringComparer.Ordinal);
            return [.. _lastRead, .. _known.Where(k => !read.Contains(k.Key)).Select(k => k.Value)];
        }
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        lock (_gate)
        {
            Remember([element]);
        }

        // Unsaved while Redis is away: served from _known meanwhile, and written by the restore when it answers again.
        if (_store.IsAvailable)
        {
            try
            {
                _redis.StoreElement(element, friendlyName);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                _store.ReportFailure(e);
            }
        }
    }

    private void TryRestore()
    {
        try
        {
            Restore();
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            // Away again: the next time it answers, this runs again.
            _store.ReportFailure(e);
        }
    }

    private void Restore()
    {
        lock (_restoring)
        {
            XElement[] known;
            lock (_gate)
            {
                known = [.. _known.Values];
            }

            var added = 0;
            if (known.Length > 0)
            {
                var pairs = known.SelectMany(k => new RedisValue[] { StoredPattern(k), k.ToString(SaveOptions.DisableFormatting) }).ToArray();
                added = (int)_store.Database.ScriptEvaluate(RestoreScript, [_ringKey], pairs);
            }

            if (added > 0)
            {
                LogRestored(_logger, added);
            }

            Restored?.Invoke(added);
        }
    }

    private void Remember(IEnumerable<XElement> elements)
    {
        foreach (var element in elements)
        {
            if (IdentityOf(element) is { } identity)
            {
                _known.TryAdd(identity, element);
            }
        }
    }

    /// <summary>A key by its id; a revocation by the key it revokes (or "*", every key made before it) and its date; null for anything else.</summary>
    private static string? IdentityOf(XElement element) => element.Name.LocalName switch
    {
        KeyElementName => (string?)element.Attribute("id"),
        RevocationElementName => $"revocation {(string?)element.Element(KeyElementName)?.Attribute("id")} {(string?)element.Element("revocationDate")}",
        _ => null,
    };

    /// <summary>A Lua pattern matching the stored form of a key element of the same id, or of the same revocation.</summary>
    private static string StoredPattern(XElement element) => element.Name.LocalName == KeyElementName
        ? "^<key[^>]*%sid=\"" + LuaLiteral((string)element.Attribute("id")!) + "\""
        : "^<revocation.*<revocationDate>" + LuaLiteral((string?)element.Element("revocationDate") ?? "") + "</revocationDate>.*<key id=\""
            + LuaLiteral((string?)element.Element(KeyElementName)?.Attribute("id") ?? "") + "\"";

    /// <summary>Matches <paramref name="text"/> literally in a Lua pattern (every punctuation character escaped with %).</summary>
    private static string LuaLiteral(string text) => string.Concat(text.Select(c => char.IsAsciiLetterOrDigit(c) ? c.ToString() : "%" + c));

    [LoggerMessage(Level = LogLevel.Warning, Message = "The shared store lacked {Count} Data Protection key(s) or revocation(s) this instance holds (made while it was unreachable, or lost when Redis restarted empty); wrote them back.")]
    private static partial void LogRestored(ILogger logger, int count);
}
