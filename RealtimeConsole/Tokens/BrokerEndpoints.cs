using System.Text;
using System.Text.Json;
using RealtimeConsole.Access;
using RealtimeConsole.Hosting;
using RealtimeConsole.Surface;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tokens;

/// <summary>The browser-facing endpoints: a client secret, or the whole SDP exchange done server-side with the key.</summary>
public static class BrokerEndpoints
{
    public const int MaxSdpBytes = 64 * 1024;
    public const int MaxOverridesBytes = 16 * 1024;

    /// <summary>The header naming the ephemeral key a browser's SDP exchange was refused with (401).</summary>
    public const string RefusedSecretHeader = "X-Refused-Client-Secret";

    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/realtime").RequireAuthorization(AccessPolicies.Developer).RequireRateLimiting(BrokerFeature.DoorPolicy);
        api.MapPost("/client-secret", IssueClientSecretAsync).AcceptsJsonBody(MaxOverridesBytes);
        api.MapPost("/calls", CreateCallAsync).AcceptsBody(MaxSdpBytes, "application/sdp");
        api.MapPost("/calls/{callId}/hangup", HangUpAsync).TakesNoBody();
        api.MapDelete("/calls/{callId}", HangUpAsync).TakesNoBody();
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

        // A browser whose call was refused with 401 for this key says which key, to get a fresh one (see ReplaceRefusedAsync).
        var refused = context.Request.Headers[RefusedSecretHeader].ToString();
        if (refused.Length > 0 && (refused.Length > 200 || !refused.StartsWith("ek_", StringComparison.Ordinal)))
        {
            return BrokerErrors.Problem(StatusCodes.Status400BadRequest, "invalid_refused_secret", $"{RefusedSecretHeader} must be the ephemeral key (ek_...) the calls URL refused.");
        }

        try
        {
            var issued = refused.Length == 0
                ? await broker.GetSecretAsync(session, context.RequestAborted)
                : await broker.ReplaceRefusedAsync(session, refused, context.RequestAborted);
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
            return TooLarge(MaxSdpBytes);
        }

        var (bytes, tooLarge) = await RequestBodies.ReadLimitedAsync(request, MaxSdpBytes);
        if (tooLarge)
        {
            return TooLarge(MaxSdpBytes);
        }

        var offer = Encoding.UTF8.GetString(bytes);
        // Checked here, before an upstream request is spent on an offer upstream would refuse.
        if (SdpOfferCheck.Problem(offer) is { } problem)
        {
            return BrokerErrors.Problem(StatusCodes.Status400BadRequest, "invalid_sdp", $"The body is not a usable SDP offer: {problem}.");
        }

        try
        {
            var answer = await upstream.CreateCallAsync(offer, broker.DefaultSession.ToSessionJson(), context.RequestAborted);
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

        var (bytes, tooLarge) = await RequestBodies.ReadLimitedAsync(request, MaxOverridesBytes);
        if (tooLarge)
        {
            return (null, TooLarge(MaxOverridesBytes));
        }

        if (bytes.Length == 0)
        {
            return (null, null);
        }

        try
        {
            return (JsonBodies.Deserialize<SessionOverrides>(bytes), null);
        }
        catch (JsonException ex)
        {
            return (null, BrokerErrors.Problem(StatusCodes.Status400BadRequest, "invalid_json", $"The session overrides are not valid JSON: {ex.Message}"));
        }
    }

    private static IResult TooLarge(int limit) =>
        BrokerErrors.Problem(StatusCodes.Status413PayloadTooLarge, "payload_too_large", $"The body may be at most {limit / 1024} KiB.");

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
