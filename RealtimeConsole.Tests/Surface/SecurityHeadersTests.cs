using System.Text.RegularExpressions;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Surface;

/// <summary>Security headers on every answer, and pages that need no inline script to run under the policy.</summary>
public sealed partial class SecurityHeadersTests : IDisposable
{
    private readonly ProductionConsole _app = new();

    public void Dispose() => _app.Dispose();

    [Theory]
    [InlineData("/")]
    [InlineData("/limits")]
    [InlineData("/simulator")]
    [InlineData("/api/telemetry")]
    [InlineData("/api/no-such-thing")]
    [InlineData("/assets/voice-session.js")]
    [InlineData("/simulator/admin/limits")]
    [InlineData("/healthz")]
    public async Task Every_answer_carries_the_security_headers(string path)
    {
        using var response = await _app.CreateClient().GetAsync(path);

        var policy = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self';", policy, StringComparison.Ordinal);
        Assert.Contains("style-src 'self' 'unsafe-inline'", policy, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
        Assert.Contains("object-src 'none'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-eval", policy, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/limits")]
    [InlineData("/simulator")]
    public async Task Pages_carry_no_inline_script(string path)
    {
        var html = await _app.CreateClient().GetStringAsync(path);

        var scripts = ScriptTag().Matches(html).Select(m => m.Value).ToList();
        Assert.NotEmpty(scripts);
        Assert.All(scripts, tag => Assert.Matches("""\bsrc="[^"]+""", tag));
        Assert.DoesNotMatch("""\son[a-z]+\s*=""", html);
    }

    [Fact]
    public async Task With_a_real_key_the_policy_lets_browsers_post_offers_to_the_upstream_and_nowhere_else()
    {
        using var app = new ConsoleAppFactory().WithSetting("OPENAI_API_KEY", "sk-test-csp").WithSetting("Realtime:BaseUrl", "https://api.example.test/v1");

        using var response = await app.CreateClient().GetAsync("/");

        var policy = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("connect-src 'self' https://api.example.test;", policy, StringComparison.Ordinal);
    }

    [GeneratedRegex("<script\\b[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex ScriptTag();
}
