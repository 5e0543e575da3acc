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
    public static IServiceCollection AddSharedDataProtection(this IServiceCollection services)
    {
        services.AddDataProtection();

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
/// last read (and any key made meanwhile) serves; a key made meanwhile is written to Redis as soon as it answers again.
/// </summary>
public sealed class SharedKeyRingRepository : IXmlRepository
{
    private readonly RedisStore _store;
    private readonly RedisXmlRepository _redis;
    private readonly Lock _gate = new();

    // One writer at a time, so a key made while Redis was away is written once, not once per caller that saw it back.
    private readonly Lock _saving = new();
    private readonly List<(XElement Element, string FriendlyName)> _unsaved = [];
    private IReadOnlyCollection<XElement> _lastRead = [];

    public SharedKeyRingRepository(RedisStore store)
    {
        _store = store;
        _redis = new RedisXmlRepository(() => store.Database, store.Key(SharedDataProtection.KeyRingKey));
        store.AvailabilityChanged += () =>
        {
            if (store.IsAvailable)
            {
                _ = Task.Run(SaveUnsaved);
            }
        };
    }

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        if (_store.IsAvailable)
        {
            try
            {
                SaveUnsaved();
                var read = _redis.GetAllElements();
                lock (_gate)
                {
                    _lastRead = read;
                }
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                _store.ReportFailure(e);
            }
        }

        lock (_gate)
        {
            return [.. _lastRead, .. _unsaved.Select(u => u.Element)];
        }
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        if (_store.IsAvailable)
        {
            try
            {
                _redis.StoreElement(element, friendlyName);
                return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                _store.ReportFailure(e);
            }
        }

        lock (_gate)
        {
            _unsaved.Add((element, friendlyName));
        }
    }

    private void SaveUnsaved()
    {
        lock (_saving)
        {
            SaveUnsavedOnce();
        }
    }

    private void SaveUnsavedOnce()
    {
        (XElement Element, string FriendlyName)[] pending;
        lock (_gate)
        {
            pending = [.. _unsaved];
        }

        foreach (var (element, friendlyName) in pending)
        {
            try
            {
                _redis.StoreElement(element, friendlyName);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                _store.ReportFailure(e);
                return;
            }

            lock (_gate)
            {
                _unsaved.Remove((element, friendlyName));
                _lastRead = [.. _lastRead, element];
            }
        }
    }
}
