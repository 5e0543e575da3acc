using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using RealtimeConsole.Access;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Browser;

/// <summary>Auth:Mode=BrowserToken in Chromium: from the link in the start-up log to a call on the voice page; a wrong token.</summary>
[Collection(BrowserCollection.Name)]
public sealed class SignInBrowserTests(BrowserFixture fixture)
{
    private const string LinkPrefix = "Login to RealtimeConsole: ";

    [Fact]
    public async Task The_logged_link_signs_chromium_in_as_admin_and_the_voice_page_makes_a_call()
    {
        var logged = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new LoopbackConsoleServer();
        server.WithSetting("Auth:Mode", "BrowserToken").WithServices(s => s.AddLogging(l => l.AddProvider(new LineWatcher(LinkPrefix, logged))));
        var address = server.BaseAddress;
        // Logged once the server has started, which may be a moment after it answers.
        var link = (await logged.Task.WaitAsync(TimeSpan.FromSeconds(30)))[LinkPrefix.Length..];
        Assert.StartsWith($"http://127.0.0.1:{address.Port}/login?t=", link, StringComparison.Ordinal);

        var (page, errors) = await fixture.Chromium.OpenPageAsync(1280, 800);
        try
        {
            await page.GotoAsync(address.ToString());
            await Assertions.Expect(page.GetByTestId("login-page")).ToBeVisibleAsync();

            await ChromiumSession.GotoInteractiveAsync(page, new Uri(link));
            Assert.Equal(address.ToString(), page.Url);
            await Assertions.Expect(page.GetByTestId("signed-in-as")).ToHaveAttributeAsync("data-role", ConsoleRoles.Admin);
            await Assertions.Expect(page.GetByTestId("nav-simulator")).ToBeVisibleAsync();
            var cookie = Assert.Single(await page.Context.CookiesAsync(), c => c.Name == AccessFeature.CookieName);
            Assert.True(cookie.HttpOnly);
            Assert.Equal(SameSiteAttribute.Lax, cookie.SameSite);

            await page.GetByTestId("connect").ClickAsync();
            await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Connected", new() { Timeout = 60_000 });
            await page.GetByTestId("disconnect").ClickAsync();
            await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-state", "Idle");

            // The first visit, before the link, was the only refusal.
            Assert.Equal([$"401 GET {address}"], errors);
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }

    /// <summary>Completes <paramref name="line"/> with the first log message that starts with <paramref name="prefix"/>.</summary>
    private sealed class LineWatcher(string prefix, TaskCompletionSource<string> line) : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception);
            if (message.StartsWith(prefix, StringComparison.Ordinal))
            {
                line.TrySetResult(message);
            }
        }

        public void Dispose()
        {
        }
    }

    [Fact]
    public async Task A_wrong_token_shows_where_the_link_is_and_signs_nobody_in()
    {
        await using var server = new LoopbackConsoleServer();
        server.WithSetting("Auth:Mode", "BrowserToken").WithSetting("Auth:BrowserToken", "the-right-one");
        var (page, _) = await fixture.Chromium.OpenPageAsync(390, 844);
        try
        {
            await page.GotoAsync(new Uri(server.BaseAddress, "login?t=a-wrong-one").ToString());

            await Assertions.Expect(page.GetByTestId("login-problem")).ToContainTextAsync("not this console's");
            await Assertions.Expect(page.GetByTestId("login-page")).ToContainTextAsync("Login to RealtimeConsole: http://localhost:5080/login?t=");
            Assert.DoesNotContain(await page.Context.CookiesAsync(), c => c.Name == AccessFeature.CookieName);
            await page.ScreenshotAsync(new() { Path = Path.Combine(ChromiumSession.ScreenshotDirectory, "login-wrong-token-390.png"), FullPage = true });

            await page.GotoAsync(new Uri(server.BaseAddress, "limits").ToString());
            await Assertions.Expect(page.GetByTestId("login-page")).ToBeVisibleAsync();
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }
}
