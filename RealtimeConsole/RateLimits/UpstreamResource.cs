using System.Text.Json.Serialization;

namespace RealtimeConsole.RateLimits;

/// <summary>What an upstream request draws on; each has its own budget and its own counters.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<UpstreamResource>))]
public enum UpstreamResource
{
    [JsonStringEnumMemberName("client_secrets")]
    ClientSecrets,

    [JsonStringEnumMemberName("calls")]
    Calls,

    /// <summary>Response triggers inside a live session, reported by the browser from <c>rate_limits.updated</c>.</summary>
    [JsonStringEnumMemberName("responses")]
    Responses,
}

public static class UpstreamResourceNames
{
    public static string ToWireName(this UpstreamResource resource) => resource switch
    {
        UpstreamResource.ClientSecrets => "client_secrets",
        UpstreamResource.Calls => "calls",
        _ => "responses",
    };
}
