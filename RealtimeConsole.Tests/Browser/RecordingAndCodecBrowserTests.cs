using System.Text.Json;
using Microsoft.Playwright;

namespace RealtimeConsole.Tests.Browser;

/// <summary>The voice page's codec preference reaching the simulator's answer, and a session recorded and saved in Chromium.</summary>
[Collection(BrowserCollection.Name)]
public sealed class RecordingAndCodecBrowserTests(BrowserFixture fixture)
{
    // Connecting crosses the broker, the simulator and a WebRTC handshake; on a loaded CI machine that takes tens of seconds.
    private static readonly LocatorAssertionsToHaveAttributeOptions Slow = new() { Timeout = 60_000 };

    [Fact]
    public async Task Pcma_first_in_the_offer_is_what_the_simulator_answers_and_the_connection_card_shows()
    {
        var (page, errors) = await fixture.Chromium.OpenPageAsync();
        await ChromiumSession.GotoInteractiveAsync(page, fixture.Server.BaseAddress);

        await page.Locator(".mud-input-control.mud-select", new() { Has = page.GetByTestId("codec-preference") }).ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = "PCMA, Opus, PCMU" }).ClickAsync();
        var offer = page.WaitForRequestAsync(r => r.Url.EndsWith("/api/realtime/calls", StringComparison.Ordinal) && r.Method == "POST");
        await page.GetByTestId("connect").ClickAsync();

        // The offer's audio line starts with PCMA's payload type: setCodecPreferences took the order.
        var audioLine = (await offer).PostData!.Split("\r\n").Single(l => l.StartsWith("m=audio ", StringComparison.Ordinal));
        Assert.Equal("8", audioLine.Split(' ')[3]);
        await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Connected", Slow);
        await Assertions.Expect(page.GetByTestId("codec")).ToHaveAttributeAsync("data-codec", "PCMA/8000");
        await Assertions.Expect(page.GetByTestId("codec-order")).ToHaveTextAsync("offered PCMA, Opus, PCMU");
        await page.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "voice-codec-pcma-1280.png"), FullPage = true });

        await page.GetByTestId("disconnect").ClickAsync();
        await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Idle");
        Assert.Empty(errors);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_recorded_session_saves_a_webm_and_its_event_log_as_jsonl()
    {
        var (page, errors) = await fixture.Chromium.OpenPageAsync();
        var downloads = new List<IDownload>();
        var bothSaved = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        page.Download += (_, download) =>
        {
            lock (downloads)
            {
                downloads.Add(download);
                if (downloads.Count == 2)
                {
                    bothSaved.TrySetResult();
                }
            }
        };
        await ChromiumSession.GotoInteractiveAsync(page, fixture.Server.BaseAddress);

        // Push-to-talk: the fake microphone's beep would otherwise barge in on the reply.
        await page.GetByText("Push-to-talk (turns VAD off)").ClickAsync();
        await page.GetByTestId("connect").ClickAsync();
        await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Connected", Slow);
        // Chromium's default order puts Opus first; the simulator answers with the first it speaks.
        await Assertions.Expect(page.GetByTestId("codec")).ToHaveAttributeAsync("data-codec", "PCMU/8000");

        await page.GetByTestId("record-start").ClickAsync();
        await Assertions.Expect(page.GetByTestId("recording")).ToBeVisibleAsync();
        await page.GetByTestId("send-text").FillAsync("Say something for the recording");
        await page.GetByTestId("send").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=log-row][data-type='response.done']").First).ToBeAttachedAsync(new() { Timeout = 60_000 });
        // The reply's transcript deltas sit in one row with their count; opened, it reads as the sentence they make.
        var transcript = page.Locator("[data-testid=log-row][data-group=true][data-type='response.output_audio_transcript.delta']").First;
        await transcript.Locator(".voice-log-line").ClickAsync();
        await Assertions.Expect(transcript.GetByTestId("log-group-text")).ToContainTextAsync("Say something for the recording");
        await page.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "voice-recording-1280.png") });
        await page.GetByTestId("record-stop").ClickAsync();

        await bothSaved.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await Assertions.Expect(page.GetByTestId("record-saved")).ToContainTextAsync(".webm");
        var audio = downloads.Single(d => d.SuggestedFilename.EndsWith(".webm", StringComparison.Ordinal));
        var events = downloads.Single(d => d.SuggestedFilename.EndsWith(".jsonl", StringComparison.Ordinal));
        Assert.Equal(Path.GetFileNameWithoutExtension(audio.SuggestedFilename), Path.GetFileNameWithoutExtension(events.SuggestedFilename));

        var webm = await File.ReadAllBytesAsync((await audio.PathAsync())!);
        Assert.True(webm.Length > 1000, $"the recording holds only {webm.Length} bytes");
        Assert.Equal(new byte[] { 0x1A, 0x45, 0xDF, 0xA3 }, webm[..4]);

        var lines = (await File.ReadAllLinesAsync((await events.PathAsync())!)).Where(l => l.Length > 0).ToList();
        var types = lines.Select(l =>
        {
            using var line = JsonDocument.Parse(l);
            return line.RootElement.GetProperty("event").ValueKind == JsonValueKind.Object && line.RootElement.GetProperty("event").TryGetProperty("type", out var type)
                ? type.GetString()
                : null;
        }).ToList();
        Assert.Contains("session.created", types);
        Assert.Contains("response.done", types);
        Assert.Contains("local.http", types);

        await page.GetByTestId("disconnect").ClickAsync();
        await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Idle");
        Assert.Empty(errors);
        await page.Context.CloseAsync();
    }
}
