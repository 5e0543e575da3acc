using System.Net.Http.Headers;
using System.Text;
using Microsoft.Playwright;
using RealtimeConsole.Tests.Browser;

namespace RealtimeConsole.Tests.Simulator;

[Collection(BrowserCollection.Name)]
public sealed class SimulatorPageBrowserTests(BrowserFixture fixture)
{
    [Fact]
    public async Task Simulator_page_shows_live_traffic_and_runs_a_fault_in_chromium()
    {
        var (page, errors) = await fixture.Chromium.OpenPageAsync(1440, 1000);
        await ChromiumSession.GotoInteractiveAsync(page, new Uri(fixture.Server.BaseAddress, "simulator"));
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Simulator", Exact = true })).ToBeVisibleAsync();

        // Traffic that costs the shared simulator no budget: a wrong key (401) and an unknown path (404).
        using var client = fixture.Server.CreateLoopbackClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "simulator/v1/realtime/client_secrets")
        {
            Content = new StringContent("{}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-browser-test-wrong-key");
        Assert.Equal(401, (int)(await client.SendAsync(request)).StatusCode);
        Assert.Equal(404, (int)(await client.GetAsync("simulator/v1/nothing")).StatusCode);

        await Assertions.Expect(page.GetByTestId("simulator-recent")).ToContainTextAsync("invalid_api_key");

        var latency = page.GetByTestId("fault-latency");
        await latency.GetByTestId("fault-start").ClickAsync();
        await Assertions.Expect(latency.GetByTestId("fault-countdown")).ToContainTextAsync("left");

        await page.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "simulator-1440.png"), FullPage = true });

        await latency.GetByTestId("fault-stop").ClickAsync();
        await Assertions.Expect(latency.GetByTestId("fault-countdown")).ToHaveCountAsync(0);
        Assert.Empty(errors);
        await page.Context.CloseAsync();
    }
}
