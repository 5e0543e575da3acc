using RealtimeConsole.Upstream;

namespace RealtimeConsole.Surface;

/// <summary>
/// The headers every answer carries: a Content-Security-Policy the pages, Blazor Server, MudBlazor and the voice module
/// run under (no inline script; inline styles only because MudBlazor writes style attributes and its theme as a
/// <c>&lt;style&gt;</c> element), <c>nosniff</c>, no referrer, and no framing by other sites.
/// </summary>
public sealed class SecurityHeaders(UpstreamEndpoint? upstream)
{
    private string? _policy;

    /// <summary>The policy; <c>connect-src</c> adds the upstream's origin when browsers post their offers there directly.</summary>
    public string ContentSecurityPolicy => _policy ??= Build(upstream is { IsEmbeddedSimulator: false } ? BrowserOrigin(upstream.BrowserCallsUrl) : null);

    public static string Build(string? upstreamOrigin) => string.Join("; ",
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'" + (upstreamOrigin is null ? "" : " " + upstreamOrigin),
        "media-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'");

    public void Apply(HttpResponse response)
    {
        var headers = response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";
    }

    private static string? BrowserOrigin(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.GetLeftPart(UriPartial.Authority) : null;
}
