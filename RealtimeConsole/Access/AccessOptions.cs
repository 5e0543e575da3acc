using System.ComponentModel.DataAnnotations;

namespace RealtimeConsole.Access;

/// <summary>How people sign in (<c>Auth:Mode</c>).</summary>
public enum AuthMode
{
    /// <summary>The default: a login link with a random token is logged at start-up; opening it signs in as admin.</summary>
    BrowserToken,

    /// <summary>Any OpenID Connect provider; roles come from a claim.</summary>
    OpenIdConnect,

    /// <summary>Everyone is admin. Only when set explicitly; every page says so.</summary>
    Unsecured,
}

/// <summary>The sign-in settings (section <c>Auth</c>).</summary>
public sealed class AccessOptions
{
    public const string Section = "Auth";

    public AuthMode Mode { get; set; } = AuthMode.BrowserToken;

    /// <summary>Pins the login link's token (for scripts); unset, a random one is made at each start.</summary>
    public string? BrowserToken { get; set; }

    /// <summary>How long a sign-in lasts before the auth cookie expires.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan CookieLifetime { get; set; } = TimeSpan.FromHours(12);

    /// <summary>The bearer key with which the <c>watch</c> verb and other instances read <c>/hubs/telemetry</c> and <c>/metrics</c>.</summary>
    public string? ApiKey { get; set; }

    public OpenIdConnectSettings OpenIdConnect { get; set; } = new();
}

/// <summary><c>Auth:OpenIdConnect</c>: the provider, this client's registration there, and where roles are read from.</summary>
public sealed class OpenIdConnectSettings
{
    public string? Authority { get; set; }

    public string? ClientId { get; set; }

    public string? ClientSecret { get; set; }

    public List<string> Scopes { get; set; } = ["openid", "profile"];

    /// <summary>The claim whose values are role names (<c>viewer</c>, <c>developer</c>, <c>admin</c>), or keys of <see cref="RoleMap"/>.</summary>
    public string RoleClaim { get; set; } = "role";

    /// <summary>Provider values (group names, app roles) to console roles, e.g. <c>"support": "viewer"</c>.</summary>
    public Dictionary<string, string> RoleMap { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Off only for a provider on loopback http (tests, a local Keycloak).</summary>
    public bool RequireHttpsMetadata { get; set; } = true;
}
