using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;

namespace RealtimeConsole.Tests.Browser;

/// <summary>Every page at a desktop and a phone size: no button's text is cut off and none lies outside the viewport.</summary>
[Collection(BrowserCollection.Name)]
public sealed class LayoutBrowserTests(BrowserFixture fixture)
{
    // Visible buttons and chips whose content is wider than their box, whose box leaves the viewport sideways, or that an
    // ancestor which clips (overflow other than visible, e.g. a table's scroll container) cuts off.
    private const string ClippedControls = """
        () => [...document.querySelectorAll("button, a.mud-button-root, .mud-chip")]
            .filter(e => e.offsetParent !== null && e.getClientRects().length > 0)
            .map(e => {
                const box = e.getBoundingClientRect();
                const label = e.querySelector(".mud-button-label, .mud-chip-content") ?? e;
                let clippedBy = null;
                for (let a = e.parentElement; a && a !== document.body && !clippedBy; a = a.parentElement) {
                    if (getComputedStyle(a).overflowX !== "visible") {
                        const outer = a.getBoundingClientRect();
                        if (box.left < outer.left - 1 || box.right > outer.left + a.clientWidth + 1) {
                            clippedBy = a.className || a.tagName;
                        }
                    }
                }
                return {
                    text: (e.innerText || e.getAttribute("aria-label") || "").trim().slice(0, 40),
                    testId: e.dataset.testid ?? null,
                    scrollWidth: e.scrollWidth, clientWidth: e.clientWidth,
                    labelScrollWidth: label.scrollWidth, labelClientWidth: label.clientWidth,
                    left: Math.round(box.left), right: Math.round(box.right), viewport: window.innerWidth, clippedBy,
                };
            })
            .filter(c => c.scrollWidth > c.clientWidth + 1 || c.labelScrollWidth > c.labelClientWidth + 1
                || c.left < 0 || c.right > c.viewport || c.clippedBy)
        """;

    // Tables whose content is wider than the box that shows them (a column cut off, or a sideways scroll).
    private const string OverflowingTables = """
        () => [...document.querySelectorAll(".mud-table-container")]
            .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
            .map(e => ({ panel: e.closest("[data-testid]")?.dataset.testid ?? null, scrollWidth: e.scrollWidth, clientWidth: e.clientWidth }))
        """;

    public static TheoryData<int, int> Sizes => new() { { 1280, 800 }, { 390, 844 } };

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task The_simulator_page_clips_nothing_with_a_countdown_chip_and_an_edited_limit(int width, int height)
    {
        var (page, errors) = await fixture.Chromium.OpenPageAsync(width, height);
        await ChromiumSession.GotoInteractiveAsync(page, new Uri(fixture.Server.BaseAddress, "simulator"));

        // Enough recent requests to scroll their table, with a long path and an error code, at no cost to the shared
        // simulator's budget (a wrong key).
        using var client = fixture.Server.CreateLoopbackClient();
        for (var i = 0; i < 12; i++)
        {
            // A call id is one long word a path must break inside on a phone.
            var path = i % 2 == 0 ? "simulator/v1/realtime/translations/client_secrets" : "simulator/v1/realtime/calls/rtc_0123456789abcdef0123456789abcdef/hangup";
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = i % 2 == 0 ? new StringContent("{}", Encoding.UTF8, "application/json") : null };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-layout-test-wrong-key");
            Assert.InRange((int)(await client.SendAsync(request)).StatusCode, 400, 499);
        }

        await Assertions.Expect(page.GetByTestId("simulator-recent")).ToContainTextAsync("invalid_api_key");

        // The widest state of each row: a latency fault counting down (Stop + chip) and a limit draft that enables Apply.
        var latency = page.GetByTestId("fault-latency");
        await latency.GetByTestId("fault-start").ClickAsync();
        await Assertions.Expect(latency.GetByTestId("fault-countdown")).ToContainTextAsync("left");
        var secrets = page.GetByTestId("limit-client_secrets");
        await secrets.Locator("input").FillAsync("12345");
        await Assertions.Expect(secrets.GetByTestId("limit-apply")).ToBeEnabledAsync();

        await AssertNothingClipsAsync(page, $"simulator-{width}", tablesFit: true);

        await latency.GetByTestId("fault-stop").ClickAsync();
        await Assertions.Expect(latency.GetByTestId("fault-countdown")).ToHaveCountAsync(0);
        Assert.Empty(errors);
        await page.Context.CloseAsync();
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task The_voice_page_and_the_dashboard_clip_nothing(int width, int height)
    {
        var (page, errors) = await fixture.Chromium.OpenPageAsync(width, height);
        await ChromiumSession.GotoInteractiveAsync(page, fixture.Server.BaseAddress);
        await Assertions.Expect(page.GetByTestId("connect")).ToBeVisibleAsync();
        await AssertNothingClipsAsync(page, $"voice-idle-{width}", tablesFit: true);

        await ChromiumSession.GotoInteractiveAsync(page, new Uri(fixture.Server.BaseAddress, "limits"));
        await Assertions.Expect(page.GetByTestId("secret-panel")).ToBeVisibleAsync();
        // The chart draws once it has measured its box: the screenshot waits for its axis labels.
        await page.Locator(".mud-chart svg text").First.WaitForAsync(new() { Timeout = 60_000 });
        // The dashboard's wide tables scroll sideways on a phone by design (they say so); on a desktop they fit.
        await AssertNothingClipsAsync(page, $"limits-{width}", tablesFit: width >= 1280);

        Assert.Empty(errors);
        await page.Context.CloseAsync();
    }

    private static async Task AssertNothingClipsAsync(IPage page, string name, bool tablesFit)
    {
        await page.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, $"layout-{name}.png"), FullPage = true });
        var clipped = await page.EvaluateAsync<JsonElement>(ClippedControls);
        Assert.True(clipped.GetArrayLength() == 0, $"{name}: clipped or off-screen controls: {clipped}");
        var overflow = await page.EvaluateAsync<int>("document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 0, $"{name}: the page scrolls sideways by {overflow} px");
        if (tablesFit)
        {
            var tables = await page.EvaluateAsync<JsonElement>(OverflowingTables);
            Assert.True(tables.GetArrayLength() == 0, $"{name}: tables wider than their box: {tables}");
        }
    }
}
