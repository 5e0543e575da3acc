using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace RealtimeConsole.Access;

/// <summary>
/// Who may do what: sign-in (<see cref="AuthMode"/>), the role policies (<see cref="AccessPolicies"/>), the bearer API key
/// for machines, and the client address behind a known proxy.
/// </summary>
public static class AccessFeature
{
    public const string CookieName = "RealtimeConsole.Auth";

    public static WebApplicationBuilder AddConsoleAccess(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<AccessOptions>().BindConfiguration(AccessOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.Mode != AuthMode.OpenIdConnect || (!string.IsNullOrWhiteSpace(o.OpenIdConnect.Authority) && !string.IsNullOrWhiteSpace(o.OpenIdConnect.ClientId)),
                "Auth:Mode=OpenIdConnect needs Auth:OpenIdConnect:Authority and Auth:OpenIdConnect:ClientId.")
            .ValidateOnStart();
        var access = builder.Configuration.GetSection(AccessOptions.Section).Get<AccessOptions>() ?? new AccessOptions();

        services.AddSingleton<AccessMetrics>();
        services.AddSingleton<BrowserLoginToken>();
        services.AddSingleton<ConsoleActionGuard>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, RefusalRecordingResultHandler>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(AccessMetrics.MeterName));
        services.AddCascadingAuthenticationState();
        AddForwardedHeaders(builder);

        var interactive = access.Mode == AuthMode.Unsecured ? UnsecuredAuthenticationHandler.SchemeName : CookieAuthenticationDefaults.AuthenticationScheme;
        var auth = services.AddAuthentication(options =>
        {
            options.DefaultScheme = interactive;
            options.DefaultChallengeScheme = access.Mode == AuthMode.OpenIdConnect ? OpenIdConnectSignIn.SchemeName : interactive;
            options.DefaultForbidScheme = interactive;
        });
        auth.AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        auth.AddScheme<AuthenticationSchemeOptions, UnsecuredAuthenticationHandler>(UnsecuredAuthenticationHandler.SchemeName, null);
        auth.AddCookie(CookieAuthenticationDefaults.AuthenticationScheme, options =>
        {
            options.Cookie.Name = CookieName;
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Lax;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.ExpireTimeSpan = access.CookieLifetime;
            options.SlidingExpiration = true;
            options.LoginPath = BrowserTokenLogin.LoginPath;
            options.Events.OnRedirectToLogin = context => AccessResponses.IsApiRequest(context.Request)
                ? AccessResponses.WriteUnauthorizedAsync(context.HttpContext)
                : BrowserTokenLogin.LoginPage(wrongToken: false).ExecuteAsync(context.HttpContext);
            options.Events.OnRedirectToAccessDenied = context => AccessResponses.IsApiRequest(context.Request)
                ? AccessResponses.WriteForbiddenAsync(context.HttpContext)
                : AccessDenied(context.HttpContext);
        });
        if (access.Mode == AuthMode.OpenIdConnect)
        {
            OpenIdConnectSignIn.Add(auth, access.OpenIdConnect);
        }

        // Expiry is read on the app's clock, so tests move a FakeTimeProvider past it.
        services.AddOptions<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme)
            .PostConfigure<TimeProvider>((options, time) => options.TimeProvider = time);

        string[] machineSchemes = access.Mode == AuthMode.Unsecured ? [UnsecuredAuthenticationHandler.SchemeName] : [ApiKeyAuthenticationHandler.SchemeName];
        string[] readerSchemes = access.Mode == AuthMode.Unsecured ? [UnsecuredAuthenticationHandler.SchemeName] : [ApiKeyAuthenticationHandler.SchemeName, CookieAuthenticationDefaults.AuthenticationScheme];
        services.AddAuthorizationBuilder()
            .AddPolicy(AccessPolicies.Viewer, policy => policy.RequireRole(ConsoleRoles.Viewer, ConsoleRoles.Developer, ConsoleRoles.Admin))
            .AddPolicy(AccessPolicies.Developer, policy => policy.RequireRole(ConsoleRoles.Developer, ConsoleRoles.Admin))
            .AddPolicy(AccessPolicies.Admin, policy => policy.RequireRole(ConsoleRoles.Admin))
            .AddPolicy(AccessPolicies.SignedIn, policy => policy.RequireAuthenticatedUser())
            .AddPolicy(AccessPolicies.TelemetryWatcher, policy => policy.AddAuthenticationSchemes(machineSchemes).RequireRole(ConsoleRoles.Viewer, ConsoleRoles.Developer, ConsoleRoles.Admin))
            .AddPolicy(AccessPolicies.TelemetryReader, policy => policy.AddAuthenticationSchemes(readerSchemes).RequireRole(ConsoleRoles.Viewer, ConsoleRoles.Developer, ConsoleRoles.Admin));
        return builder;
    }

    public static WebApplication MapConsoleAccess(this WebApplication app)
    {
        // With both lists empty the middleware would believe every sender, so no trusted proxy means no middleware.
        var forwarding = app.Services.GetRequiredService<IOptions<ForwardedHeadersOptions>>().Value;
        if (forwarding.KnownProxies.Count > 0 || forwarding.KnownIPNetworks.Count > 0)
        {
            app.UseForwardedHeaders();
        }


        app.UseAuthentication();
        app.UseAuthorization();
        BrowserTokenLogin.Map(app);
        BrowserTokenLogin.LogStartLines(app);
        return app;
    }

    private static Task AccessDenied(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        var result = new Microsoft.AspNetCore.Http.HttpResults.RazorComponentResult<AccessDeniedPage>(new Dictionary<string, object?>
        {
            [nameof(AccessDeniedPage.User)] = context.User.Identity?.Name,
            [nameof(AccessDeniedPage.Role)] = ConsoleRoles.Highest(context.User),
        })
        { StatusCode = StatusCodes.Status403Forbidden };
        return result.ExecuteAsync(context);
    }

    /// <summary>
    /// <c>X-Forwarded-For</c>/<c>-Proto</c> are believed only from <c>ForwardedHeaders:KnownProxies</c> (addresses) and
    /// <c>ForwardedHeaders:KnownNetworks</c> (CIDR); with neither set, no proxy is trusted, loopback included (see <see cref="MapConsoleAccess"/>).
    /// </summary>
    private static void AddForwardedHeaders(WebApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection("ForwardedHeaders");
        var proxies = section.GetSection("KnownProxies").Get<string[]>() ?? [];
        var networks = section.GetSection("KnownNetworks").Get<string[]>() ?? [];
        builder.Services.Configure<ForwardedHeadersOptions>(options =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
#pragma warning disable ASPDEPR005 // The obsolete list still holds 127.0.0.0/8 by default, and the middleware still reads it.
            options.KnownNetworks.Clear();
#pragma warning restore ASPDEPR005
            foreach (var proxy in proxies)
            {
                options.KnownProxies.Add(IPAddress.TryParse(proxy, out var address) ? address
                    : throw new OptionsValidationException("ForwardedHeaders", typeof(ForwardedHeadersOptions), [$"ForwardedHeaders:KnownProxies has '{proxy}', which is not an IP address."]));
            }

            foreach (var network in networks)
            {
                options.KnownIPNetworks.Add(System.Net.IPNetwork.TryParse(network, out var parsed) ? parsed
                    : throw new OptionsValidationException("ForwardedHeaders", typeof(ForwardedHeadersOptions), [$"ForwardedHeaders:KnownNetworks has '{network}', which is not a CIDR network such as 10.0.0.0/8."]));
            }
        });
    }
}
