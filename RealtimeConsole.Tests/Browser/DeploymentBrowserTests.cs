using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Playwright;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Browser;

/// <summary>/limits of a two-instance deployment on one real redis-server, in Chromium on a desktop and a phone.</summary>
[Collection(BrowserCollection.Name)]
public sealed class DeploymentBrowserTests(BrowserFixture fixture) : IAsyncLifetime
{
    private RedisDeployment _deployment = null!;

    public async Task InitializeAsync() => _deployment = await RedisDeployment.StartAsync();

    public async Task DisposeAsync() => await _deployment.DisposeAsync();

    [Fact]
    public async Task Limits_shows_both_instances_one_alone_and_the_store_outage_on_desktop_and_phone()
    {
        var alpha = Start("alpha");
        var beta = Start("beta");
        await MintAsync(alpha, 2);
        await MintAsync(beta, 3);

        var (desktop, errors) = await fixture.Chromium.OpenPageAsync(1280, 800);
        await ChromiumSession.GotoInteractiveAsync(desktop, new Uri(alpha.BaseAddress, "limits"));
        await Assertions.Expect(desktop.GetByTestId("instances-panel")).ToHaveAttributeAsync("data-count", "2", new() { Timeout = 60_000 });
        await Assertions.Expect(desktop.GetByTestId("instances-total-secrets")).ToHaveTextAsync("5");
        await Assertions.Expect(desktop.GetByTestId("showing")).ToHaveTextAsync("Whole deployment: 2 instances");
        await desktop.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "limits-deployment-1280.png"), FullPage = true });

        var (phone, phoneErrors) = await fixture.Chromium.OpenPageAsync(390, 844);
        await ChromiumSession.GotoInteractiveAsync(phone, new Uri(alpha.BaseAddress, "limits"));
        await Assertions.Expect(phone.GetByTestId("instances-panel")).ToHaveAttributeAsync("data-count", "2", new() { Timeout = 60_000 });
        var pageWidth = await phone.EvaluateAsync<int>("document.scrollingElement.scrollWidth");
        var viewport = await phone.EvaluateAsync<int>("window.innerWidth");
        await phone.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "limits-deployment-390.png"), FullPage = true });
        await phone.GetByTestId("instances-panel").ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "limits-deployment-390-instances.png") });
        Assert.True(pageWidth <= viewport, $"The phone layout scrolls sideways: {pageWidth} px of content in {viewport} px.");

        // One instance alone: the panels show beta's own counts.
        await desktop.Locator("[data-testid=instance-show][data-id=beta]").ClickAsync();
        await Assertions.Expect(desktop.GetByTestId("showing")).ToHaveTextAsync("Instance beta alone");
        await Assertions.Expect(desktop.GetByTestId("instance-showing")).ToBeVisibleAsync();

        // The store goes away: the banner says since when; it comes back: the banner says recovered.
        await _deployment.Redis.StopAsync();
        await Assertions.Expect(desktop.GetByTestId("store-banner")).ToHaveAttributeAsync("data-state", "degraded", new() { Timeout = 60_000 });
        await Assertions.Expect(desktop.GetByTestId("store-banner")).ToContainTextAsync("Shared store unreachable since");
        await desktop.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "limits-deployment-degraded-1280.png") });
        var tableScroll = await desktop.EvaluateAsync<int>("(() => { const t = document.querySelector('[data-testid=instances-table] .mud-table-container'); return t.scrollWidth - t.clientWidth; })()");
        Assert.True(tableScroll <= 0, $"The instance table is {tableScroll} px wider than its card on a desktop.");
        await Assertions.Expect(phone.GetByTestId("store-banner")).ToHaveAttributeAsync("data-state", "degraded", new() { Timeout = 60_000 });
        await phone.EvaluateAsync("window.scrollTo(0, 0)");
        await phone.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "limits-deployment-degraded-390.png") });

        // A page opened during the outage still gets its circuit (Blazor's hub does not go through Redis).
        var (late, lateErrors) = await fixture.Chromium.OpenPageAsync(1280, 800);
        await ChromiumSession.GotoInteractiveAsync(late, new Uri(alpha.BaseAddress, "limits"));
        await Assertions.Expect(late.GetByTestId("store-banner")).ToHaveAttributeAsync("data-state", "degraded");

        await _deployment.Redis.StartAsync();
        await Assertions.Expect(desktop.GetByTestId("store-banner")).ToHaveAttributeAsync("data-state", "recovered", new() { Timeout = 60_000 });
        await desktop.GetByTestId("store-banner").ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "limits-deployment-recovered-1280.png") });
        Assert.Empty(lateErrors);
        await late.Context.CloseAsync();

        Assert.Empty(errors);
        Assert.Empty(phoneErrors);
        await desktop.Context.CloseAsync();
        await phone.Context.CloseAsync();
    }

    private LoopbackConsoleServer Start(string id) =>
        _deployment.OnLoopback(id, heartbeat: TimeSpan.FromMilliseconds(250), instanceTimeout: TimeSpan.FromSeconds(5),
            server => server.WithServices(services => services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2))));

    private static async Task MintAsync(LoopbackConsoleServer server, int times)
    {
        using var http = server.CreateLoopbackClient();
        for (var i = 0; i < times; i++)
        {
            (await http.PostAsJsonAsync("api/realtime/client-secret", new { })).EnsureSuccessStatusCode();
        }
    }
}
