using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using RealtimeConsole.Hosting;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Tests.Upstream;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tests.Tokens;

/// <summary>Fetches everything a browser or a dashboard can reach and looks for the server's API key in it.</summary>
public sealed partial class ApiKeyNeverLeaksTests
{
    private const string Key = "sk-test-CANARY-7c1e94d2b5";
    private const string Offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n";

    [Fact]
    public async Task The_api_key_appears_in_no_page_script_asset_api_answer_or_telemetry()
    {
        // An upstream that echoes the key back in its error messages, the worst case for anything passed through.
        var upstream = new FakeUpstreamHandler(TimeProvider.System, (request, n) => (request.RequestUri!.AbsolutePath, n % 3) switch
        {
            (var path, _) when path.EndsWith("/calls", StringComparison.Ordinal) => new HttpResponseMessage(HttpStatusCode.Created)
            {
                Content = new StringContent("v=0\r\nanswer\r\n", Encoding.UTF8, "application/sdp"),
                Headers = { Location = new Uri("/v1/realtime/calls/rtc_1", UriKind.Relative) },
            },
            (_, 0) => FakeUpstreamHandler.Json(HttpStatusCode.Unauthorized,
                $$$"""{"error":{"message":"Incorrect API key provided: {{{request.Headers.Authorization!.Parameter}}}","type":"invalid_request_error","code":"invalid_api_key"}}""", "req_leak"),
            _ => FakeUpstreamHandler.Secret(TimeProvider.System),
        });
        using var app = new ConsoleAppFactory()
            .WithSetting("OPENAI_API_KEY", Key)
            .WithSetting("Realtime:BaseUrl", "http://upstream.test/v1")
            .WithSetting("Realtime:DoorPermitsPerMinute", "1000")
            .WithServices(s => s.AddHttpClient(UpstreamGate.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => upstream));
        var client = app.CreateClient();
        var seen = new List<(string What, string Text)>();

        for (var i = 0; i < 6; i++)
        {
            seen.Add(("client-secret", await (await client.PostAsync("/api/realtime/client-secret", null)).Content.ReadAsStringAsync()));
        }

        var call = await client.PostAsync("/api/realtime/calls", new StringContent(Offer, Encoding.UTF8, "application/sdp"));
        seen.Add(("calls", await call.Content.ReadAsStringAsync() + call.Headers));
        seen.Add(("bad sdp", await (await client.PostAsync("/api/realtime/calls", new StringContent("x", Encoding.UTF8, "application/sdp"))).Content.ReadAsStringAsync()));

        var pages = new[] { "/", "/limits", "/simulator", "/no-such-page" };
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        foreach (var page in pages)
        {
            var html = await client.GetStringOrErrorAsync(page);
            seen.Add((page, html));
            foreach (Match match in LocalReference().Matches(html))
            {
                referenced.Add(match.Groups[1].Value);
            }
        }

        var assets = Directory.EnumerateFiles(BrowserAssets.Directory, "*", SearchOption.AllDirectories)
            .Select(f => BrowserAssets.RequestPath + "/" + Path.GetRelativePath(BrowserAssets.Directory, f).Replace('\\', '/'));
        foreach (var path in referenced.Concat(assets).Concat(["/api/telemetry", "/metrics", "/healthz"]).Distinct())
        {
            seen.Add((path, await client.GetStringOrErrorAsync(path)));
        }

        Assert.Contains(seen, s => s.What == "/api/telemetry" && s.Text.Contains("invalid_api_key", StringComparison.Ordinal));
        Assert.Contains(seen, s => s.What == "client-secret" && s.Text.Contains("Incorrect API key provided: [server key]", StringComparison.Ordinal));
        Assert.True(seen.Count > 15, $"Only {seen.Count} responses were checked.");
        Assert.All(seen, s => Assert.False(s.Text.Contains(Key, StringComparison.Ordinal) || s.Text.Contains(Key[7..], StringComparison.Ordinal), $"The key leaked in {s.What}"));
        Assert.All(upstream.Requests, r => Assert.Equal("Bearer " + Key, r.Request.Headers.Authorization?.ToString()));
    }

    [GeneratedRegex("""(?:src|href)="(/[^"/][^"]*)""")]
    private static partial Regex LocalReference();
}

internal static class LeakCheckHttp
{
    public static async Task<string> GetStringOrErrorAsync(this HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        return await response.Content.ReadAsStringAsync() + response.Headers + response.Content.Headers;
    }
}
