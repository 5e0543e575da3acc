using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using RealtimeConsole.Simulator;
using RealtimeConsole.Tokens;

namespace RealtimeConsole.Tests.Browser;

/// <summary>The voice page, browser-direct in Shared mode, against an upstream that takes each ephemeral key once.</summary>
[Collection(BrowserCollection.Name)]
public sealed class SingleUseSecretBrowserTests(BrowserFixture fixture)
{
    private static readonly LocatorAssertionsToHaveAttributeOptions Slow = new() { Timeout = 60_000 };

    [Fact]
    public async Task A_reused_shared_key_refused_with_401_is_replaced_once_and_the_page_connects()
    {
        var gate = fixture.Server.Services.GetRequiredService<SimulatorGate>();
        var broker = fixture.Server.Services.GetRequiredService<ClientSecretBroker>();
        var mode = broker.Mode;
        var (page, errors) = await fixture.Chromium.OpenPageAsync();
        try
        {
            broker.SwitchMode(SecretMode.Shared);
            gate.Options.SecretReuse = SimulatorSecretReuse.SingleUse;
            await ChromiumSession.GotoInteractiveAsync(page, fixture.Server.BaseAddress);
            await page.GetByText("Push-to-talk (turns VAD off)").ClickAsync();
            await page.Locator(".mud-input-control.mud-select", new() { Has = page.GetByTestId("connection-path") }).ClickAsync();
            await page.GetByRole(AriaRole.Option, new() { Name = "Browser-direct with an ephemeral secret" }).ClickAsync();

            // The first session uses the shared key (or already replaces it, if an earlier test used it).
            await page.GetByTestId("connect").ClickAsync();
            await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Connected", Slow);
            await page.GetByTestId("disconnect").ClickAsync();
            await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Idle");

            // The second gets the same cached key, is refused, reports it and connects with the fresh one.
            var report = page.WaitForRequestAsync(r => r.Url.EndsWith("/api/realtime/client-secret", StringComparison.Ordinal) && r.Headers.ContainsKey("x-refused-client-secret"));
            await page.GetByTestId("connect").ClickAsync();
            Assert.StartsWith("ek_", (await report).Headers["x-refused-client-secret"], StringComparison.Ordinal);
            await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Connected", Slow);
            await page.GetByTestId("disconnect").ClickAsync();
            // The only failures the page saw are the designed refusals of the reused key at the calls URL.
            Assert.All(errors, e => Assert.Matches("^401 POST .*/simulator/v1/realtime/calls$", e));
        }
        finally
        {
            gate.Options.SecretReuse = SimulatorSecretReuse.Allowed;
            broker.SwitchMode(mode);
            await page.Context.CloseAsync();
        }
    }
}
