using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using RealtimeConsole.Simulator.Media;

namespace RealtimeConsole.Tests.Browser;

/// <summary>The voice session page in Chromium against the embedded simulator (broker + media peer in the same app).</summary>
[Collection(BrowserCollection.Name)]
public sealed class VoiceSessionBrowserTests(BrowserFixture fixture)
{
    // The test's own hook (not the app's): remembers every microphone track the page opens.
    private const string TrackMicrophones = """
        window.__voiceTestTracks = [];
        const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
        navigator.mediaDevices.getUserMedia = async constraints => {
            const stream = await original(constraints);
            window.__voiceTestTracks.push(...stream.getTracks());
            return stream;
        };
        """;

    private const string DenyMicrophone = """
        navigator.mediaDevices.getUserMedia = async () => { throw new DOMException("Permission denied", "NotAllowedError"); };
        """;

    // Connecting crosses the broker, the simulator and a WebRTC handshake; on a loaded CI machine that takes tens of seconds.
    private static readonly LocatorAssertionsToHaveAttributeOptions Slow = new() { Timeout = 60_000 };

    [Fact]
    public async Task Connect_talk_by_text_run_a_tool_and_disconnect_releases_the_microphone()
    {
        var (page, errors) = await fixture.Chromium.OpenPageAsync();
        await page.AddInitScriptAsync(TrackMicrophones);
        await ChromiumSession.GotoInteractiveAsync(page, fixture.Server.BaseAddress);

        // The fake microphone beeps; with VAD on, a beep would barge in on the reply this test waits for.
        await page.GetByText("Push-to-talk (turns VAD off)").ClickAsync();
        await page.GetByTestId("connect").ClickAsync();
        await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Connected", Slow);
        await Assertions.Expect(page.Locator("[data-testid=log-row][data-type='session.created']")).ToHaveCountAsync(1, new() { Timeout = 60_000 });

        await page.GetByTestId("send-text").FillAsync("Hello from Chromium");
        await page.GetByTestId("send").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=turn][data-speaker=assistant]").First).ToContainTextAsync("Hello from Chromium", new() { Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("usage")).Not.ToContainTextAsync("0 responses", new() { Timeout = 60_000 });

        var background = await page.EvaluateAsync<string>("getComputedStyle(document.body).backgroundColor");
        await page.GetByTestId("send-text").FillAsync("Please switch to dark mode");
        await page.GetByTestId("send").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=tool-call][data-tool=set_theme]")).ToHaveCountAsync(1, new() { Timeout = 60_000 });
        await Assertions.Expect(page.Locator("body")).Not.ToHaveCSSAsync("background-color", background);
        await Assertions.Expect(page.Locator("[data-testid=log-row][data-type='response.done']").First).ToBeAttachedAsync();
        await page.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "voice-session-connected-1280.png"), FullPage = true });

        Assert.True(await page.EvaluateAsync<int>("window.__voiceTestTracks.length") > 0, "the page never opened the microphone");
        var hangUp = page.WaitForResponseAsync(r => r.Request.Method == "DELETE" && r.Url.Contains("/api/realtime/calls/", StringComparison.Ordinal));
        await page.GetByTestId("disconnect").ClickAsync();
        await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Idle");
        Assert.True(await page.EvaluateAsync<bool>("window.__voiceTestTracks.every(t => t.readyState === 'ended')"), "a microphone track is still live after Disconnect");
        var hungUp = await hangUp;
        Assert.Equal(204, hungUp.Status);
        var callId = new Uri(hungUp.Url).Segments[^1];
        Assert.StartsWith("rtc_", callId, StringComparison.Ordinal);
        Assert.Null(((SimulatorMediaPeer)fixture.Server.Services.GetRequiredService<ISimulatorMediaPeer>()).Find(callId));

        Assert.Empty(errors);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Browser_direct_connects_with_an_ephemeral_secret_on_a_phone()
    {
        var (page, errors) = await fixture.Chromium.OpenPageAsync(390, 844);
        await ChromiumSession.GotoInteractiveAsync(page, fixture.Server.BaseAddress);

        await page.Locator(".mud-input-control.mud-select", new() { Has = page.GetByTestId("connection-path") }).ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = "Browser-direct with an ephemeral secret" }).ClickAsync();
        var secretRequest = page.WaitForRequestAsync(r => r.Url.EndsWith("/api/realtime/client-secret", StringComparison.Ordinal));
        await page.GetByTestId("connect").ClickAsync();
        Assert.Contains("\"turn_detection\"", (await secretRequest).PostData, StringComparison.Ordinal);
        await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Connected", Slow);
        await Assertions.Expect(page.Locator("[data-testid=log-row][data-type='session.updated']").First).ToBeAttachedAsync(new() { Timeout = 60_000 });
        await page.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "voice-session-direct-390.png") });

        await page.GetByTestId("disconnect").ClickAsync();
        await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Idle");
        Assert.Empty(errors);
        await page.Context.CloseAsync();
    }

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
