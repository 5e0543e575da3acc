using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace RealtimeConsole.Access;

/// <summary>The token of the login link: <c>Auth:BrowserToken</c> when pinned, else random for this run.</summary>
public sealed class BrowserLoginToken(IOptions<AccessOptions> options)
{
    public string Value { get; } = options.Value.BrowserToken is { Length: > 0 } pinned ? pinned : Base64Url(RandomNumberGenerator.GetBytes(24));

    public bool Matches(string? presented) => presented is { Length: > 0 } && ApiKeyAuthenticationHandler.SameKey(presented, Value);

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary><c>GET /login?t=…</c>: the right token sets the auth cookie (admin); anything else gets the page saying where the link is.</summary>
public static class BrowserTokenLogin
{
    public const string LoginPath = "/login";

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet(LoginPath, LoginAsync).AllowAnonymous();

    private static async Task<IResult> LoginAsync(
        HttpContext context, IOptions<AccessOptions> options, BrowserLoginToken token, AccessMetrics metrics, ILogger<BrowserLoginToken> logger)
    {
        var mode = options.Value.Mode;
        if (mode == AuthMode.Unsecured)
        {
            return Results.LocalRedirect("/");
        }

        if (mode == AuthMode.OpenIdConnect)
        {
            return Results.Challenge(new AuthenticationProperties { RedirectUri = "/" }, [OpenIdConnectSignIn.SchemeName]);
        }

        var presented = context.Request.Query["t"].ToString();
        if (!token.Matches(presented))
        {
            if (presented.Length > 0)
            {
                metrics.SignInFailed("browser_token");
                AccessLog.SignInFailed(logger, "browser_token", AccessResponses.Address(context), "the login link's token is wrong");
            }

            return LoginPage(presented.Length > 0);
        }

        var user = "browser-token-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, ConsoleRoles.Principal(CookieAuthenticationDefaults.AuthenticationScheme, user, ConsoleRoles.Admin));
        AccessLog.SignedIn(logger, user, ConsoleRoles.Admin, AccessResponses.Address(context), "browser_token");
        return Results.LocalRedirect("/");
    }

    /// <summary>The login page at status 401: what went wrong and where the link is printed.</summary>
    public static RazorComponentResult<LoginPage> LoginPage(bool wrongToken) =>
        new(new Dictionary<string, object?> { [nameof(Access.LoginPage.WrongToken)] = wrongToken }) { StatusCode = StatusCodes.Status401Unauthorized };

    /// <summary>Once listening: the login link (BrowserToken), or a warning when Unsecured reaches beyond loopback.</summary>
    public static void LogStartLines(WebApplication app)
    {
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var options = app.Services.GetRequiredService<IOptions<AccessOptions>>().Value;
            var logger = app.Services.GetRequiredService<ILogger<BrowserLoginToken>>();
            var addresses = app.Services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
            if (options.Mode == AuthMode.BrowserToken)
            {
                var token = app.Services.GetRequiredService<BrowserLoginToken>().Value;
                AccessLog.LoginLink(logger, LoginUrl(addresses.FirstOrDefault() ?? "http://localhost", token));
            }
            else if (options.Mode == AuthMode.Unsecured)
            {
                var listed = string.Join(", ", addresses);
                if (addresses.Any(a => !IsLoopback(a)))
                {
                    AccessLog.UnsecuredBeyondLoopback(logger, listed);
                }
                else
                {
                    AccessLog.UnsecuredOnLoopback(logger, listed);
                }
            }
        });
    }

    /// <summary><c>http://localhost:5080/login?t=…</c> for a server address; a wildcard host (<c>0.0.0.0</c>, <c>[::]</c>, <c>+</c>, <c>*</c>) reads as localhost.</summary>
    public static string LoginUrl(string serverAddress, string token)
    {
        var address = serverAddress.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal);
        var uri = new UriBuilder(address);
        if (uri.Host is "0.0.0.0" or "[::]" or "::")
        {
            uri.Host = "localhost";
        }

        return $"{uri.Scheme}://{uri.Host}:{uri.Port}{LoginPath}?t={Uri.EscapeDataString(token)}";
    }

    public static bool IsLoopback(string serverAddress)
    {
        if (!Uri.TryCreate(serverAddress.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri))
        {
            return false;
        }

        return uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
    }
}
