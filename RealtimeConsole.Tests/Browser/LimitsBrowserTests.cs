using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Playwright;
using RealtimeConsole.Tests.Access;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Browser;

[Collection(BrowserCollection.Name)]
public sealed partial class LimitsBrowserTests(BrowserFixture fixture)
{
    [Fact]
    public async Task During_a_429_storm_the_dashboard_shows_the_backoff_and_the_last_429_on_desktop_and_phone()
    {
        // Its own instance: the storm leaves a shared cooldown and 429 history behind that other browser tests must not meet.
        await using var server = new LoopbackConsoleServer();
        server.WithServices(services => services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(1)));
        var (desktop, errors) = await fixture.Chromium.OpenPageAsync(1280, 800);
        await ChromiumSession.GotoInteractiveAsync(desktop, new Uri(server.BaseAddress, "limits"));
        await Assertions.Expect(desktop.GetByTestId("backoff")).ToBeVisibleAsync();

        using var http = server.CreateLoopbackClient();
        using var giveUp = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var mints = await StartStormAsync(http, giveUp.Token);

        await Assertions.Expect(desktop.GetByTestId("last-429")).Not.ToHaveAttributeAsync("data-origin", "none", new() { Timeout = 60_000 });
        await Assertions.Expect(desktop.GetByTestId("backoff")).Not.ToHaveAttributeAsync("data-kind", "Idle");
        await Assertions.Expect(desktop.GetByTestId("calls-table")).ToContainTextAsync("429");
        await Assertions.Expect(desktop.GetByTestId("upstream-429-request-id")).ToHaveTextAsync(RequestId());
        // What the chart draws (grid lines, bars, labels), not the svg box, which can letterbox a small drawing.
        var chartWidth = await desktop.EvaluateAsync<double>(
            "() => { const r = [...document.querySelectorAll('[data-testid=requests-chart] svg :is(line, path, rect, text)')].map(t => t.getBoundingClientRect()).filter(b => b.width > 0); return Math.max(...r.map(b => b.right)) - Math.min(...r.map(b => b.left)); }");
        var card = await desktop.GetByTestId("requests-panel").BoundingBoxAsync();
        await desktop.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "limits-storm-1280.png"), FullPage = true });

        var (phone, phoneErrors) = await fixture.Chromium.OpenPageAsync(390, 844);
        await ChromiumSession.GotoInteractiveAsync(phone, new Uri(server.BaseAddress, "limits"));
        await Assertions.Expect(phone.GetByTestId("last-429")).Not.ToHaveAttributeAsync("data-origin", "none");
        var pageWidth = await phone.EvaluateAsync<int>("document.scrollingElement.scrollWidth");
        var viewport = await phone.EvaluateAsync<int>("window.innerWidth");
        await phone.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "limits-storm-390.png"), FullPage = true });
        await phone.GetByTestId("last-429").ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "limits-storm-390-last-429.png") });
        await phone.GetByTestId("requests-panel").ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "limits-storm-390-requests.png") });
        await phone.GetByTestId("calls-panel").ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "limits-storm-390-calls.png") });

        Assert.True(chartWidth >= card!.Width * 0.9, $"The chart is {chartWidth:0} px wide in a {card.Width:0} px card.");
        Assert.True(pageWidth <= viewport, $"The phone layout scrolls sideways: {pageWidth} px of content in {viewport} px.");
        Assert.Empty(errors);
        Assert.Empty(phoneErrors);
        await giveUp.CancelAsync();
        await Task.WhenAll(mints.Select(m => m.ContinueWith(_ => { }, TaskScheduler.Default)));
        await http.DeleteAsync("simulator/admin/faults");
        await desktop.Context.CloseAsync();
        await phone.Context.CloseAsync();
    }

    [Fact]
    public async Task The_dashboard_watches_a_remote_instance_through_its_storm_and_its_restart_and_goes_back_to_local()
    {
        // Stopped like a crash: no waiting out the storm's mints, which the broker keeps retrying for ~20 s after the client gives up.
        // The remote signs in for real (BrowserToken, API key); this instance lists it with that key.
        var remote = new LoopbackConsoleServer();
        remote.WithSetting("Auth:Mode", "BrowserToken").WithSetting("Auth:BrowserToken", "remote-login").WithSetting("Auth:ApiKey", "remote-watch-key");
        remote.WithServices(services => services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(1)));
        using var giveUp = new CancellationTokenSource();
        List<Task<HttpResponseMessage>> mints = [];
        var (page, errors) = await fixture.Chromium.OpenPageAsync(1280, 800);
        await using var local = new LoopbackConsoleServer();
        local.WithSetting("Telemetry:RemoteInstances:0:Name", "lab")
            .WithSetting("Telemetry:RemoteInstances:0:Url", remote.BaseAddress.ToString())
            .WithSetting("Telemetry:RemoteInstances:0:ApiKey", "remote-watch-key");
        try
        {
            await ChromiumSession.GotoInteractiveAsync(page, new Uri(local.BaseAddress, "limits"));
            using var http = await SignIn.LoopbackClientAsync(remote, "remote-login");
            // Counted from here: starting two instances and a browser on a busy machine must not eat the storm's time.
            giveUp.CancelAfter(TimeSpan.FromSeconds(120));
            mints = await StartStormAsync(http, giveUp.Token);

            await page.GetByTestId("remote-watch").And(page.Locator("[data-name=lab]")).ClickAsync();

            await Assertions.Expect(page.GetByTestId("remote-state")).ToHaveAttributeAsync("data-state", "Connected", new() { Timeout = 60_000 });
            await Assertions.Expect(page.GetByTestId("showing")).ToHaveTextAsync($"Remote instance {remote.BaseAddress.Authority}");
            await Assertions.Expect(page.GetByTestId("last-429")).Not.ToHaveAttributeAsync("data-origin", "none", new() { Timeout = 60_000 });
            await Assertions.Expect(page.GetByTestId("force-refresh")).ToBeDisabledAsync();
            await Assertions.Expect(page.GetByTestId("calls-table")).ToContainTextAsync("429");
            await page.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "limits-remote-1280.png"), FullPage = true });

            await giveUp.CancelAsync();
            await Task.WhenAll(mints.Select(m => m.ContinueWith(_ => { }, TaskScheduler.Default)));
            await remote.DisposeAsync();
            await Assertions.Expect(page.GetByTestId("remote-state")).ToHaveAttributeAsync("data-state", "Reconnecting", new() { Timeout = 60_000 });
            await Assertions.Expect(page.GetByTestId("remote-stale")).ToContainTextAsync("last update, received at");
            await Assertions.Expect(page.GetByTestId("remote-state-text")).ToContainTextAsync("reconnecting, try");
            await page.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "limits-remote-reconnecting-1280.png"), FullPage = true });

            await page.GetByTestId("remote-stop").ClickAsync();
            await Assertions.Expect(page.GetByTestId("showing")).ToHaveTextAsync("This instance");
            await Assertions.Expect(page.GetByTestId("remote-state")).ToHaveCountAsync(0);
            await Assertions.Expect(page.GetByTestId("force-refresh")).ToBeEnabledAsync();
            Assert.Empty(errors);
        }
        finally
        {
            await giveUp.CancelAsync();
            await Task.WhenAll(mints.Select(m => m.ContinueWith(_ => { }, TaskScheduler.Default)));
            await remote.DisposeAsync();
            await page.Context.CloseAsync();
        }
    }

    /// <summary>
    /// Turns on the simulator's 429 storm and starts three mints that run into it (they wait out retries and the cooldown).
    /// The storm outlasts any stall of a busy machine; the test ends it.
    /// </summary>
    private static async Task<List<Task<HttpResponseMessage>>> StartStormAsync(HttpClient http, CancellationToken giveUp)
    {
        (await http.PostAsJsonAsync("simulator/admin/faults", new { kind = "rate_limit_storm", seconds = 120 }, giveUp)).EnsureSuccessStatusCode();
        return Enumerable.Range(0, 3).Select(_ => http.PostAsJsonAsync("api/realtime/client-secret", new { }, giveUp)).ToList();
    }

    [GeneratedRegex("^x-request-id req_")]
    private static partial Regex RequestId();
}
