using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RealtimeConsole.Access;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Access;

/// <summary>Signed-in clients for tests: through the real login link, or with a cookie the app itself issues for a role.</summary>
public static class SignIn
{
    /// <summary>A loopback client that opened <c>/login?t=<paramref name="token"/></c> and keeps the auth cookie.</summary>
    public static async Task<HttpClient> LoopbackClientAsync(LoopbackConsoleServer server, string token)
    {
        var http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false })
        {
            BaseAddress = server.BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
        var login = await http.GetAsync($"login?t={Uri.EscapeDataString(token)}");
        if (login.StatusCode != HttpStatusCode.Redirect)
        {
            throw new InvalidOperationException($"Login answered {(int)login.StatusCode}.");
        }

        return http;
    }

    /// <summary>The auth cookie's <c>name=value</c> for a user with <paramref name="role"/>, protected by the app's own keys.</summary>
    public static string CookieFor(WebApplicationFactory<Program> app, string role, string name = "test-user")
    {
        var options = app.Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(CookieAuthenticationDefaults.AuthenticationScheme);
        var time = app.Services.GetRequiredService<TimeProvider>().GetUtcNow();
        var principal = ConsoleRoles.Principal(CookieAuthenticationDefaults.AuthenticationScheme, $"{name}-{role}", role);
        var ticket = new AuthenticationTicket(principal, new AuthenticationProperties { IssuedUtc = time, ExpiresUtc = time.AddHours(1) }, CookieAuthenticationDefaults.AuthenticationScheme);
        return $"{AccessFeature.CookieName}={options.TicketDataFormat.Protect(ticket)}";
    }

    public static HttpClient NoRedirects(WebApplicationFactory<Program> app) =>
        app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });
}
