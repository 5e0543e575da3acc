using System.Net.Http.Json;
using Microsoft.Playwright;

namespace RealtimeConsole.Tests.Browser;

[Collection(BrowserCollection.Name)]
public sealed class LimitsBrowserTests(BrowserFixture fixture)
{
    [Fact]
    public async Task During_a_429_storm_the_dashboard_shows_the_backoff_and_the_last_429_on_desktop_and_phone()
    {
        var (desktop, errors) = await fixture.Chromium.OpenPageAsync(1280, 800);
        await ChromiumSession.GotoInteractiveAsync(desktop, new Uri(fixture.Server.BaseAddress, "limits"));
        await Assertions.Expect(desktop.GetByTestId("backoff")).ToBeVisibleAsync();

        using var http = fixture.Server.CreateLoopbackClient();
        (await http.PostAsJsonAsync("simulator/admin/faults", new { kind = "rate_limit_storm", seconds = 20 })).EnsureSuccessStatusCode();
        // The mints run into the storm and wait out retries and the cooldown; the page must show that while they wait.
        using var giveUp = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var mints = Enumerable.Range(0, 3).Select(_ => http.PostAsJsonAsync("api/realtime/client-secret", new { }, giveUp.Token)).ToList();

        await Assertions.Expect(desktop.GetByTestId("last-429-code")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^rate_limit"), new() { Timeout = 10_000 });
        await Assertions.Expect(desktop.GetByTestId("backoff")).Not.ToHaveAttributeAsync("data-kind", "Idle");
        await Assertions.Expect(desktop.GetByTestId("calls-table")).ToContainTextAsync("429");
        await desktop.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "limits-storm-1280.png"), FullPage = true });

        var (phone, phoneErrors) = await fixture.Chromium.OpenPageAsync(390, 844);
        await ChromiumSession.GotoInteractiveAsync(phone, new Uri(fixture.Server.BaseAddress, "limits"));
        await Assertions.Expect(phone.GetByTestId("last-429-code")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^rate_limit"));
        var overflow = await phone.EvaluateAsync<bool>("document.documentElement.scrollWidth > window.innerWidth + 1");
        await phone.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "limits-storm-390.png"), FullPage = true });

        Assert.False(overflow, "The phone layout scrolls sideways.");
        Assert.Empty(errors);
        Assert.Empty(phoneErrors);
        await giveUp.CancelAsync();
        await Task.WhenAll(mints.Select(m => m.ContinueWith(_ => { }, TaskScheduler.Default)));
        await http.DeleteAsync("simulator/admin/faults");
        await desktop.Context.CloseAsync();
        await phone.Context.CloseAsync();
    }
}
