using Microsoft.Playwright;
using RealtimeConsole.Access;
using RealtimeConsole.Tests.Access;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Browser;

/// <summary>Auth:Mode=OpenIdConnect against a real provider on loopback (OpenIddict), signed in through Chromium, roles from its claims.</summary>
[Collection(BrowserCollection.Name)]
public sealed class OpenIdConnectBrowserTests(BrowserFixture fixture) : IAsyncLifetime
{
    private OpenIddictProvider _provider = null!;
    private LoopbackConsoleServer _console = null!;

    public async Task InitializeAsync()
    {
        _provider = await OpenIddictProvider.StartAsync();
        _console = new LoopbackConsoleServer();
        _console.WithSetting("Auth:Mode", "OpenIdConnect")
            .WithSetting("Auth:OpenIdConnect:Authority", _provider.Address.ToString())
            .WithSetting("Auth:OpenIdConnect:ClientId", OpenIddictProvider.ClientId)
            .WithSetting("Auth:OpenIdConnect:ClientSecret", OpenIddictProvider.ClientSecret)
            .WithSetting("Auth:OpenIdConnect:RequireHttpsMetadata", "false")
            .WithSetting("Auth:OpenIdConnect:RoleMap:support", ConsoleRoles.Viewer);
        await _provider.RegisterConsoleAsync(_console.BaseAddress);

        // Warm both ends before the browser's timed navigation: the first challenge fetches the provider's metadata and keys,
        // and each server compiles its pipeline on its first request (up to a minute on a loaded 2-core machine).
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(120) };
        using var challenge = await client.GetAsync(_console.BaseAddress);
        Assert.Equal(System.Net.HttpStatusCode.Redirect, challenge.StatusCode);
        Assert.StartsWith(_provider.Address.ToString(), challenge.Headers.Location!.ToString(), StringComparison.Ordinal);
        using var authorize = await client.GetAsync(challenge.Headers.Location);
        Assert.Equal(System.Net.HttpStatusCode.OK, authorize.StatusCode);
    }

    public async Task DisposeAsync()
    {
        await _console.DisposeAsync();
        await _provider.DisposeAsync();
    }

    [Fact]
    public async Task A_developer_from_the_provider_gets_the_voice_page_but_not_the_simulator()
    {
        var page = await SignInAsync("bob", "");
        try
        {
            await Assertions.Expect(page.GetByTestId("signed-in-as")).ToHaveAttributeAsync("data-role", ConsoleRoles.Developer);
            await Assertions.Expect(page.GetByTestId("signed-in-as")).ToContainTextAsync("bob");
            await Assertions.Expect(page.GetByTestId("connect")).ToBeVisibleAsync();
            await Assertions.Expect(page.GetByTestId("nav-limits")).ToBeVisibleAsync();
            await Assertions.Expect(page.GetByTestId("nav-simulator")).ToHaveCountAsync(0);

            var simulator = await page.GotoAsync(new Uri(_console.BaseAddress, "simulator").ToString());
            Assert.Equal(403, simulator!.Status);
            await Assertions.Expect(page.GetByTestId("access-role")).ToHaveTextAsync(ConsoleRoles.Developer);
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }

    [Fact]
    public async Task A_provider_role_mapped_to_viewer_sees_the_dashboard_without_its_admin_actions()
    {
        var page = await SignInAsync("alice", "limits");
        try
        {
            await Assertions.Expect(page.GetByTestId("signed-in-as")).ToHaveAttributeAsync("data-role", ConsoleRoles.Viewer);
            await Assertions.Expect(page.GetByTestId("export-csv")).ToBeVisibleAsync();
            await Assertions.Expect(page.GetByTestId("force-refresh")).ToHaveCountAsync(0);
            await Assertions.Expect(page.GetByTestId("nav-voice")).ToHaveCountAsync(0);

            var voice = await page.GotoAsync(_console.BaseAddress.ToString());
            Assert.Equal(403, voice!.Status);
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }

    [Fact]
    public async Task An_admin_from_the_provider_gets_the_simulator()
    {
        var page = await SignInAsync("carol", "simulator");
        try
        {
            await Assertions.Expect(page.GetByTestId("signed-in-as")).ToHaveAttributeAsync("data-role", ConsoleRoles.Admin);
            await Assertions.Expect(page.GetByTestId("nav-simulator")).ToBeVisibleAsync();
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }

    /// <summary>Opens <paramref name="path"/>, follows the redirect to the provider, picks <paramref name="user"/>, and waits for the circuit back on the console.</summary>
    private async Task<IPage> SignInAsync(string user, string path)
    {
        var (page, _) = await fixture.Chromium.OpenPageAsync(1280, 800);
        // Generous: the first challenge fetches the provider's metadata, and the machine may be busy.
        await page.GotoAsync(new Uri(_console.BaseAddress, path).ToString(), new() { Timeout = 60_000 });
        Assert.StartsWith(_provider.Address.ToString(), page.Url, StringComparison.Ordinal);
        await page.GetByTestId($"provider-user-{user}").ClickAsync();
        await page.WaitForURLAsync(new Uri(_console.BaseAddress, path).ToString(), new() { Timeout = 60_000 });
        await page.Locator("[data-interactive=true]").WaitForAsync(new() { Timeout = 60_000 });
        return page;
    }
}
