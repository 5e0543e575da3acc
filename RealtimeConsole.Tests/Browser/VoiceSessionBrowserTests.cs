using Microsoft.Playwright;

namespace RealtimeConsole.Tests.Browser;

/// <summary>The voice session page in Chromium against the embedded simulator (broker + media peer in the same app).</summary>
[Collection(BrowserCollection.Name)]
public sealed class VoiceSessionBrowserTests(BrowserFixture fixture)
{
    private const string DenyMicrophone = """
        navigator.mediaDevices.getUserMedia = async () => { throw new DOMException("Permission denied", "NotAllowedError"); };
        """;

    private static readonly LocatorAssertionsToHaveAttributeOptions Slow = new() { Timeout = 20_000 };

    [Fact]
    public async Task A_denied_microphone_shows_the_failed_state_with_its_reason_on_a_phone()
    {
        var (page, errors) = await fixture.Chromium.OpenPageAsync(390, 844);
        await page.AddInitScriptAsync(DenyMicrophone);
        await ChromiumSession.GotoInteractiveAsync(page, fixture.Server.BaseAddress);

        await page.GetByTestId("connect").ClickAsync();
        await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Failed", Slow);
        await Assertions.Expect(page.GetByTestId("state-reason")).ToHaveTextAsync("Microphone: NotAllowedError: Permission denied");
        await page.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "voice-session-failed-390.png") });

        Assert.Empty(errors);
        await page.Context.CloseAsync();
    }
}
