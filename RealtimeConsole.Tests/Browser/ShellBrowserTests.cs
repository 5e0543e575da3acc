using Microsoft.Playwright;

namespace RealtimeConsole.Tests.Browser;

[Collection(BrowserCollection.Name)]
public sealed class ShellBrowserTests(BrowserFixture fixture)
{
    [Fact]
    public async Task Shell_renders_navigation_and_switches_theme_without_page_errors()
    {
        var (page, errors) = await fixture.Chromium.OpenPageAsync();
        await ChromiumSession.GotoInteractiveAsync(page, new Uri(fixture.Server.BaseAddress, "limits"));

        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Rate limits" })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Voice session" })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Simulator" })).ToBeVisibleAsync();

        var background = await page.EvaluateAsync<string>("getComputedStyle(document.body).backgroundColor");
        await page.GetByTestId("theme-toggle").ClickAsync();
        await Assertions.Expect(page.Locator("body")).Not.ToHaveCSSAsync("background-color", background);

        await page.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "shell-dark-1280.png") });
        Assert.Empty(errors);
        await page.Context.CloseAsync();
    }
}
