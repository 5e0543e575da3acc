using Microsoft.Playwright;
using RealtimeConsole.Tests.Browser;

namespace RealtimeConsole.Tests.Surface;

/// <summary>
/// The pages in Chromium under the console's Content-Security-Policy: Blazor's circuit, MudBlazor and the voice module
/// (a whole call through the broker) run with no violation reported and no console error.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class ContentSecurityPolicyBrowserTests(BrowserFixture fixture)
{
    // The test's own hook, injected by Playwright (not subject to the page's policy): records every violation.
    private const string RecordViolations = """
        window.__cspViolations = [];
        document.addEventListener("securitypolicyviolation", e => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
        """;

    [Fact]
    public async Task The_voice_page_connects_and_hangs_up_under_the_policy()
    {
        var (page, errors) = await OpenUnderPolicyAsync("");

        await page.GetByText("Push-to-talk (turns VAD off)").ClickAsync();
        await page.GetByTestId("connect").ClickAsync();
        await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Connected", new() { Timeout = 60_000 });
        await Assertions.Expect(page.Locator("[data-testid=log-row][data-type='session.created']")).ToHaveCountAsync(1, new() { Timeout = 60_000 });
        await page.GetByTestId("disconnect").ClickAsync();
        await Assertions.Expect(page.GetByTestId("connection-state")).Not.ToHaveAttributeAsync("data-state", "Connected", new() { Timeout = 60_000 });

        await AssertNoViolationsAsync(page, errors);
    }

    [Fact]
    public async Task The_limits_page_runs_under_the_policy()
    {
        var (page, errors) = await OpenUnderPolicyAsync("limits");

        await Assertions.Expect(page.Locator("[data-interactive=true]")).ToBeAttachedAsync();

        await AssertNoViolationsAsync(page, errors);
    }

    [Fact]
    public async Task The_simulator_page_applies_a_preset_under_the_policy()
    {
        var (page, errors) = await OpenUnderPolicyAsync("simulator");

        await page.GetByTestId("simulator-reset").ClickAsync();
        await Assertions.Expect(page.GetByTestId("simulator-reset")).ToBeEnabledAsync();

        await AssertNoViolationsAsync(page, errors);
    }

    [Fact]
    public async Task An_injected_inline_script_is_refused_and_reported()
    {
        var (page, _) = await OpenUnderPolicyAsync("limits");

        await page.EvaluateAsync("""
            () => {
                const script = document.createElement("script");
                script.textContent = "window.__inlineRan = true;";
                document.body.appendChild(script);
            }
            """);

        // The violation event is dispatched as a task after the refusal; wait for it on the page, not on the clock.
        await page.WaitForFunctionAsync("() => window.__cspViolations.length > 0", null, new() { Timeout = 60_000 });
        Assert.True(await page.EvaluateAsync<bool>("() => window.__inlineRan === undefined"));
        var violations = await page.EvaluateAsync<string[]>("() => window.__cspViolations");
        Assert.Contains(violations, v => v.StartsWith("script-src", StringComparison.Ordinal));
        await page.Context.CloseAsync();
    }

    private async Task<(IPage Page, List<string> Errors)> OpenUnderPolicyAsync(string path)
    {
        var (page, errors) = await fixture.Chromium.OpenPageAsync();
        await page.AddInitScriptAsync(RecordViolations);
        var url = new Uri(fixture.Server.BaseAddress, path);
        var response = await page.GotoAsync(url.ToString());
        Assert.NotNull(response);
        var policy = await response.HeaderValueAsync("content-security-policy");
        Assert.Contains("script-src 'self';", policy, StringComparison.Ordinal);
        await page.Locator("[data-interactive=true]").WaitForAsync(new() { Timeout = 60_000 });
        return (page, errors);
    }

    private static async Task AssertNoViolationsAsync(IPage page, List<string> errors)
    {
        var violations = await page.EvaluateAsync<string[]>("() => window.__cspViolations");
        Assert.Empty(violations);
        Assert.Empty(errors);
        await page.Context.CloseAsync();
    }
}
