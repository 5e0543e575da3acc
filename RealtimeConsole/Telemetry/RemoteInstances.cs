namespace RealtimeConsole.Telemetry;

/// <summary>An instance the dashboard may watch: its name in the picker, its address, and the API key its hub expects.</summary>
public sealed record RemoteInstance(string Name, Uri Url, string? ApiKey);

/// <summary><c>Telemetry:RemoteInstances</c>: the only addresses the server connects to when a user watches another instance.</summary>
public sealed class RemoteInstancesOptions
{
    public const string Section = "Telemetry";

    public List<RemoteInstanceSettings> RemoteInstances { get; set; } = [];

    public IReadOnlyList<RemoteInstance> Instances() =>
        [.. RemoteInstances.Select(i => TelemetryHubClient.TryInstanceUri(i.Url, out var root) ? new RemoteInstance(i.Name!.Trim(), root, string.IsNullOrEmpty(i.ApiKey) ? null : i.ApiKey) : null).OfType<RemoteInstance>()];

    /// <summary>Every entry has a name, unique, and an http(s) address.</summary>
    public bool IsValid() =>
        RemoteInstances.All(i => !string.IsNullOrWhiteSpace(i.Name) && TelemetryHubClient.TryInstanceUri(i.Url, out _))
        && RemoteInstances.Select(i => i.Name!.Trim()).Distinct(StringComparer.OrdinalIgnoreCase).Count() == RemoteInstances.Count;
}

public sealed class RemoteInstanceSettings
{
    public string? Name { get; set; }

    public string? Url { get; set; }

    /// <summary>The remote instance's <c>Auth:ApiKey</c>, sent as a bearer token to it and nowhere else.</summary>
    public string? ApiKey { get; set; }
}
