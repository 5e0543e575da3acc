using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using RealtimeConsole.Access;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Tests.Upstream;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tests.Access;

/// <summary>What a signed-in browser and the log receive: never the OpenAI key nor the console's own API key; the Unsecured banner.</summary>
public sealed class SignedInSurfaceTests
{
    private const string OpenAiKey = "sk-test-SIGNEDIN-CANARY-51f0";
    private const string ConsoleApiKey = "console-api-key-CANARY-9d2e";
    private const string Token = "surface-login";

    [Fact]
    public async Task Neither_key_reaches_a_signed_in_browser_or_the_log()
    {
        var logs = new FakeLogCollector();
        var upstream = new FakeUpstreamHandler(TimeProvider.System, (_, _) => FakeUpstreamHandler.Secret(TimeProvider.System));
        using var app = new ConsoleAppFactory()
            .WithSetting("Auth:Mode", "BrowserToken")
            .WithSetting("Auth:BrowserToken", Token)
            .WithSetting("Auth:ApiKey", ConsoleApiKey)
            .WithSetting("OPENAI_API_KEY", OpenAiKey)
            .WithSetting("Simulator:Enabled", "true")
            .WithSetting("Realtime:BaseUrl", "http://upstream.test/v1")
            .WithServices(s =>
            {
                s.AddHttpClient(UpstreamGate.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => upstream);
                s.AddLogging(l => l.AddProvider(new FakeLoggerProvider(logs)).SetMinimumLevel(LogLevel.Debug));
            });
        using var http = SignIn.NoRedirects(app);
        var seen = new StringBuilder();
        var login = await http.GetAsync($"/login?t={Token}");
        seen.Append(login.Headers).Append(await login.Content.ReadAsStringAsync());
        var cookie = login.Headers.GetValues("Set-Cookie").First(c => c.StartsWith(AccessFeature.CookieName, StringComparison.Ordinal)).Split(';')[0];

        foreach (var (method, path) in new[]
        {
            ("GET", "/"), ("GET", "/limits"), ("GET", "/simulator"), ("GET", "/login"), ("GET", "/login?t=wrong"),
            ("POST", "/api/realtime/client-secret"), ("GET", "/api/telemetry"), ("GET", "/api/telemetry/export.json"),
            ("GET", "/api/telemetry/export.csv"), ("GET", "/metrics"), ("GET", "/simulator/admin/stats"), ("POST", "/hubs/telemetry/negotiate"),
        })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            request.Headers.Add("Cookie", cookie);
            using var response = await http.SendAsync(request);
            seen.Append(response.Headers).Append(await response.Content.ReadAsStringAsync());
        }

        using (var wrongKey = new HttpRequestMessage(HttpMethod.Get, "/metrics"))
        {
            wrongKey.Headers.Authorization = new("Bearer", "console-api-key-CANARY-guess");
            seen.Append(await (await http.SendAsync(wrongKey)).Content.ReadAsStringAsync());
        }

        var everything = seen.ToString();
        Assert.Contains("ek_", everything);
        Assert.DoesNotContain(OpenAiKey, everything);
        Assert.DoesNotContain(ConsoleApiKey, everything);
        Assert.DoesNotContain("CANARY", everything);
        var logged = string.Join("\n", logs.GetSnapshot().Select(l => l.Message + l.Exception));
        Assert.Contains("Failed sign-in (api_key)", logged);
        Assert.DoesNotContain("CANARY", logged);
    }

    [Fact]
    public async Task Unsecured_says_so_on_every_page_and_the_other_modes_do_not()
    {
        using var unsecured = new ConsoleAppFactory();
        using var http = unsecured.CreateClient();
        foreach (var page in new[] { "/", "/limits", "/simulator" })
        {
            Assert.Contains("data-testid=\"unsecured-banner\"", await http.GetStringAsync(page));
        }

        using var token = new ConsoleAppFactory().WithSetting("Auth:Mode", "BrowserToken");
        using var signedIn = SignIn.NoRedirects(token);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/limits");
        request.Headers.Add("Cookie", SignIn.CookieFor(token, ConsoleRoles.Admin));
        var html = await (await signedIn.SendAsync(request)).Content.ReadAsStringAsync();
        Assert.Contains("data-testid=\"signed-in-as\"", html);
        Assert.DoesNotContain("unsecured-banner", html);
    }

    [Fact]
    public async Task OpenIdConnect_without_an_authority_does_not_start()
    {
        using var app = new ConsoleAppFactory().WithSetting("Auth:Mode", "OpenIdConnect");

        var error = await Record.ExceptionAsync(() => app.CreateClient().GetAsync("/healthz"));

        Assert.Contains("Auth:OpenIdConnect:Authority", error?.ToString());
    }
}
