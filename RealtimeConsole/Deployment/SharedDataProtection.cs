using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.Extensions.Options;

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
        services.AddOptions<KeyManagementOptions>()
            .Configure<RedisStore>((keys, store) => keys.XmlRepository = new RedisXmlRepository(() => store.Database, store.Key(KeyRingKey)));
        return services;
    }
}
