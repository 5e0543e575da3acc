using Microsoft.Playwright;

namespace RealtimeConsole.Tests.Browser;

/// <summary>Debian's Chromium driven by Playwright, headless, talking to loopback only.</summary>
public sealed class ChromiumSession : IAsyncLifetime
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public static string ScreenshotDirectory
    {
        get
        {
            var dir = Path.Combine(AppContext.BaseDirectory, "screenshots");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    public async Task InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException($"{ExecutablePath} is missing: run ./test.sh as root once (it installs Debian's chromium).");
        }

        // Expectations wait on conditions, so a long limit costs nothing when things go well; those that follow a round trip
        // through the server (SignalR, the broker, the simulator, a WebRTC handshake) take tens of seconds on a busy CI machine.
        Assertions.SetDefaultExpectTimeout(60_000);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
                "--disable-features=WebRtcHideLocalIpsWithMdns",
            ],
        });
    }

    /// <summary>A fresh page that fails the test on any page error or console error.</summary>
    public async Task<(IPage Page, List<string> Errors)> OpenPageAsync(int width = 1280, int height = 800)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = width, Height = height },
            Permissions = ["microphone"],
        });
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);
        page.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                errors.Add($"{response.Status} {response.Request.Method} {response.Url}");
            }
        };
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && !message.Text.StartsWith("Failed to load resource", StringComparison.Ordinal))
            {
                errors.Add(message.Text);
            }
        };
        return (page, errors);
    }

    /// <summary>Navigates and waits until the Blazor circuit is live (the layout marks itself interactive).</summary>
    public static async Task GotoInteractiveAsync(IPage page, Uri url)
    {
        // The first page of a class also starts the app; under a load of 40+ on two cores that took over Playwright's 30 s.
        await page.GotoAsync(url.ToString(), new() { Timeout = 90_000 });
        await page.Locator("[data-interactive=true]").WaitForAsync(new() { Timeout = 60_000 });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}

/// <summary>One Chromium and one loopback console shared by the browser tests, run one after another.</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public ChromiumSession Chromium { get; } = new();

    // Detailed circuit errors, so a failed event dispatch names the server's exception in the page error the test reports.
    public Infrastructure.LoopbackConsoleServer Server { get; } = (Infrastructure.LoopbackConsoleServer)new Infrastructure.LoopbackConsoleServer().WithSetting("DetailedErrors", "true");

    public Task InitializeAsync() => Chromium.InitializeAsync();

    public async Task DisposeAsync()
    {
        await Chromium.DisposeAsync();
        await Server.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}
