using System.ComponentModel.DataAnnotations;
using StackExchange.Redis;

namespace RealtimeConsole.Deployment;

/// <summary>Where the broker keeps its state: in this process, or in Redis shared by every instance of one deployment.</summary>
public enum StateStoreKind
{
    Memory,
    Redis,
}

/// <summary>
/// How this instance joins a deployment. <c>Realtime:Store</c> picks the store (Redis whenever <c>ConnectionStrings:Redis</c>
/// is set, unless it says Memory); <c>Deployment:Name</c> keeps two deployments on one Redis apart.
/// </summary>
public sealed class DeploymentOptions
{
    public const string Section = "Deployment";

    /// <summary>Shared by every instance of one deployment; prefixes every Redis key and channel.</summary>
    [Required, RegularExpression("^[A-Za-z0-9._-]{1,64}$", ErrorMessage = "Deployment:Name may use letters, digits, '.', '_' and '-' (at most 64).")]
    public string Name { get; set; } = "realtime-console";

    /// <summary>This instance's id in telemetry, on <c>/limits</c> and as OpenTelemetry's <c>service.instance.id</c>; made up at start when empty.</summary>
    [RegularExpression("^[A-Za-z0-9._:-]{1,100}$", ErrorMessage = "Deployment:InstanceId may use letters, digits, '.', '_', ':' and '-' (at most 100).")]
    public string? InstanceId { get; set; }

    /// <summary>How often an instance says it is alive (and publishes its telemetry) in the shared store.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>An instance not heard from for this long is no longer counted among the live ones.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:10:00")]
    public TimeSpan InstanceTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one Redis operation may take before the instance treats the store as unreachable and runs on its own.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:30")]
    public TimeSpan RedisTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The store the configuration asks for.</summary>
    public static StateStoreKind ResolveStore(IConfiguration configuration)
    {
        var store = configuration["Realtime:Store"];
        if (string.IsNullOrWhiteSpace(store))
        {
            return string.IsNullOrWhiteSpace(configuration.GetConnectionString("Redis")) ? StateStoreKind.Memory : StateStoreKind.Redis;
        }

        return Enum.TryParse<StateStoreKind>(store, ignoreCase: true, out var kind)
            ? kind
            : throw new DeploymentConfigurationException($"Realtime:Store is '{store}'; it must be Memory or Redis.");
    }

    /// <summary>Reads <c>ConnectionStrings:Redis</c> into client options, or says in words what is wrong with it.</summary>
    public static ConfigurationOptions ParseRedis(string? connectionString, TimeSpan operationTimeout)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new DeploymentConfigurationException("Realtime:Store is Redis but ConnectionStrings:Redis is empty; set it (for example \"127.0.0.1:6379\").");
        }

        ConfigurationOptions options;
        try
        {
            options = ConfigurationOptions.Parse(connectionString);
        }
        catch (ArgumentException e)
        {
            throw new DeploymentConfigurationException($"ConnectionStrings:Redis cannot be read: {e.Message}");
        }

        if (options.EndPoints.Count == 0)
        {
            throw new DeploymentConfigurationException("ConnectionStrings:Redis names no server; give host:port (for example \"127.0.0.1:6379\").");
        }

        // Start and keep retrying in the background: an unreachable Redis means degraded, never a process that will not start.
        options.AbortOnConnectFail = false;
        var milliseconds = (int)operationTimeout.TotalMilliseconds;
        if (!connectionString.Contains("asyncTimeout", StringComparison.OrdinalIgnoreCase))
        {
            options.AsyncTimeout = milliseconds;
        }

        if (!connectionString.Contains("syncTimeout", StringComparison.OrdinalIgnoreCase))
        {
            options.SyncTimeout = milliseconds;
        }

        if (!connectionString.Contains("connectTimeout", StringComparison.OrdinalIgnoreCase))
        {
            options.ConnectTimeout = Math.Max(milliseconds, 2_000);
        }

        return options;
    }
}

/// <summary>A deployment setting that cannot work, in words for the person starting the console.</summary>
public sealed class DeploymentConfigurationException(string message) : Exception(message);
