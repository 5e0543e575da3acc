using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;

namespace RealtimeConsole.Access;

/// <summary><c>Auth:Mode=OpenIdConnect</c>: the code flow with PKCE against any provider; roles read from one configurable claim.</summary>
public static class OpenIdConnectSignIn
{
    public const string SchemeName = OpenIdConnectDefaults.AuthenticationScheme;

    public static void Add(AuthenticationBuilder auth, OpenIdConnectSettings settings)
    {
        auth.AddOpenIdConnect(SchemeName, options =>
        {
            options.Authority = settings.Authority;
            options.ClientId = settings.ClientId;
            options.ClientSecret = settings.ClientSecret;
            options.RequireHttpsMetadata = settings.RequireHttpsMetadata;
            options.SignInScheme = CookieAuthenticationDefaults.AuthenticationScheme;
            options.ResponseType = "code";
            options.UsePkce = true;
            // A top-level GET back from the provider carries SameSite=Lax cookies; form_post (a cross-site POST) would not.
            options.ResponseMode = "query";
            options.CorrelationCookie.SameSite = SameSiteMode.Lax;
            options.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.NonceCookie.SameSite = SameSiteMode.Lax;
            options.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.MapInboundClaims = false;
            options.GetClaimsFromUserInfoEndpoint = true;
            options.SaveTokens = false;
            options.Scope.Clear();
            foreach (var scope in settings.Scopes)
            {
                options.Scope.Add(scope);
            }

            options.ClaimActions.MapJsonKey(settings.RoleClaim, settings.RoleClaim);
            options.Events.OnRedirectToIdentityProvider = context =>
            {
                if (AccessResponses.IsApiRequest(context.Request))
                {
                    context.HandleResponse();
                    return AccessResponses.WriteUnauthorizedAsync(context.HttpContext);
                }

                return Task.CompletedTask;
            };
            options.Events.OnTicketReceived = context =>
            {
                context.Principal = ToConsoleUser(context.Principal!, settings);
                var logger = context.HttpContext.RequestServices.GetRequiredService<ILogger<OpenIdConnectSettings>>();
                AccessLog.SignedIn(logger, context.Principal.Identity!.Name!, ConsoleRoles.Highest(context.Principal) ?? "no role", AccessResponses.Address(context.HttpContext), "openid_connect");
                return Task.CompletedTask;
            };
            options.Events.OnRemoteFailure = async context =>
            {
                var services = context.HttpContext.RequestServices;
                services.GetRequiredService<AccessMetrics>().SignInFailed("openid_connect");
                AccessLog.SignInFailed(services.GetRequiredService<ILogger<OpenIdConnectSettings>>(), "openid_connect", AccessResponses.Address(context.HttpContext), context.Failure?.Message ?? "unknown");
                context.HandleResponse();
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.ContentType = "text/plain; charset=utf-8";
                await context.Response.WriteAsync("Sign-in through the identity provider failed. Open / to try again.");
            };
        });
    }

    /// <summary>
    /// The console's user: named after <c>preferred_username</c> (else <c>name</c>, <c>email</c>, <c>sub</c>), with the console
    /// roles that the role claim's values name directly or through <see cref="OpenIdConnectSettings.RoleMap"/>.
    /// </summary>
    public static ClaimsPrincipal ToConsoleUser(ClaimsPrincipal provider, OpenIdConnectSettings settings)
    {
        var name = new[] { "preferred_username", "name", "email", "sub" }.Select(provider.FindFirst).FirstOrDefault(c => c is { Value.Length: > 0 })?.Value ?? "unknown";
        var roles = provider.FindAll(settings.RoleClaim)
            .SelectMany(claim => SplitValues(claim.Value))
            .Select(value => settings.RoleMap.TryGetValue(value, out var mapped) ? mapped : value)
            .Where(role => ConsoleRoles.All.Contains(role, StringComparer.Ordinal))
            .Distinct();

        var claims = new List<Claim> { new(ClaimTypes.Name, name) };
        if (provider.FindFirst("sub") is { } subject)
        {
            claims.Add(new Claim("sub", subject.Value));
        }

        claims.AddRange(roles.Select(role => new Claim(ClaimTypes.Role, role)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName, ClaimTypes.Name, ClaimTypes.Role));
    }

    /// <summary>A claim value may itself be a JSON array (<c>["viewer","developer"]</c>), as some providers send roles.</summary>
    private static IEnumerable<string> SplitValues(string value)
    {
        if (!value.StartsWith('['))
        {
            return [value];
        }

        try
        {
            return JsonSerializer.Deserialize<string[]>(value) ?? [];
        }
        catch (JsonException)
        {
            return [value];
        }
    }
}
