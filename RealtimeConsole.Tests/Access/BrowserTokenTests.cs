using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Access;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Access;

/// <summary>Auth:Mode=BrowserToken over HTTP: the logged link, wrong tokens, the cookie's flags and its expiry on a fake clock.</summary>
public sealed class BrowserTokenTests
{
    private const string Token = "pinned-login-token";

    private static (ConsoleAppFactory App, FakeLogCollector Logs) Create(Action<ConsoleAppFactory>? configure = null)
    {
        var logs = new FakeLogCollector();
        var app = new ConsoleAppFactory()
            .WithSetting("Auth:Mode", "BrowserToken")
            .WithSetting("Auth:BrowserToken", Token)
            .WithSetting("Auth:ApiKey", "metrics-key")
            .WithServices(s => s.AddLogging(l => l.AddProvider(new FakeLoggerProvider(logs))));
        configure?.Invoke(app);
        return (app, logs);
    }

    [Fact]
    public async Task Without_a_token_pages_show_where_the_link_is_and_apis_answer_401_json()
    {
        var (app, _) = Create();
        using var _app = app;
        using var http = SignIn.NoRedirects(app);

        var page = await http.GetAsync("/limits");
        Assert.Equal(HttpStatusCode.Unauthorized, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("data-testid=\"login-page\"", html);
        Assert.Contains("Login to RealtimeConsole: http://localhost:5080/login?t=", html);
        Assert.DoesNotContain(Token, html);

        var api = await http.PostAsync("/api/realtime/client-secret", null);
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
        Assert.Equal("application/json", api.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\"code\":\"unauthorized\"", await api.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_start_up_log_has_one_login_link_and_opening_it_sets_an_http_only_lax_cookie_for_admin()
    {
        var (app, logs) = Create();
        using var _app = app;
        using var http = SignIn.NoRedirects(app);
        await http.GetAsync("/healthz");

        // Written when the host reports it started, which the test host may hear of first.
        await logs.FirstAsync(l => l.Message.StartsWith("Login to RealtimeConsole: ", StringComparison.Ordinal), "Login to RealtimeConsole: …");
        var links = logs.GetSnapshot().Where(l => l.Message.StartsWith("Login to RealtimeConsole: ", StringComparison.Ordinal)).ToList();
        var link = new Uri(Assert.Single(links).Message["Login to RealtimeConsole: ".Length..]);
        Assert.Equal($"?t={Token}", link.Query);
        Assert.Equal(BrowserTokenLogin.LoginPath, link.AbsolutePath);

        var login = await http.GetAsync(link.PathAndQuery);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Equal("/", login.Headers.Location?.OriginalString);
        var setCookie = Assert.Single(login.Headers.GetValues("Set-Cookie"), c => c.StartsWith(AccessFeature.CookieName + "=", StringComparison.Ordinal));
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", setCookie, StringComparison.OrdinalIgnoreCase);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/simulator");
        request.Headers.Add("Cookie", setCookie.Split(';')[0]);
        var admin = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, admin.StatusCode);
        Assert.Contains("data-role=\"admin\"", await admin.Content.ReadAsStringAsync());
        Assert.Contains(logs.GetSnapshot(), l => l.Message.StartsWith("Signed in browser-token-", StringComparison.Ordinal) && l.Message.Contains("as admin", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Over_https_the_cookie_is_secure()
    {
        var (app, _) = Create();
        using var _app = app;
        using var http = app.CreateClient(new() { BaseAddress = new Uri("https://localhost"), AllowAutoRedirect = false, HandleCookies = false });

        var login = await http.GetAsync($"/login?t={Token}");

        var setCookie = Assert.Single(login.Headers.GetValues("Set-Cookie"), c => c.StartsWith(AccessFeature.CookieName + "=", StringComparison.Ordinal));
        Assert.Contains("; secure", setCookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_wrong_token_gets_the_login_page_and_is_logged_and_counted()
    {
        var (app, logs) = Create();
        using var _app = app;
        using var http = SignIn.NoRedirects(app);

        var wrong = await http.GetAsync("/login?t=guessed");

        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.False(wrong.Headers.Contains("Set-Cookie"));
        Assert.Contains("data-testid=\"login-problem\"", await wrong.Content.ReadAsStringAsync());
        Assert.Contains(logs.GetSnapshot(), l => l.Level == LogLevel.Warning && l.Message.StartsWith("Failed sign-in (browser_token) from", StringComparison.Ordinal));

        using var metrics = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        metrics.Headers.Authorization = new("Bearer", "metrics-key");
        var scrape = await (await http.SendAsync(metrics)).Content.ReadAsStringAsync();
        // Meters are matched by name process-wide, so other apps of the test run may add to the count: at least this one.
        Assert.Matches("console_access_sign_in_failures_total\\{[^}]*method=\"browser_token\"[^}]*\\} [1-9]", scrape);
    }

    [Fact]
    public async Task Refused_requests_are_logged_with_user_address_and_what_and_counted()
    {
        var (app, logs) = Create();
        using var _app = app;
        using var http = SignIn.NoRedirects(app);
        using var asViewer = new HttpRequestMessage(HttpMethod.Post, "/simulator/admin/reset");
        asViewer.Headers.Add("Cookie", SignIn.CookieFor(app, ConsoleRoles.Viewer, "sam"));

        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync(asViewer)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsync("/simulator/admin/reset", null)).StatusCode);

        var refusals = logs.GetSnapshot().Where(l => l.Message.StartsWith("Refused ", StringComparison.Ordinal)).Select(l => l.Message).ToList();
        Assert.Contains(refusals, m => m.StartsWith("Refused POST /simulator/admin/reset for sam-viewer (viewer) from ", StringComparison.Ordinal) && m.EndsWith(": forbidden", StringComparison.Ordinal));
        Assert.Contains(refusals, m => m.StartsWith("Refused POST /simulator/admin/reset for anonymous from ", StringComparison.Ordinal) && m.EndsWith(": unauthenticated", StringComparison.Ordinal));

        using var metrics = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        metrics.Headers.Authorization = new("Bearer", "metrics-key");
        var scrape = await (await http.SendAsync(metrics)).Content.ReadAsStringAsync();
        scrape = string.Join("\n", scrape.Split('\n').Where(l => l.StartsWith("console_access", StringComparison.Ordinal)));
        // Meters are matched by name process-wide, so other apps of the test run may add to the counts; the log above is this app's.
        Assert.Matches("console_access_refusals_total\\{[^}]*kind=\"forbidden\"[^}]*\\} [1-9]", scrape);
        Assert.Matches("console_access_refusals_total\\{[^}]*kind=\"unauthenticated\"[^}]*\\} [1-9]", scrape);
    }

    [Fact]
    public async Task The_cookie_expires_after_its_lifetime_on_the_apps_clock()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (app, _) = Create(a => a.WithSetting("Auth:CookieLifetime", "01:00:00").WithServices(s => s.AddSingleton<TimeProvider>(time)));
        using var _app = app;
        using var http = SignIn.NoRedirects(app);
        var cookie = (await http.GetAsync($"/login?t={Token}")).Headers.GetValues("Set-Cookie").First(c => c.StartsWith(AccessFeature.CookieName, StringComparison.Ordinal)).Split(';')[0];

        Assert.Equal(HttpStatusCode.OK, await StatusAsync("/api/telemetry"));
        time.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync("/api/telemetry"));
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync("/api/telemetry"));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync("/limits"));

        async Task<HttpStatusCode> StatusAsync(string path)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("Cookie", cookie);
            return (await http.SendAsync(request)).StatusCode;
        }
    }

    [Theory]
    [InlineData("http://localhost:5080", "http://localhost:5080/login?t=abc")]
    [InlineData("http://0.0.0.0:5080", "http://localhost:5080/login?t=abc")]
    [InlineData("http://[::]:8080", "http://localhost:8080/login?t=abc")]
    [InlineData("http://+:80", "http://localhost:80/login?t=abc")]
    [InlineData("https://10.0.0.5:5443", "https://10.0.0.5:5443/login?t=abc")]
    public void The_login_link_names_a_host_a_browser_can_open(string listening, string link) =>
        Assert.Equal(link, BrowserTokenLogin.LoginUrl(listening, "abc"));

    [Theory]
    [InlineData("http://localhost:5080", true)]
    [InlineData("http://127.0.0.1:5080", true)]
    [InlineData("http://[::1]:5080", true)]
    [InlineData("http://0.0.0.0:5080", false)]
    [InlineData("http://+:5080", false)]
    [InlineData("http://10.0.0.5:5080", false)]
    public void Loopback_addresses_are_told_apart_for_the_unsecured_warning(string listening, bool loopback) =>
        Assert.Equal(loopback, BrowserTokenLogin.IsLoopback(listening));
}
