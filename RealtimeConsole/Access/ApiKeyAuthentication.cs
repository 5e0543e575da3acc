using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace RealtimeConsole.Access;

/// <summary>
/// <c>Authorization: Bearer &lt;Auth:ApiKey&gt;</c> signs a machine in as <c>viewer</c>: the <c>watch</c> verb, another instance's
/// remote watcher, a metrics scraper. Never a cookie; no key configured means nobody signs in this way.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    IOptions<AccessOptions> access,
    AccessMetrics metrics) : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";

    private readonly ILogger _log = loggerFactory.CreateLogger<ApiKeyAuthenticationHandler>();

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var presented = header["Bearer ".Length..].Trim();
        if (access.Value.ApiKey is not { Length: > 0 } expected || !SameKey(presented, expected))
        {
            metrics.SignInFailed("api_key");
            AccessLog.SignInFailed(_log, "api_key", AccessResponses.Address(Context), "the bearer token is not this console's API key");
            return Task.FromResult(AuthenticateResult.Fail("The bearer token is not this console's API key."));
        }

        var principal = ConsoleRoles.Principal(SchemeName, "api-key", ConsoleRoles.Viewer);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        // Headers only: a cookie scheme challenged after this one writes the JSON body.
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        return Task.CompletedTask;
    }

    /// <summary>Compared as hashes in fixed time, so neither the key's content nor its length leaks through timing.</summary>
    public static bool SameKey(string presented, string expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
}

/// <summary><c>Auth:Mode=Unsecured</c>: every request is an unnamed admin (the door then limits per address).</summary>
public sealed class UnsecuredAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder) : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "Unsecured";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync() =>
        Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(ConsoleRoles.Principal(SchemeName, null, ConsoleRoles.Admin), SchemeName)));
}
