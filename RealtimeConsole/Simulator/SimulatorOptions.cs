namespace RealtimeConsole.Simulator;

/// <summary>The simulator's settings (section <c>Simulator</c>).</summary>
public sealed class SimulatorOptions
{
    public const string Section = "Simulator";

    /// <summary>The standard API key the simulator accepts (<c>Simulator:ApiKey</c>).</summary>
    public string ApiKey { get; set; } = "sk-sim-local";

    /// <summary>The one organization every key belongs to; it names the rate-limit budget in error messages.</summary>
    public string OrganizationId { get; set; } = "org-sim";

    /// <summary>The model named in rate-limit messages and used when a session names none.</summary>
    public string Model { get; set; } = "gpt-realtime";

    /// <summary>Serve the retired beta shapes (<c>/v1/realtime/sessions</c>, <c>/v1/realtime?model=</c>) to reproduce older apps.</summary>
    public bool LegacyBetaShapes { get; set; }

    /// <summary>
    /// Whether one ephemeral key may open several sessions (<c>Allowed</c>, as the spec says) or only one (<c>SingleUse</c>,
    /// as users report live: a reused key refused with 401 at <c>/calls</c> before its expiry).
    /// </summary>
    public SimulatorSecretReuse SecretReuse { get; set; } = SimulatorSecretReuse.Allowed;

    /// <summary>Failed requests (400, 413, 415...) use up the budget too, as OpenAI's do.</summary>
    public bool CountFailedRequests { get; set; } = true;

    /// <summary>The organization's tokens per minute for responses (<c>rate_limits.updated</c>, <c>x-ratelimit-*-tokens</c>); gpt-realtime's tier-1 TPM.</summary>
    public int TokensPerMinute { get; set; } = 40_000;

    /// <summary>Requests per minute per limited resource at start-up and after a reset of the limits.</summary>
    public SimulatorRequestsPerMinute RequestsPerMinute { get; set; } = new();
}

public enum SimulatorSecretReuse
{
    Allowed,
    SingleUse,
}

public sealed class SimulatorRequestsPerMinute
{
    public int ClientSecrets { get; set; } = 60;

    public int Calls { get; set; } = 60;

    public int Responses { get; set; } = 60;

    public int For(SimulatorResource resource) => resource switch
    {
        SimulatorResource.ClientSecrets => ClientSecrets,
        SimulatorResource.Calls => Calls,
        _ => Responses,
    };
}

/// <summary>A rate-limited resource of the organization.</summary>
public enum SimulatorResource
{
    ClientSecrets,
    Calls,
    Responses,
}

public static class SimulatorResources
{
    public static readonly SimulatorResource[] All = [SimulatorResource.ClientSecrets, SimulatorResource.Calls, SimulatorResource.Responses];

    /// <summary>The wire name: <c>client_secrets</c>, <c>calls</c>, <c>responses</c>.</summary>
    public static string Name(this SimulatorResource resource) => resource switch
    {
        SimulatorResource.ClientSecrets => "client_secrets",
        SimulatorResource.Calls => "calls",
        _ => "responses",
    };

    public static bool TryParse(string? name, out SimulatorResource resource)
    {
        foreach (var candidate in All)
        {
            if (string.Equals(candidate.Name(), name, StringComparison.OrdinalIgnoreCase))
            {
                resource = candidate;
                return true;
            }
        }

        resource = default;
        return false;
    }
}
