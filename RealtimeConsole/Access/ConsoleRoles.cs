using System.Security.Claims;

namespace RealtimeConsole.Access;

/// <summary>The three roles; each includes what the ones before it may do.</summary>
public static class ConsoleRoles
{
    public const string Viewer = "viewer";
    public const string Developer = "developer";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Viewer, Developer, Admin];

    /// <summary>The highest role the user holds, or null for none.</summary>
    public static string? Highest(ClaimsPrincipal user) => All.LastOrDefault(user.IsInRole);

    public static ClaimsPrincipal Principal(string authenticationType, string? name, string role)
    {
        var claims = new List<Claim> { new(ClaimTypes.Role, role) };
        if (name is not null)
        {
            claims.Add(new Claim(ClaimTypes.Name, name));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, authenticationType, ClaimTypes.Name, ClaimTypes.Role));
    }
}

/// <summary>The authorization policies every endpoint, hub method and page names.</summary>
public static class AccessPolicies
{
    /// <summary><c>/limits</c>, exports, telemetry, watching remote instances.</summary>
    public const string Viewer = "viewer";

    /// <summary>The voice page: client secrets and calls.</summary>
    public const string Developer = "developer";

    /// <summary>Broker mode, reset, force refresh, the simulator and its admin API.</summary>
    public const string Admin = "admin";

    /// <summary>Anyone signed in, whatever their role: the Blazor circuit itself.</summary>
    public const string SignedIn = "signed-in";

    /// <summary>Telemetry read by machines: the <c>watch</c> verb and remote dashboards, with the bearer API key only.</summary>
    public const string TelemetryWatcher = "telemetry-watcher";

    /// <summary>Telemetry read by a signed-in viewer or by a machine with the API key: <c>/api/telemetry</c>, exports, <c>/metrics</c>.</summary>
    public const string TelemetryReader = "telemetry-reader";
}
