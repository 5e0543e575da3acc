using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Playwright;
using RealtimeConsole.Simulator.Media;
using RealtimeConsole.Simulator.Media.Realtime;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Browser;

/// <summary>What a person sees on the voice page during a 429 storm, and push-to-talk with Chromium's fake microphone.</summary>
[Collection(BrowserCollection.Name)]
public sealed class VoiceTurnsBrowserTests(BrowserFixture fixture)
{
    private static readonly LocatorAssertionsToHaveAttributeOptions Slow = new() { Timeout = 60_000 };

    [Fact]
    public async Task During_a_429_storm_the_voice_page_says_what_the_broker_waits_for_and_logs_each_http_step()
    {
        // Its own instance: the storm leaves a shared cooldown behind that other browser tests must not meet.
        await using var server = new LoopbackConsoleServer();
        server.WithServices(services => services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(1)));
        var (page, errors) = await fixture.Chromium.OpenPageAsync(1280, 800);
        await ChromiumSession.GotoInteractiveAsync(page, server.BaseAddress);
        using var http = server.CreateLoopbackClient();
        (await http.PostAsJsonAsync("simulator/admin/faults", new { kind = "rate_limit_storm", seconds = 20 })).EnsureSuccessStatusCode();

        await page.GetByTestId("connect").ClickAsync();
        await Assertions.Expect(page.GetByTestId("upstream-status")).Not.ToHaveAttributeAsync("data-kind", "Idle", Slow);
        await Assertions.Expect(page.GetByTestId("upstream-status-headline")).ToContainTextAsync(" at ", new() { Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("upstream-status-429")).ToContainTextAsync("x-request-id req_");
        await page.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "voice-storm-waiting-1280.png"), FullPage = true });

        // The SDP step ends either way as one local row: refused (429, marked, and a countdown with one wait), or answered
        // after the storm (201), depending on whether the broker's retries outlast the storm on this machine.
        var callsStep = page.Locator("[data-testid=log-row][data-type='local.http']", new() { HasText = "POST /api/realtime/calls" });
        await Assertions.Expect(callsStep).ToHaveCountAsync(1, new() { Timeout = 90_000 });
        if (await callsStep.GetAttributeAsync("data-failed") == "true")
        {
            await Assertions.Expect(callsStep).ToContainTextAsync("POST /api/realtime/calls → 429");
            await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "WaitingToRetry");
            var countdown = await page.GetByTestId("countdown").TextContentAsync();
            Assert.DoesNotContain("try again", countdown, StringComparison.OrdinalIgnoreCase);
            Assert.Single(System.Text.RegularExpressions.Regex.Matches(countdown!, @"\(in \d+ s\)"));
        }
        else
        {
            await Assertions.Expect(callsStep).ToContainTextAsync("POST /api/realtime/calls → 201");
            await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Connected", Slow);
        }

        await page.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "voice-storm-after-1280.png"), FullPage = true });

        await page.SetViewportSizeAsync(390, 844);
        await page.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "voice-storm-after-390.png") });
        await page.GetByTestId("disconnect").ClickAsync();
        await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Idle");
        await http.DeleteAsync("simulator/admin/faults");

        // The only 4xx/5xx answers are the storm's own 429s, which the page shows as a waiting state, not as an error.
        Assert.All(errors, e => Assert.StartsWith("429 POST", e, StringComparison.Ordinal));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Push_to_talk_commits_what_was_said_and_the_you_bubble_shows_the_transcript_on_a_phone()
    {
        var (page, errors) = await fixture.Chromium.OpenPageAsync(390, 844);
        await ChromiumSession.GotoInteractiveAsync(page, fixture.Server.BaseAddress);

        await page.GetByText("Push-to-talk (turns VAD off)").ClickAsync();
        var peer = fixture.Server.Services.GetRequiredService<SimulatorMediaPeer>();
        var earlier = peer.CallIds;
        await page.GetByTestId("connect").ClickAsync();
        await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Connected", Slow);
        await Assertions.Expect(page.Locator("[data-testid=log-row][data-type='session.updated']").First).ToBeAttachedAsync(new() { Timeout = 60_000 });

        // The log is virtualized (audio deltas flood it): rows are counted through its type filter, not by scrolling.
        var filter = page.Locator("input[data-testid=log-filter]");
        await filter.FillAsync("input_audio_buffer.cleared");
        var call = peer.Calls.Single(c => !earlier.Contains(c.CallId));
        await using var audio = new ConditionWaiter().On(h => call.AudioHandled += h, h => call.AudioHandled -= h);
        for (var turn = 1; turn <= 3; turn++)
        {
            await page.GetByTestId("push-to-talk").HoverAsync();
            await page.Mouse.DownAsync();
            await Assertions.Expect(page.Locator("[data-testid=log-row][data-type='input_audio_buffer.cleared']")).ToHaveCountAsync(turn, new() { Timeout = 60_000 });
            // Held until the simulator itself has half a second of audio (25 packets of 20 ms) from after the clear: the
            // browser's own packet count can jump (its stats lag on a busy machine), and the release then commits too little.
            var before = call.AudioPacketsReceived;
            await audio.UntilAsync(() => call.AudioPacketsReceived >= before + 25, $"turn {turn}: half a second of audio at the simulator");
            await page.Mouse.UpAsync();
            await Assertions.Expect(page.Locator("[data-testid=turn][data-speaker=assistant]")).ToHaveCountAsync(turn, new() { Timeout = 60_000 });
        }

        var you = page.Locator("[data-testid=turn][data-speaker=user]");
        await Assertions.Expect(you).ToHaveCountAsync(3);
        await Assertions.Expect(you.First).ToContainTextAsync(SimulatedInputTranscription.Phrase);
        await Assertions.Expect(page.Locator("[data-testid=turn][data-speaker=assistant]").Last).ToContainTextAsync(SimulatedInputTranscription.Phrase);
        // One response.create per committed turn, each sent after the server said committed, and no error.
        await filter.FillAsync("input_audio_buffer.committed");
        await Assertions.Expect(page.Locator("[data-testid=log-row][data-type='input_audio_buffer.committed']")).ToHaveCountAsync(3);
        await filter.FillAsync("response.create");
        await Assertions.Expect(page.Locator("[data-testid=log-row][data-type='response.create']")).ToHaveCountAsync(3);
        await filter.FillAsync("error");
        await Assertions.Expect(page.Locator("[data-testid=log-row]")).ToHaveCountAsync(0);
        await filter.FillAsync("");

        // The transcript follows the newest turn once it is taller than its box.
        var scroll = await page.GetByTestId("transcript").EvaluateAsync<double[]>("e => [e.scrollTop, e.scrollHeight, e.clientHeight]");
        Assert.True(scroll[1] <= scroll[2] || scroll[0] + scroll[2] >= scroll[1] - 30, $"The transcript stays at scrollTop {scroll[0]} of {scroll[1]} (box {scroll[2]}).");
        var transcript = await page.GetByTestId("transcript").BoundingBoxAsync();
        Assert.True(transcript!.Y < 900, $"On a phone the transcript starts {transcript.Y:0} px down while connected.");
        await page.EvaluateAsync("window.scrollTo(0, 0)");
        await page.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "voice-ptt-390.png") });
        await page.SetViewportSizeAsync(1280, 800);
        await page.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "voice-ptt-1280.png") });
        await page.SetViewportSizeAsync(390, 844);
        await page.GetByTestId("log-export").ScrollIntoViewIfNeededAsync();
        await Assertions.Expect(page.GetByTestId("disconnect")).ToBeInViewportAsync();
        await page.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "voice-ptt-390-scrolled.png") });

        await page.GetByTestId("disconnect").ClickAsync();
        await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Idle");
        Assert.Empty(errors);
        await page.Context.CloseAsync();
    }
}
