using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using RealtimeConsole.RateLimits;

namespace RealtimeConsole.Upstream;

/// <summary>The GA Realtime endpoints the broker uses, each sent through <see cref="UpstreamGate"/> with the server-side key.</summary>
public sealed class RealtimeUpstreamClient(UpstreamGate gate, UpstreamEndpoint endpoint, TimeProvider time)
{
    /// <summary><c>POST /v1/realtime/client_secrets</c>; the expiry is upstream's <c>expires_at</c>.</summary>
    public async Task<MintedSecret> MintClientSecretAsync(JsonObject session, int lifetimeSeconds, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["expires_after"] = new JsonObject { ["anchor"] = "created_at", ["seconds"] = lifetimeSeconds },
            ["session"] = session.DeepClone(),
        }.ToJsonString();

        var response = await gate.SendAsync(
            UpstreamResource.ClientSecrets,
            () => new HttpRequestMessage(HttpMethod.Post, endpoint.Resolve("realtime/client_secrets"))
            {
                Content = new StringContent(body, Encoding.UTF8, "application/json"),
            },
            cancellationToken);

        try
        {
            using var document = JsonDocument.Parse(response.Body);
            var value = document.RootElement.GetProperty("value").GetString();
            var expiresAt = document.RootElement.GetProperty("expires_at").GetInt64();
            if (string.IsNullOrEmpty(value))
            {
                throw new FormatException("empty value");
            }

            return new MintedSecret(value, DateTimeOffset.FromUnixTimeSeconds(expiresAt), time.GetUtcNow());
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw UpstreamRefusal.Failed("Upstream answered the mint without a usable \"value\" and \"expires_at\".", response.RequestId);
        }
    }

    /// <summary><c>POST /v1/realtime/calls</c> as multipart <c>sdp</c> + <c>session</c>: the browser never holds a key.</summary>
    public async Task<CallAnswer> CreateCallAsync(string offerSdp, JsonObject session, CancellationToken cancellationToken)
    {
        var sessionJson = session.ToJsonString();
        var response = await gate.SendAsync(
            UpstreamResource.Calls,
            () =>
            {
                var sdpPart = new StringContent(offerSdp, Encoding.UTF8);
                sdpPart.Headers.ContentType = new MediaTypeHeaderValue("application/sdp");
                var sessionPart = new StringContent(sessionJson, Encoding.UTF8, "application/json");
                return new HttpRequestMessage(HttpMethod.Post, endpoint.Resolve("realtime/calls"))
                {
                    Content = new MultipartFormDataContent { { sdpPart, "sdp" }, { sessionPart, "session" } },
                };
            },
            cancellationToken);

        var callId = response.Location?.TrimEnd('/').Split('/').LastOrDefault();
        return new CallAnswer(response.Body, string.IsNullOrEmpty(callId) ? null : callId, response.RequestId);
    }

    /// <summary><c>POST /v1/realtime/calls/{call_id}/hangup</c>.</summary>
    public async Task HangUpAsync(string callId, CancellationToken cancellationToken)
    {
        await gate.SendAsync(
            UpstreamResource.Calls,
            () => new HttpRequestMessage(HttpMethod.Post, endpoint.Resolve($"realtime/calls/{Uri.EscapeDataString(callId)}/hangup")),
            cancellationToken);
    }
}

public sealed record MintedSecret(string Value, DateTimeOffset ExpiresAt, DateTimeOffset ReceivedAt);

public sealed record CallAnswer(string AnswerSdp, string? CallId, string? UpstreamRequestId);
