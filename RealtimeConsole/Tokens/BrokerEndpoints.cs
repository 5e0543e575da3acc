using System.Text;
using System.Text.Json;
using RealtimeConsole.Access;
using RealtimeConsole.Hosting;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tokens;

/// <summary>The browser-facing endpoints: a client secret, or the whole SDP exchange done server-side with the key.</summary>
public static class BrokerEndpoints
{
    public const int MaxSdpBytes = 64 * 1024;
    public const int MaxOverridesBytes = 64 * 1024;

    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/realtime").RequireAuthorization(AccessPolicies.Developer).RequireRateLimiting(BrokerFeature.DoorPolicy);
        api.MapPost("/client-secret", IssueClientSecretAsync);
        api.MapPost("/calls", CreateCallAsync);
        api.MapPost("/calls/{callId}/hangup", HangUpAsync);
        api.MapDelete("/calls/{callId}", HangUpAsync);
    }

    private static async Task<IResult> IssueClientSecretAsync(HttpContext context, ClientSecretBroker broker, UpstreamEndpoint endpoint)
    {
        var (overrides, error) = await ReadOverridesAsync(context.Request);
        if (error is not null)
        {
            return error;
        }

        var session = broker.DefaultSession.WithOverrides(overrides, out var invalid);
        if (invalid is not null)
        {
            return BrokerErrors.Problem(StatusCodes.Status400BadRequest, "invalid_session", invalid);
        }

        try
        {
            var issued = await broker.GetSecretAsync(session, context.RequestAborted);
            return new ClientSecretAnswer(issued, endpoint.BrowserCallsUrl);
        }
        catch (UpstreamRefusal refusal)
        {
            return BrokerErrors.From(refusal);
        }
    }

    private static async Task<IResult> CreateCallAsync(HttpContext context, RealtimeUpstreamClient upstream, ClientSecretBroker broker)
    {
        var request = context.Request;
        if (!string.Equals(request.ContentType?.Split(';')[0].Trim(), "application/sdp", StringComparison.OrdinalIgnoreCase))
        {
            return BrokerErrors.Problem(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type", "Send the SDP offer with Content-Type: application/sdp.");
        }

        if (request.ContentLength > MaxSdpBytes)
        {
            return TooLarge();
        }

        var (bytes, tooLarge) = await ReadLimitedAsync(request, MaxSdpBytes);
        if (tooLarge)
        {
            return TooLarge();
        }

        var offer = Encoding.UTF8.GetString(bytes);
        if (!offer.StartsWith("v=0", StringComparison.Ordinal) || !offer.Contains("m=", StringComparison.Ordinal))
        {
            return BrokerErrors.Problem(StatusCodes.Status400BadRequest, "invalid_sdp", "The body is not an SDP offer (it must start with \"v=0\" and have at least one \"m=\" line).");
        }

        try
        {
            var answer = await upstream.CreateCallAsync(offer, broker.DefaultSession, context.RequestAborted);
            if (answer.CallId is { } callId)
            {
                context.Response.Headers.Location = $"/api/realtime/calls/{Uri.EscapeDataString(callId)}";
            }

            return Results.Text(answer.AnswerSdp, "application/sdp", Encoding.UTF8, StatusCodes.Status201Created);
        }
        catch (UpstreamRefusal refusal)
        {
            return BrokerErrors.From(refusal);
        }
    }

    private static async Task<IResult> HangUpAsync(string callId, HttpContext context, RealtimeUpstreamClient upstream)
    {
        if (callId.Length is 0 or > 200 || !callId.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        {
            return BrokerErrors.Problem(StatusCodes.Status400BadRequest, "invalid_call_id", "That is not a call id.");
        }

        try
        {
            await upstream.HangUpAsync(callId, context.RequestAborted);
            return Results.NoContent();
        }
        catch (UpstreamRefusal refusal)
        {
            return BrokerErrors.From(refusal);
        }
    }

    private static async Task<(SessionOverrides? Overrides, IResult? Error)> ReadOverridesAsync(HttpRequest request)
    {
        if (request.ContentLength is 0 || (request.ContentLength is null && request.ContentType is null))
        {
            return (null, null);
        }

        if (!request.HasJsonContentType())
        {
            return (null, BrokerErrors.Problem(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type", "Send session overrides as application/json (or no body at all)."));
        }

        var (bytes, tooLarge) = await ReadLimitedAsync(request, MaxOverridesBytes);
        if (tooLarge)
        {
            return (null, TooLarge());
        }

        if (bytes.Length == 0)
        {
            return (null, null);
        }

        try
        {
            return (JsonSerializer.Deserialize<SessionOverrides>(bytes), null);
        }
        catch (JsonException ex)
        {
            return (null, BrokerErrors.Problem(StatusCodes.Status400BadRequest, "invalid_json", $"The session overrides are not valid JSON: {ex.Message}"));
        }
    }

    internal static async Task<(byte[] Bytes, bool TooLarge)> ReadLimitedAsync(HttpRequest request, int limit)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                return ([], true);
            }

            buffer.Write(chunk, 0, read);
        }

        return (buffer.ToArray(), false);
    }

    private static IResult TooLarge() =>
        BrokerErrors.Problem(StatusCodes.Status413PayloadTooLarge, "payload_too_large", $"The body may be at most {MaxSdpBytes / 1024} KiB.");

    /// <summary><c>{"value","expires_at","mode","calls_url"}</c>, written without reflection in one send (the Shared hot path).</summary>
    private sealed record ClientSecretAnswer(IssuedSecret Issued, string CallsUrl) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) =>
            BufferedJson.WriteAsync(httpContext.Response, StatusCodes.Status200OK, "application/json; charset=utf-8", default, this, static (writer, answer) =>
            {
                writer.WriteStartObject();
                writer.WriteString("value", answer.Issued.Secret.Value);
                writer.WriteNumber("expires_at", answer.Issued.Secret.ExpiresOn.ToUnixTimeSeconds());
                writer.WriteString("mode", answer.Issued.Mode.ToString());
                writer.WriteString("calls_url", answer.CallsUrl);
                writer.WriteEndObject();
            });
    }
}
