using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using RealtimeConsole.Access;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Tests.Upstream;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tests.Access;

/// <summary>The door's per-client limit: per signed-in user, else per address, and X-Forwarded-For believed only from known proxies.</summary>
public sealed class ClientAddressTests
{
    private const string PeerHeader = "X-Test-Peer";

    private static ConsoleAppFactory Create(string mode, params (string Key, string Value)[] settings)
    {
        var upstream = new FakeUpstreamHandler(TimeProvider.System, (_, _) => FakeUpstreamHandler.Secret(TimeProvider.System));
        var app = new ConsoleAppFactory()
            .WithSetting("Auth:Mode", mode)
            .WithSetting("OPENAI_API_KEY", "sk-test-door")
            .WithSetting("Realtime:BaseUrl", "http://upstream.test/v1")
            .WithSetting("Realtime:SecretMode", "Shared")
            .WithSetting("Realtime:DoorPermitsPerMinute", "2")
            .WithServices(s =>
            {
                s.AddHttpClient(UpstreamGate.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => upstream);
                s.AddSingleton<IStartupFilter, PeerAddressFromHeader>();
            });
        foreach (var (key, value) in settings)
        {
            app.WithSetting(key, value);
        }

        return app;
    }

    [Fact]
    public async Task Behind_a_known_proxy_each_forwarded_client_has_its_own_limit()
    {
        using var app = Create("Unsecured", ("ForwardedHeaders:KnownProxies:0", "10.0.0.1"));
        using var http = app.CreateClient();

        Assert.Equal(new[] { 200, 200, 429 }, await MintAsync(http, peer: "10.0.0.1", forwardedFor: "203.0.113.5", times: 3));
        Assert.Equal(new[] { 200, 200 }, await MintAsync(http, peer: "10.0.0.1", forwardedFor: "203.0.113.6", times: 2));
    }

    [Fact]
    public async Task A_known_network_is_trusted_like_a_known_proxy()
    {
        using var app = Create("Unsecured", ("ForwardedHeaders:KnownNetworks:0", "10.8.0.0/16"));
        using var http = app.CreateClient();

        Assert.Equal(new[] { 200, 200, 429 }, await MintAsync(http, peer: "10.8.3.4", forwardedFor: "203.0.113.5", times: 3));
        Assert.Equal(new[] { 200 }, await MintAsync(http, peer: "10.8.3.4", forwardedFor: "203.0.113.7", times: 1));
    }

    [Fact]
    public async Task From_an_unknown_proxy_the_header_is_ignored_and_everyone_behind_it_shares_its_address()
    {
        using var app = Create("Unsecured", ("ForwardedHeaders:KnownProxies:0", "10.0.0.1"));
        using var http = app.CreateClient();

        Assert.Equal(new[] { 200, 200 }, await MintAsync(http, peer: "10.0.0.9", forwardedFor: "203.0.113.5", times: 2));
        Assert.Equal(new[] { 429 }, await MintAsync(http, peer: "10.0.0.9", forwardedFor: "203.0.113.6", times: 1));
    }

    [Fact]
    public async Task Loopback_is_not_a_trusted_proxy_unless_configured()
    {
        using var app = Create("Unsecured");
        using var http = app.CreateClient();

        Assert.Equal(new[] { 200, 200 }, await MintAsync(http, peer: "127.0.0.1", forwardedFor: "203.0.113.5", times: 2));
        Assert.Equal(new[] { 429 }, await MintAsync(http, peer: "127.0.0.1", forwardedFor: "203.0.113.6", times: 1));
    }

    [Fact]
    public async Task Signed_in_users_behind_one_address_each_have_their_own_limit()
    {
        using var app = Create("BrowserToken");
        using var http = SignIn.NoRedirects(app);
        var alice = SignIn.CookieFor(app, ConsoleRoles.Developer, "alice");
        var bob = SignIn.CookieFor(app, ConsoleRoles.Developer, "bob");

        Assert.Equal(new[] { 200, 200, 429 }, await MintAsync(http, peer: "10.0.0.1", forwardedFor: null, times: 3, cookie: alice));
        Assert.Equal(new[] { 200, 200 }, await MintAsync(http, peer: "10.0.0.1", forwardedFor: null, times: 2, cookie: bob));
    }

    private static async Task<int[]> MintAsync(HttpClient http, string peer, string? forwardedFor, int times, string? cookie = null)
    {
        var statuses = new List<int>();
        for (var i = 0; i < times; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/realtime/client-secret");
            request.Headers.Add(PeerHeader, peer);
            if (forwardedFor is not null)
            {
                request.Headers.Add("X-Forwarded-For", forwardedFor);
            }

            if (cookie is not null)
            {
                request.Headers.Add("Cookie", cookie);
            }

            statuses.Add((int)(await http.SendAsync(request)).StatusCode);
        }

        return [.. statuses];
    }

    /// <summary>The in-memory server has no socket: this sets the connection's address (what a proxy would be) from a test header, first thing.</summary>
    private sealed class PeerAddressFromHeader : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                if (IPAddress.TryParse(context.Request.Headers[PeerHeader].ToString(), out var peer))
                {
                    context.Connection.RemoteIpAddress = peer;
                }

                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
