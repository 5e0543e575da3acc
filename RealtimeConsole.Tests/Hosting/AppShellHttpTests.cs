using System.Net;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Hosting;

public sealed class AppShellHttpTests(ConsoleAppFactory factory) : IClassFixture<ConsoleAppFactory>
{
    [Fact]
    public async Task Healthz_answers_200()
    {
        var response = await factory.CreateClient().GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Browser_assets_from_wwwroot_assets_are_served_under_assets()
    {
        var response = await factory.CreateClient().GetAsync("/assets/app.css");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/css", response.Content.Headers.ContentType?.MediaType);
        var expected = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "wwwroot-assets", "app.css"));
        Assert.Equal(expected, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/", "Voice session")]
    [InlineData("/limits", "Rate limits")]
    [InlineData("/simulator", "Simulator")]
    public async Task Every_page_renders_inside_the_shell(string path, string heading)
    {
        var html = await factory.CreateClient().GetStringAsync(path);
        Assert.Contains($">{heading}</h4>", html, StringComparison.Ordinal);
        Assert.Contains("RealtimeConsole", html, StringComparison.Ordinal);
        Assert.Matches("_content/MudBlazor/MudBlazor.min(\\.[a-z0-9]+)?\\.css", html);
    }

    [Fact]
    public async Task Unknown_pages_answer_404()
    {
        var response = await factory.CreateClient().GetAsync("/no-such-page");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
