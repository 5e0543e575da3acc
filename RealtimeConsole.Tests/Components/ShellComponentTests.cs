using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RealtimeConsole.Components.Layout;
using RealtimeConsole.Components.Pages;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tests.Components;

public sealed class ShellComponentTests : ConsoleComponentTest
{
    public ShellComponentTests() => UseUpstream(apiKey: "");

    private void UseUpstream(string apiKey)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["OPENAI_API_KEY"] = apiKey }).Build();
        Services.AddSingleton(new UpstreamEndpoint(configuration, Options.Create(new RealtimeOptions()), null!));
    }

    [Theory]
    [InlineData("", "Simulator")]
    [InlineData("sk-test-not-real", "OpenAI")]
    public void The_app_bar_says_which_upstream_this_instance_talks_to(string apiKey, string badge)
    {
        UseUpstream(apiKey);
        var cut = Render<MainLayout>(p => p.Add(l => l.Body, builder => builder.AddContent(0, "page body")));
        Assert.Equal(badge, cut.Find("[data-testid=upstream-badge]").TextContent.Trim());
    }

    [Fact]
    public void NavMenu_links_the_three_pages()
    {
        var cut = Render<NavMenu>();
        var links = cut.FindAll("a").Select(a => (a.GetAttribute("href"), a.TextContent.Trim())).ToList();
        Assert.Equal([("", "Voice session"), ("limits", "Rate limits"), ("simulator", "Simulator")], links);
    }

    [Fact]
    public void Theme_toggle_switches_between_light_and_dark()
    {
        var cut = Render<MainLayout>(p => p.Add(l => l.Body, builder => builder.AddContent(0, "page body")));
        Assert.Contains("--mud-palette-background: rgba(245,246,250,1)", cut.Markup, StringComparison.OrdinalIgnoreCase);

        cut.Find("[data-testid=theme-toggle]").Click();

        cut.WaitForAssertion(() => Assert.DoesNotContain("--mud-palette-background: rgba(245,246,250,1)", cut.Markup, StringComparison.OrdinalIgnoreCase));
        Assert.Contains("page body", cut.Markup, StringComparison.Ordinal);
    }
}
