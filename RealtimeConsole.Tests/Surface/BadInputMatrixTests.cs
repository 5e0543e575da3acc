using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RealtimeConsole.Surface;

namespace RealtimeConsole.Tests.Surface;

/// <summary>
/// Bad input against every API endpoint, enumerated from the app's own endpoint list so a new endpoint is covered (and one
/// that states no body rule fails): oversized, wrong media type, duplicate keys, malformed JSON and SDP. Each answer is
/// the expected 4xx with a JSON message; none is a 5xx.
/// </summary>
public sealed class BadInputMatrixTests : IDisposable
{
    public const string ValidOffer =
        "v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n" +
        "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:AbCd\r\na=ice-pwd:0123456789abcdefghijklmn\r\n" +
        "a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=sendrecv\r\na=rtpmap:0 PCMU/8000\r\n";

    private static readonly string[] ApiPrefixes = ["/api", "/simulator/v1", "/simulator/admin"];

    // The beta shapes on, so their handlers read what they are sent too.
    private readonly ProductionConsole _app = (ProductionConsole)new ProductionConsole().WithSetting("Simulator:LegacyBetaShapes", "true");

    public void Dispose() => _app.Dispose();

    public sealed record ApiEndpoint(string Method, string Pattern, RequestBodyRule? Rule)
    {
        public bool IsSimulator => Pattern.StartsWith("/simulator", StringComparison.Ordinal);

        public bool TakesJson => Rule?.MediaTypes.Contains(RequestBodyRule.Json) == true;

        public bool TakesSdp => Rule?.MediaTypes.Contains("application/sdp") == true;

        /// <summary>The pattern with sample values: a call id, a resource, a preset, and any path for catch-alls.</summary>
        public string Path => Pattern
            .Replace("{callId}", "rtc_matrix", StringComparison.Ordinal)
            .Replace("{resource}", "calls", StringComparison.Ordinal)
            .Replace("{name}", "no-such-preset", StringComparison.Ordinal)
            .Replace("{**rest}", "no/such/path", StringComparison.Ordinal);

        public override string ToString() => $"{Method} {Pattern}";
    }

    private IReadOnlyList<ApiEndpoint> Endpoints()
    {
        _ = _app.Server;
        var endpoints = _app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && ApiPrefixes.Any(p => raw.StartsWith(p, StringComparison.Ordinal)))
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["POST"])
                .Select(m => new ApiEndpoint(m, e.RoutePattern.RawText!, e.Metadata.GetMetadata<RequestBodyRule>())))
            .ToList();
        return endpoints;
    }

    [Fact]
    public void Every_api_endpoint_states_its_body_rule()
    {
        var endpoints = Endpoints();

        Assert.True(endpoints.Count >= 20, $"Only {endpoints.Count} API endpoints were found: {string.Join(", ", endpoints)}");
        Assert.All(endpoints.Where(e => !e.Pattern.Contains("{**", StringComparison.Ordinal)), e =>
            Assert.True(e.Rule is not null, $"{e} states no body rule: add AcceptsJsonBody, AcceptsBody or TakesNoBody."));
        Assert.All(endpoints.Where(e => e.Rule is { TakesBody: true }), e =>
            Assert.True(e.Rule!.MaxBytes <= 64 * 1024, $"{e} accepts {e.Rule.MaxBytes} bytes; JSON and SDP bodies here are small."));
        Assert.All(endpoints.Where(e => e.Pattern.StartsWith("/simulator/admin", StringComparison.Ordinal) && e.Rule is { TakesBody: true }), e =>
            Assert.True(e.Rule!.MaxBytes <= 8 * 1024, $"{e}: the admin API needs kilobytes."));
    }

    [Fact]
    public async Task Bad_input_gets_the_expected_4xx_with_a_json_message_from_every_api_endpoint()
    {
        var client = _app.CreateClient();
        var checkedCases = 0;
        foreach (var endpoint in Endpoints())
        {
            foreach (var (name, content, expected) in Cases(endpoint))
            {
                var request = new HttpRequestMessage(new HttpMethod(endpoint.Method), endpoint.Path) { Content = content };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-sim-local");
                using var response = await client.SendAsync(request);

                Assert.True((int)response.StatusCode < 500, $"{endpoint} / {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                if (expected is { } status)
                {
                    try
                    {
                        await ErrorAnswer.AssertJsonErrorAsync(response, status, endpoint.IsSimulator);
                    }
                    catch (Exception ex) when (ex is Xunit.Sdk.XunitException)
                    {
                        throw new Xunit.Sdk.XunitException($"{endpoint} / {name}: {ex.Message}");
                    }
                }

                checkedCases++;
            }
        }

        Assert.True(checkedCases >= 100, $"Only {checkedCases} cases ran.");
    }

    /// <summary>Each case and the status it must get (null: any answer below 500, for bodies an endpoint legitimately ignores).</summary>
    private static IEnumerable<(string Name, HttpContent Content, int? Expected)> Cases(ApiEndpoint endpoint)
    {
        var rule = endpoint.Rule;
        var catchAll = rule is null;
        var noBody = rule is { TakesBody: false };

        var declared = Content("{}", "application/json");
        declared.Headers.ContentLength = 100_000_000;
        yield return ("declared 100 MB", declared, noBody ? 415 : 413);

        if (rule is { TakesBody: true })
        {
            var padding = new string('a', (int)rule.MaxBytes + 1);
            yield return ("actual body over the limit", Streamed(endpoint.TakesJson ? $$"""{"pad":"{{padding}}"}""" : "v=0\r\n" + padding, endpoint.TakesJson ? "application/json" : "application/sdp"), 413);
        }

        yield return ("text/plain", Content("{\"kind\":\"insufficient_quota\",\"seconds\":5}", "text/plain"), catchAll ? 404 : 415);
        yield return ("form post", Content("kind=insufficient_quota", "application/x-www-form-urlencoded"), catchAll ? 404 : 415);
        yield return ("json without a content type", new ByteArrayContent("{\"seconds\":5}"u8.ToArray()), catchAll ? 404 : 415);
        yield return ("duplicate keys", Content("""{"seconds":5,"seconds":6}""", "application/json"), catchAll ? 404 : endpoint.TakesJson ? 400 : 415);
        yield return ("malformed json", Content("""{"seconds":""", "application/json"), catchAll ? 404 : endpoint.TakesJson ? 400 : 415);
        yield return ("json array", Content("[1,2,3]", "application/json"), catchAll ? 404 : endpoint.TakesJson ? 400 : 415);
        yield return ("deep json", Content(new string('[', 1000) + new string(']', 1000), "application/json"), catchAll ? 404 : endpoint.TakesJson ? 400 : 415);
        yield return ("malformed sdp", Content("v=0\r\nthis is not an offer\r\n", "application/sdp"), catchAll ? 404 : endpoint.TakesSdp ? 400 : 415);
        yield return ("sdp without media", Content("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", "application/sdp"), catchAll ? 404 : endpoint.TakesSdp ? 400 : 415);
        yield return ("binary junk", Content("\0\u00ff\u00fe{", "application/json"), catchAll ? 404 : endpoint.TakesJson ? 400 : 415);
    }

    private static ByteArrayContent Content(string text, string mediaType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(text));
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return content;
    }

    /// <summary>No Content-Length: the limit must hold while the body is read, not only against what the client declared.</summary>
    private static StreamContent Streamed(string text, string mediaType)
    {
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(text)));
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        content.Headers.ContentLength = null;
        return content;
    }
}
