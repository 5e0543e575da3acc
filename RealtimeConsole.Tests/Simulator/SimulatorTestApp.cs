using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Simulator.Media;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Simulator;

/// <summary>The console in memory with the simulator on a fake clock, and helpers that speak to it like an OpenAI client.</summary>
public sealed class SimulatorTestApp : IAsyncDisposable
{
    public const string ApiKey = "sk-sim-local";

    public const string Offer =
        "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
        + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:Fq3e\r\na=ice-pwd:4kN2bQ9vX7mZ1pL8sR5tY0wA\r\n"
        + "a=fingerprint:sha-256 6B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\n"
        + "a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\n"
        + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sctp-port:5000\r\n";

    private readonly ConsoleAppFactory _factory;

    public SimulatorTestApp(Action<ConsoleAppFactory>? configure = null, ISimulatorMediaPeer? peer = null)
    {
        _factory = new ConsoleAppFactory();
        _factory.WithServices(services =>
        {
            services.AddSingleton<TimeProvider>(Time);
            if (peer is not null)
            {
                services.AddSingleton(peer);
            }
        });
        configure?.Invoke(_factory);
        Client = _factory.CreateClient();
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));

    public HttpClient Client { get; }

    public IServiceProvider Services => _factory.Services;

    public HttpMessageHandler CreateHandler() => _factory.Server.CreateHandler();

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public Task<HttpResponseMessage> MintAsync(string body = """{"session":{"type":"realtime","model":"gpt-realtime"}}""", string? key = ApiKey) =>
        SendAsync(HttpMethod.Post, "/simulator/v1/realtime/client_secrets", Json(body), key);

    public async Task<string> MintKeyAsync(string body = """{"session":{"type":"realtime","instructions":"Be brief.","audio":{"output":{"voice":"marin"}}}}""")
    {
        var response = await MintAsync(body);
        Assert.Equal(200, (int)response.StatusCode);
        return (await ReadJsonAsync(response))["value"]!.GetValue<string>();
    }

    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content, string? key = ApiKey)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return Client.SendAsync(request);
    }

    public Task<HttpResponseMessage> PostSdpAsync(string path, string sdp, string key)
    {
        var content = new StringContent(sdp, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/sdp");
        return SendAsync(HttpMethod.Post, path, content, key);
    }

    public static async Task<JsonObject> ReadJsonAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    /// <summary>Asserts the OpenAI error shape and returns the inner error.</summary>
    public static async Task<JsonObject> ReadErrorAsync(HttpResponseMessage response, int status, string? code)
    {
        Assert.Equal(status, (int)response.StatusCode);
        var body = await ReadJsonAsync(response);
        var error = body["error"]!.AsObject();
        Assert.Equal(["message", "type", "param", "code"], error.Select(p => p.Key));
        Assert.False(string.IsNullOrWhiteSpace(error["message"]!.GetValue<string>()));
        Assert.Equal(code, error["code"]?.GetValue<string>());
        Assert.StartsWith("req_", Header(response, "x-request-id"), StringComparison.Ordinal);
        return error;
    }

    public static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : null;

    public static string Canonical(JsonNode node) => node.ToJsonString(new JsonSerializerOptions { WriteIndented = false });

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _factory.DisposeAsync();
    }
}

/// <summary>A media peer that accepts every offer with a fixed answer and remembers what it was given.</summary>
public sealed class RecordingMediaPeer : ISimulatorMediaPeer
{
    public const string CallId = "rtc_test0123456789";
    public const string Answer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";

    public bool IsAvailable => true;

    public string? LastOffer { get; private set; }

    public JsonObject? LastSession { get; private set; }

    public Task<AcceptedCall> AcceptAsync(string offerSdp, JsonObject session, CancellationToken cancellationToken)
    {
        LastOffer = offerSdp;
        LastSession = session;
        return Task.FromResult(new AcceptedCall(CallId, Answer));
    }

    public Task<bool> HangUpAsync(string callId, CancellationToken cancellationToken) => Task.FromResult(callId == CallId);

    public bool IsLive(string callId) => callId == CallId;
}

/// <summary>A peer that holds as many calls as it may.</summary>
public sealed class FullMediaPeer : ISimulatorMediaPeer
{
    public bool IsAvailable => true;

    public Task<AcceptedCall> AcceptAsync(string offerSdp, JsonObject session, CancellationToken cancellationToken) =>
        throw new MediaPeerAtCapacityException("The simulator already holds 200 calls, its limit (Simulator:Media:MaxConcurrentCalls).");

    public Task<bool> HangUpAsync(string callId, CancellationToken cancellationToken) => Task.FromResult(false);

    public bool IsLive(string callId) => false;
}
