using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Tests.Simulator;
using RealtimeConsole.Tokens;
using RealtimeConsole.Upstream;
using Microsoft.Extensions.DependencyInjection;

namespace RealtimeConsole.Tests.Tokens;

/// <summary>
/// Shared mode against an upstream that takes each ephemeral key once (<c>Simulator:SecretReuse=SingleUse</c>, as users
/// report OpenAI live): a browser refused with 401 reports the key and gets one fresh secret; stale reports mint nothing.
/// </summary>
public sealed class SharedSecretReuseTests
{
    private static ConsoleAppFactory Create()
    {
        ConsoleAppFactory? app = null;
        app = new ConsoleAppFactory()
            .WithSetting("Realtime:SecretMode", "Shared")
            .WithSetting("Simulator:SecretReuse", "SingleUse")
            .WithSetting("Realtime:DoorPermitsPerMinute", "100000")
            .WithServices(s => s.AddHttpClient(UpstreamGate.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => app!.Server.CreateHandler()));
        return app;
    }

    private static async Task<(string Value, string CallsUrl)> SecretAsync(HttpClient client, string? refused = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/realtime/client-secret");
        if (refused is not null)
        {
            request.Headers.Add(BrokerEndpoints.RefusedSecretHeader, refused);
        }

        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (body.RootElement.GetProperty("value").GetString()!, body.RootElement.GetProperty("calls_url").GetString()!);
    }

    private static Task<HttpResponseMessage> CallAsync(HttpClient client, string callsUrl, string key)
    {
        var content = new StringContent(SimulatorTestApp.Offer, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/sdp");
        var request = new HttpRequestMessage(HttpMethod.Post, callsUrl) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client.SendAsync(request);
    }

    private static async Task<(long Mints, long Replaced)> CountersAsync(HttpClient client)
    {
        using var json = JsonDocument.Parse(await client.GetStringAsync("/api/telemetry"));
        var counters = json.RootElement.GetProperty("counters");
        return (counters.GetProperty("mints").GetInt64(), counters.GetProperty("reused_secrets_replaced").GetInt64());
    }

    [Fact]
    public async Task A_refused_shared_key_is_replaced_once_and_the_second_browser_connects()
    {
        using var app = Create();
        var client = app.CreateClient();

        var (first, callsUrl) = await SecretAsync(client);
        Assert.Equal(HttpStatusCode.Created, (await CallAsync(client, callsUrl, first)).StatusCode);
        var (cached, _) = await SecretAsync(client);
        Assert.Equal(first, cached);
        Assert.Equal(HttpStatusCode.Unauthorized, (await CallAsync(client, callsUrl, cached)).StatusCode);

        var (fresh, _) = await SecretAsync(client, refused: cached);
        Assert.NotEqual(first, fresh);
        Assert.Equal(HttpStatusCode.Created, (await CallAsync(client, callsUrl, fresh)).StatusCode);
        Assert.Equal((2, 1), await CountersAsync(client));

        // Another browser still holding the old key reports it late: it gets the current secret, and nothing is minted.
        var (late, _) = await SecretAsync(client, refused: first);
        Assert.Equal(fresh, late);
        Assert.Equal((2, 1), await CountersAsync(client));
    }

    [Fact]
    public async Task A_refused_secret_header_that_is_not_an_ephemeral_key_is_a_400()
    {
        using var app = Create();
        var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/realtime/client-secret");
        request.Headers.Add(BrokerEndpoints.RefusedSecretHeader, "sk-sim-local");

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("invalid_refused_secret", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal((0, 0), await CountersAsync(client));
    }
}
