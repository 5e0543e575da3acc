using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace RealtimeConsole.Deployment;

/// <summary>
/// Which deployment this instance belongs to: its <see cref="ConsoleInstance"/> identity, and with <c>Realtime:Store=Redis</c>
/// (or <c>ConnectionStrings:Redis</c>) the <see cref="RedisStore"/> every shared part uses. Features that share state ask
/// for <see cref="RedisStore"/> with <c>GetService</c>: absent means one process on its own.
/// </summary>
public static class DeploymentFeature
{
    public static WebApplicationBuilder AddDeployment(this WebApplicationBuilder builder)
    {
        builder.Services.AddDeploymentCore(builder.Configuration);
        return builder;
    }

    /// <summary>The deployment's services for any container (the bench builds one per simulated instance).</summary>
    public static IServiceCollection AddDeploymentCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DeploymentOptions>().BindConfiguration(DeploymentOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<DeploymentMembers>();
        services.AddSingleton(sp => new ConsoleInstance(sp.GetRequiredService<IOptions<DeploymentOptions>>().Value.InstanceId, sp.GetRequiredService<TimeProvider>().GetUtcNow()));

        // Loaded now, like the connection string below: a certificate that cannot work stops the start in words.
        var keyRingCertificates = KeyRingCertificate.Load(configuration);
        if (DeploymentOptions.ResolveStore(configuration) == StateStoreKind.Redis)
        {
            // Parsed now, so a connection string that cannot work stops the start with words instead of a stack trace later.
            var connectionString = configuration.GetConnectionString("Redis");
            var timeout = configuration.GetValue<TimeSpan?>($"{DeploymentOptions.Section}:{nameof(DeploymentOptions.RedisTimeout)}") ?? new DeploymentOptions().RedisTimeout;
            DeploymentOptions.ParseRedis(connectionString, timeout);
            services.AddSingleton(sp =>
            {
                var options = sp.GetRequiredService<IOptions<DeploymentOptions>>().Value;
                return new RedisStore(DeploymentOptions.ParseRedis(connectionString, options.RedisTimeout), options.Name,
                    sp.GetRequiredService<ConsoleInstance>().Id, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<RedisStore>>());
            });
            services.AddSingleton<DeploymentHeartbeat>();
            services.AddHostedService(sp => sp.GetRequiredService<DeploymentHeartbeat>());
            services.AddHealthChecks().AddCheck<SharedStoreHealthCheck>(SharedStoreHealthCheck.Name);
            services.AddSharedDataProtection(keyRingCertificates);
        }
        else if (keyRingCertificates is not null)
        {
            // Alone, the key ring lives in the default folder: encrypted there too.
            services.AddDataProtection().ProtectKeysWith(keyRingCertificates);
        }

        return services;
    }

    /// <summary>Whether this container shares state through Redis (decided at registration, before any service is built).</summary>
    public static bool HasSharedStore(this IServiceCollection services) => services.Any(s => s.ServiceType == typeof(RedisStore));

    public static WebApplication MapDeployment(this WebApplication app)
    {
        var instance = app.Services.GetRequiredService<ConsoleInstance>();
        app.Lifetime.ApplicationStarted.Register(() =>
            instance.MarkStarted(app.Services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()));
        return app;
    }
}
