using System.Net;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;

namespace RealtimeConsole.Tests.Access;

/// <summary>
/// A real OpenID Connect provider on loopback (OpenIddict's server, in-memory store) for the OpenIdConnect sign-in tests. Its
/// authorization page offers one button per known user; each user's <c>role</c> claim goes into the ID token.
/// </summary>
public sealed class OpenIddictProvider : IAsyncDisposable
{
    public const string ClientId = "realtime-console";
    public const string ClientSecret = "console-client-secret";

    /// <summary>User → the value of their <c>role</c> claim at the provider (null: none).</summary>
    public static readonly IReadOnlyDictionary<string, string?> Users = new Dictionary<string, string?>
    {
        ["alice"] = "support",
        ["bob"] = "developer",
        ["carol"] = "admin",
        ["dave"] = null,
    };

    private readonly WebApplication _app;

    private OpenIddictProvider(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public static async Task<OpenIddictProvider> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var database = Guid.NewGuid().ToString();
        builder.Services.AddDbContext<ProviderStore>(options =>
        {
            options.UseInMemoryDatabase(database);
            options.UseOpenIddict();
        });
        builder.Services.AddOpenIddict()
            .AddCore(core => core.UseEntityFrameworkCore().UseDbContext<ProviderStore>())
            .AddServer(server =>
            {
                server.SetAuthorizationEndpointUris("connect/authorize").SetTokenEndpointUris("connect/token");
                server.AllowAuthorizationCodeFlow().RequireProofKeyForCodeExchange();
                server.RegisterScopes(OpenIddictConstants.Scopes.OpenId, OpenIddictConstants.Scopes.Profile);
                server.AddEphemeralEncryptionKey().AddEphemeralSigningKey();
                server.UseAspNetCore().EnableAuthorizationEndpointPassthrough().DisableTransportSecurityRequirement();
            });

        var app = builder.Build();
        app.MapMethods("/connect/authorize", [HttpMethods.Get, HttpMethods.Post], (Func<HttpContext, Task<IResult>>)AuthorizeAsync);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
        return new OpenIddictProvider(app, address);
    }

    /// <summary>Registers the console as a confidential client that may come back to <paramref name="console"/>/signin-oidc.</summary>
    public async Task RegisterConsoleAsync(Uri console)
    {
        await using var scope = _app.Services.CreateAsyncScope();
        var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        await applications.CreateAsync(new OpenIddictApplicationDescriptor
        {
            ClientId = ClientId,
            ClientSecret = ClientSecret,
            ClientType = OpenIddictConstants.ClientTypes.Confidential,
            ConsentType = OpenIddictConstants.ConsentTypes.Implicit,
            RedirectUris = { new Uri(console, "signin-oidc") },
            Permissions =
            {
                OpenIddictConstants.Permissions.Endpoints.Authorization,
                OpenIddictConstants.Permissions.Endpoints.Token,
                OpenIddictConstants.Permissions.GrantTypes.AuthorizationCode,
                OpenIddictConstants.Permissions.ResponseTypes.Code,
                OpenIddictConstants.Permissions.Scopes.Profile,
            },
        });
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    /// <summary>Without a chosen user: a page of buttons that post the request back with one; with one: signs that user in.</summary>
    private static Task<IResult> AuthorizeAsync(HttpContext context)
    {
        var request = context.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenID Connect request.");
        var user = request["user"]?.ToString();
        if (user is null || !Users.TryGetValue(user, out var role))
        {
            var page = new StringBuilder("<!DOCTYPE html><html><body><h1>Test provider</h1><form method=\"post\" action=\"/connect/authorize\">");
            foreach (var parameter in request.GetParameters())
            {
                page.Append($"<input type=\"hidden\" name=\"{WebUtility.HtmlEncode(parameter.Key)}\" value=\"{WebUtility.HtmlEncode(parameter.Value.ToString())}\" />");
            }

            foreach (var name in Users.Keys)
            {
                page.Append($"<button type=\"submit\" name=\"user\" value=\"{name}\" data-testid=\"provider-user-{name}\">{name}</button>");
            }

            return Task.FromResult(Results.Content(page.Append("</form></body></html>").ToString(), "text/html"));
        }

        var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, OpenIddictConstants.Claims.Name, OpenIddictConstants.Claims.Role);
        identity.AddClaim(new Claim(OpenIddictConstants.Claims.Subject, "sub-" + user));
        identity.AddClaim(new Claim(OpenIddictConstants.Claims.PreferredUsername, user));
        if (role is not null)
        {
            identity.AddClaim(new Claim(OpenIddictConstants.Claims.Role, role));
        }

        identity.SetScopes(request.GetScopes());
        identity.SetDestinations(_ => [OpenIddictConstants.Destinations.IdentityToken, OpenIddictConstants.Destinations.AccessToken]);
        return Task.FromResult(Results.SignIn(new ClaimsPrincipal(identity), authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme));
    }

    private sealed class ProviderStore(DbContextOptions<ProviderStore> options) : DbContext(options);
}
