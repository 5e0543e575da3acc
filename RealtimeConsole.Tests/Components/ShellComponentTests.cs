using RealtimeConsole.Components.Layout;
using RealtimeConsole.Components.Pages;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Components;

public sealed class ShellComponentTests : ConsoleComponentTest
{
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
