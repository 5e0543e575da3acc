using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RealtimeConsole.Simulator.Media;
using RealtimeConsole.Simulator.Validation;
using RealtimeConsole.Surface;

namespace RealtimeConsole.Simulator;

/// <summary>The OpenAI-compatible surface under <c>/simulator/v1</c>.</summary>
public static class SimulatorEndpoints
{
    public const string BasePath = "/simulator/v1";

    /// <summary>The largest SDP exchange body accepted (OpenAI's 64 KiB).</summary>
    public const int MaxCallBodyBytes = 64 * 1024;

    private const int MaxJsonBodyBytes = 64 * 1024;
    private static readonly TimeSpan LegacyKeyLifetime = TimeSpan.FromMinutes(1);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost(BasePath + "/realtime/client_secrets", (HttpContext context, SimulatorGate gate, SimulatorClientSecrets secrets, TimeProvider time) =>
            gate.RunAsync(context, SimulatorEndpoint.ClientSecrets, SimulatorResource.ClientSecrets, SimulatorKeyPolicy.StandardOnly,
                (ctx, _) => MintAsync(ctx, gate.Options, secrets, time)))
            .AcceptsJsonBody(MaxJsonBodyBytes);

        app.MapPost(BasePath + "/realtime/translations/client_secrets", (HttpContext context, SimulatorGate gate, SimulatorClientSecrets secrets, TimeProvider time) =>
            gate.RunAsync(context, SimulatorEndpoint.TranslationClientSecrets, SimulatorResource.ClientSecrets, SimulatorKeyPolicy.StandardOnly,
                (ctx, _) => MintTranslationAsync(ctx, secrets, time)))
            .AcceptsJsonBody(MaxJsonBodyBytes);

        app.MapPost(BasePath + "/realtime/calls", (HttpContext context, SimulatorGate gate, ISimulatorMediaPeer peer) =>
            gate.RunAsync(context, SimulatorEndpoint.Calls, SimulatorResource.Calls, SimulatorKeyPolicy.StandardOrEphemeralOpeningSession,
                (ctx, caller) => CreateCallAsync(ctx, caller, gate.Options, peer)))
            .AcceptsBody(MaxCallBodyBytes, "application/sdp", "multipart/form-data");

        // One route each: the slim standalone host has no regex route constraint.
        foreach (var action in (string[])["accept", "reject", "refer"])
        {
            app.MapPost(BasePath + "/realtime/calls/{callId}/" + action, (HttpContext context, string callId, SimulatorGate gate, ISimulatorMediaPeer peer) =>
                gate.RunAsync(context, SimulatorEndpoint.CallControl, SimulatorResource.Calls, SimulatorKeyPolicy.StandardOnly,
                    (ctx, _) => ControlSipCallAsync(ctx, callId, action, peer)))
                .AcceptsJsonBody(MaxJsonBodyBytes);
        }

        app.MapPost(BasePath + "/realtime/calls/{callId}/hangup", (HttpContext context, string callId, SimulatorGate gate, ISimulatorMediaPeer peer) =>
            gate.RunAsync(context, SimulatorEndpoint.Hangup, SimulatorResource.Calls, SimulatorKeyPolicy.StandardOrEphemeral,
                (ctx, _) => HangUpAsync(ctx, callId, peer)))
            .TakesNoBody();

        app.MapPost(BasePath + "/realtime/sessions", (HttpContext context, SimulatorGate gate, SimulatorClientSecrets secrets, TimeProvider time) =>
            gate.RunAsync(context, SimulatorEndpoint.LegacySessions, SimulatorResource.ClientSecrets, SimulatorKeyPolicy.StandardOnly,
                (ctx, _) => gate.Options.LegacyBetaShapes ? LegacySessionAsync(ctx, gate.Options, secrets, time) : Task.FromResult<IResult>(BetaDisabled(ctx))))
            .AcceptsJsonBody(MaxJsonBodyBytes);

        app.MapPost(BasePath + "/realtime", (HttpContext context, SimulatorGate gate, ISimulatorMediaPeer peer) =>
            gate.RunAsync(context, SimulatorEndpoint.LegacyRealtime, SimulatorResource.Calls, SimulatorKeyPolicy.StandardOrEphemeralOpeningSession,
                (ctx, caller) => gate.Options.LegacyBetaShapes ? LegacyCallAsync(ctx, caller, gate.Options, peer) : Task.FromResult<IResult>(BetaDisabled(ctx))))
            .AcceptsBody(MaxCallBodyBytes, "application/sdp");

        // Any other path or method under /v1 answers like OpenAI: a JSON 404, never an HTML page or an empty 405.
        app.Map(BasePath + "/{**rest}", (HttpContext context) =>
        {
            context.Response.Headers["x-request-id"] = SimulatorGate.NewRequestId();
            var path = context.Request.Path.Value![(BasePath.Length - 3)..];
            return OpenAiError.InvalidRequest($"Invalid URL ({context.Request.Method} {path})", status: StatusCodes.Status404NotFound);
        });
    }

    private static async Task<IResult> MintAsync(HttpContext context, SimulatorOptions options, SimulatorClientSecrets secrets, TimeProvider time)
    {
        var (document, error) = await ReadJsonObjectAsync(context);
        if (error is not null)
        {
            return error;
        }

        using (document)
        {
            var lifetime = TimeSpan.FromSeconds(600);
            JsonElement? requestedSession = null;
            foreach (var property in document!.RootElement.EnumerateObject())
            {
                if (property.NameEquals("expires_after"))
                {
                    if (ExpiresAfter(property.Value, out var seconds) is { } expiresError)
                    {
                        return expiresError;
                    }

                    lifetime = TimeSpan.FromSeconds(seconds);
                }
                else if (property.NameEquals("session"))
                {
                    if (SimulatorSessions.Validate(property.Value, "session") is { } sessionError)
                    {
                        return sessionError;
                    }

                    requestedSession = property.Value;
                }
                else
                {
                    return OpenAiError.UnknownParameter(property.Name);
                }
            }

            return Issued(secrets.Issue(SimulatorSessions.Create(requestedSession, options.Model), lifetime));
        }
    }

    /// <summary><c>RealtimeTranslationClientSecretCreateRequest</c>: <c>session</c> (with its <c>model</c>) is required.</summary>
    private static async Task<IResult> MintTranslationAsync(HttpContext context, SimulatorClientSecrets secrets, TimeProvider time)
    {
        var (document, error) = await ReadJsonObjectAsync(context);
        if (error is not null)
        {
            return error;
        }

        using (document)
        {
            var root = document!.RootElement;
            var lifetime = TimeSpan.FromSeconds(600);
            foreach (var property in root.EnumerateObject())
            {
                if (property.NameEquals("expires_after"))
                {
                    if (ExpiresAfter(property.Value, out var seconds) is { } expiresError)
                    {
                        return expiresError;
                    }

                    lifetime = TimeSpan.FromSeconds(seconds);
                }
                else if (!property.NameEquals("session"))
                {
                    return OpenAiError.UnknownParameter(property.Name);
                }
            }

            if (!root.TryGetProperty("session", out var session))
            {
                return OpenAiError.MissingParameter("session");
            }

            if (RealtimeSessionRules.CheckTranslation(session, "session") is { } sessionError)
            {
                return sessionError;
            }

            var expiresAt = time.GetUtcNow() + lifetime;
            return Issued(secrets.Issue(SimulatorSessions.CreateTranslation(session, expiresAt), expiresAt));
        }
    }

    /// <summary>A JSON object body (an empty body reads as <c>{}</c>), or the 415/413/400 OpenAI gives instead.</summary>
    private static async Task<(JsonDocument? Document, IResult? Error)> ReadJsonObjectAsync(HttpContext context)
    {
        if (!IsJsonOrMissing(context.Request.ContentType))
        {
            return (null, UnsupportedContentType(context, "'application/json'"));
        }

        var (body, tooLarge) = await ReadBodyAsync(context, MaxJsonBodyBytes);
        if (tooLarge is not null)
        {
            return (null, tooLarge);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body!.Length == 0 ? "{}"u8.ToArray() : body, JsonBodies.DocumentOptions);
        }
        catch (JsonException)
        {
            return (null, OpenAiError.InvalidJson());
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            return (null, OpenAiError.InvalidRequest("The request body must be a JSON object.", null, "invalid_type"));
        }

        return (document, null);
    }

    private static JsonWriterResult Issued(IssuedClientSecret secret) =>
        new(StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("value", secret.Value);
            writer.WriteNumber("expires_at", secret.ExpiresAt.ToUnixTimeSeconds());
            writer.WritePropertyName("session");
            secret.Configuration.WriteTo(writer);
            writer.WriteEndObject();
        });
    private static OpenAiError? ExpiresAfter(JsonElement value, out long seconds)
    {
        seconds = 600;
        if (value.ValueKind != JsonValueKind.Object)
        {
            return OpenAiError.InvalidType("expires_after", "an object");
        }

        foreach (var property in value.EnumerateObject())
        {
            var item = property.Value;
            switch (property.Name)
            {
                case "anchor":
                    if (item.ValueKind != JsonValueKind.String || !item.ValueEquals("created_at"))
                    {
                        return OpenAiError.InvalidRequest($"Invalid value: {item.GetRawText()}. Supported values are: 'created_at'.", "expires_after.anchor", "invalid_value");
                    }

                    break;
                case "seconds":
                    if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var whole))
                    {
                        return OpenAiError.InvalidType("expires_after.seconds", "an integer");
                    }

                    if (whole < 10)
                    {
                        return OpenAiError.InvalidRequest(
                            string.Create(CultureInfo.InvariantCulture, $"Invalid 'expires_after.seconds': integer below minimum value. Expected a value >= 10, but got {whole} instead."),
                            "expires_after.seconds",
                            "integer_below_min_value");
                    }

                    if (whole > 7200)
                    {
                        return OpenAiError.InvalidRequest(
                            string.Create(CultureInfo.InvariantCulture, $"Invalid 'expires_after.seconds': integer above maximum value. Expected a value <= 7200, but got {whole} instead."),
                            "expires_after.seconds",
                            "integer_above_max_value");
                    }

                    seconds = whole;
                    break;
                default:
                    return OpenAiError.UnknownParameter("expires_after." + property.Name);
            }
        }

        return null;
    }

    private static async Task<IResult> CreateCallAsync(HttpContext context, SimulatorCaller caller, SimulatorOptions options, ISimulatorMediaPeer peer)
    {
        if (context.Request.Query.ContainsKey("model"))
        {
            return OpenAiError.InvalidRequest(
                "Unknown parameter: 'model'. POST /v1/realtime/calls takes the model from the ephemeral key or from the 'session' part, not from the query string.",
                "model",
                "unknown_parameter");
        }

        var (offer, sessionPart, error) = await ReadOfferAsync(context, allowMultipart: true);
        if (error is not null)
        {
            return error;
        }

        var session = caller.EphemeralKey?.Session() ?? SimulatorSessions.WithDefaults(null, options.Model);
        if (sessionPart is not null)
        {
            SimulatorSessions.MergeInto(session, sessionPart);
        }

        if (RealtimeSessionRules.NotRealtimeModel(session["model"]?.GetValue<string>()) is { } modelError)
        {
            return modelError;
        }

        return await AcceptAsync(context, peer, offer!, session, location: true);
    }

    /// <summary>
    /// <c>accept</c>, <c>reject</c> and <c>refer</c> control incoming SIP calls. The body is checked against the spec first
    /// (<c>RealtimeSessionCreateRequestGA</c>, <c>RealtimeCallRejectRequest</c>, <c>RealtimeCallReferRequest</c>); every
    /// call the simulator holds came in over WebRTC, so a live one gets the wrong-kind-of-call error and an unknown one a 404.
    /// </summary>
    private static async Task<IResult> ControlSipCallAsync(HttpContext context, string callId, string action, ISimulatorMediaPeer peer)
    {
        var (document, error) = await ReadJsonObjectAsync(context);
        if (error is not null)
        {
            return error;
        }

        using (document)
        {
            var body = document!.RootElement;
            var rules = new JsonRules();
            var bodyError = action switch
            {
                "accept" => SimulatorSessions.Validate(body, ""),
                "reject" => rules.Object(body, "", "status_code") && rules.Optional(body, "status_code", "", (v, p) => rules.Integer(v, p, 400, 699)) ? null : rules.Error,
                _ => rules.Object(body, "", "target_uri") && rules.Required(body, "target_uri", "", out var uri) && rules.String(uri, "target_uri") && SipUri(rules, uri) ? null : rules.Error,
            };
            if (bodyError is not null)
            {
                return bodyError;
            }
        }

        if (!peer.IsLive(callId))
        {
            return OpenAiError.InvalidRequest($"No call with id '{callId}'.", "call_id", "call_not_found", StatusCodes.Status404NotFound);
        }

        return OpenAiError.InvalidRequest(
            $"Call '{callId}' was created over WebRTC; /{action} only applies to incoming SIP calls. Use POST /v1/realtime/calls/{callId}/hangup to end it.",
            "call_id",
            "invalid_call_type");
    }

    // The spec's examples: "tel:+14155550123" or "sip:agent@example.com".
    private static bool SipUri(JsonRules rules, JsonElement uri)
    {
        var value = uri.GetString()!;
        return value.StartsWith("tel:", StringComparison.OrdinalIgnoreCase) || value.StartsWith("sip:", StringComparison.OrdinalIgnoreCase) || value.StartsWith("sips:", StringComparison.OrdinalIgnoreCase)
            ? value.Length > 4 || rules.Fail($"Invalid value: '{value}'. Expected a 'tel:' or 'sip:' URI.", "target_uri", "invalid_value")
            : rules.Fail($"Invalid value: '{value}'. Expected a 'tel:' or 'sip:' URI such as 'tel:+14155550123' or 'sip:agent@example.com'.", "target_uri", "invalid_value");
    }

    private static async Task<IResult> AcceptAsync(HttpContext context, ISimulatorMediaPeer peer, string offer, JsonObject session, bool location)
    {
        if (!peer.IsAvailable)
        {
            return new OpenAiError(
                StatusCodes.Status503ServiceUnavailable,
                "The simulator's WebRTC media peer is not available in this build, so it cannot answer SDP offers. Your key, body and offer were valid; no call was created.",
                "server_error",
                null,
                "media_peer_unavailable");
        }

        AcceptedCall call;
        try
        {
            call = await peer.AcceptAsync(offer, session, context.RequestAborted);
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException or ArgumentException)
        {
            return OpenAiError.InvalidRequest("The SDP offer could not be used: " + ex.Message, "sdp", "invalid_offer");
        }
        catch (MediaPeerAtCapacityException ex)
        {
            return new OpenAiError(StatusCodes.Status503ServiceUnavailable, ex.Message, "server_error", null, "media_peer_at_capacity");
        }

        // The spec: "Relative URL containing the call ID"; built from this request so it leads back here under /simulator/v1.
        var callUrl = location ? $"{context.Request.PathBase}{context.Request.Path.Value!.TrimEnd('/')}/{call.CallId}" : null;
        return new TextResult(StatusCodes.Status201Created, "application/sdp", call.AnswerSdp, callUrl);
    }

    private static async Task<IResult> HangUpAsync(HttpContext context, string callId, ISimulatorMediaPeer peer)
    {
        if (!peer.IsAvailable)
        {
            return new OpenAiError(StatusCodes.Status503ServiceUnavailable, "The simulator's WebRTC media peer is not available in this build, so there are no calls to hang up.", "server_error", null, "media_peer_unavailable");
        }

        if (!await peer.HangUpAsync(callId, context.RequestAborted))
        {
            return OpenAiError.InvalidRequest($"No live call with id '{callId}'.", "call_id", "call_not_found", StatusCodes.Status404NotFound);
        }

        return new JsonWriterResult(StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteEndObject();
        });
    }

    private static async Task<(string? Offer, JsonObject? Session, IResult? Error)> ReadOfferAsync(HttpContext context, bool allowMultipart)
    {
        var contentType = context.Request.ContentType;
        var mediaType = contentType?.Split(';', 2)[0].Trim();
        var isSdp = string.Equals(mediaType, "application/sdp", StringComparison.OrdinalIgnoreCase);
        var isMultipart = allowMultipart && string.Equals(mediaType, "multipart/form-data", StringComparison.OrdinalIgnoreCase);
        if (!isSdp && !isMultipart)
        {
            return (null, null, UnsupportedContentType(context, allowMultipart
                ? "'application/sdp' (the offer, with an ephemeral key) or 'multipart/form-data' with an 'sdp' part and a 'session' part (with your API key)"
                : "'application/sdp' (the offer)"));
        }

        var (body, tooLarge) = await ReadBodyAsync(context, MaxCallBodyBytes);
        if (tooLarge is not null)
        {
            return (null, null, tooLarge);
        }

        if (isSdp)
        {
            var sdp = Encoding.UTF8.GetString(body!);
            return SdpProblem(sdp, "body") is { } sdpError ? (null, null, sdpError) : (sdp, null, null);
        }

        context.Request.Body = new MemoryStream(body!, writable: false);
        IFormCollection form;
        try
        {
            form = await context.Request.ReadFormAsync(context.RequestAborted);
        }
        catch (InvalidDataException ex)
        {
            return (null, null, OpenAiError.InvalidRequest("The multipart/form-data body could not be read: " + ex.Message, null, "invalid_multipart"));
        }

        // RealtimeCallCreateRequest has additionalProperties: false: only "sdp" and "session".
        foreach (var name in form.Keys.Concat(form.Files.Select(f => f.Name)))
        {
            if (name is not ("sdp" or "session"))
            {
                return (null, null, OpenAiError.UnknownParameter(name));
            }
        }

        var offer = await PartAsync(form, "sdp");
        if (string.IsNullOrWhiteSpace(offer))
        {
            return (null, null, OpenAiError.MissingParameter("sdp"));
        }

        if (SdpProblem(offer, "sdp") is { } offerError)
        {
            return (null, null, offerError);
        }

        var sessionText = await PartAsync(form, "session");
        if (sessionText is null)
        {
            return (offer, null, null);
        }

        try
        {
            using var session = JsonDocument.Parse(sessionText, JsonBodies.DocumentOptions);
            return SimulatorSessions.Validate(session.RootElement, "session") is { } sessionError
                ? (null, null, sessionError)
                : (offer, JsonNode.Parse(sessionText)!.AsObject(), null);
        }
        catch (JsonException)
        {
            return (null, null, OpenAiError.InvalidRequest("The 'session' part is not valid JSON.", "session", "invalid_json"));
        }
    }

    private static async Task<string?> PartAsync(IFormCollection form, string name)
    {
        if (form.TryGetValue(name, out var field) && field.Count > 0)
        {
            return field[0];
        }

        if (form.Files.GetFile(name) is { } file)
        {
            using var reader = new StreamReader(file.OpenReadStream(), Encoding.UTF8);
            return await reader.ReadToEndAsync();
        }

        return null;
    }

    /// <summary>The first structural problem of an SDP offer (what a WebRTC answerer needs), or null.</summary>
    public static OpenAiError? SdpProblem(string sdp, string param)
    {
        string? problem = null;
        if (!sdp.StartsWith("v=0", StringComparison.Ordinal))
        {
            problem = "it must start with the line 'v=0'";
        }
        else if (!sdp.Contains("\no=", StringComparison.Ordinal))
        {
            problem = "it has no origin ('o=') line";
        }
        else if (!sdp.Contains("\nm=audio", StringComparison.Ordinal))
        {
            problem = "it has no audio media section ('m=audio')";
        }
        else if (!sdp.Contains("a=ice-ufrag:", StringComparison.Ordinal) || !sdp.Contains("a=ice-pwd:", StringComparison.Ordinal))
        {
            problem = "it has no ICE credentials ('a=ice-ufrag' and 'a=ice-pwd')";
        }
        else if (!sdp.Contains("a=fingerprint:", StringComparison.Ordinal))
        {
            problem = "it has no DTLS fingerprint ('a=fingerprint')";
        }

        return problem is null ? null : OpenAiError.InvalidRequest($"Invalid SDP offer: {problem}.", param, "invalid_offer");
    }

    private static async Task<IResult> LegacySessionAsync(HttpContext context, SimulatorOptions options, SimulatorClientSecrets secrets, TimeProvider time)
    {
        var (body, tooLarge) = await ReadBodyAsync(context, MaxJsonBodyBytes);
        if (tooLarge is not null)
        {
            return tooLarge;
        }

        var (root, error) = ParseObject(body!);
        if (error is not null)
        {
            return error;
        }

        var model = root!["model"]?.GetValueKind() == JsonValueKind.String ? root["model"]!.GetValue<string>() : options.Model;
        var requested = new JsonObject { ["type"] = "realtime", ["model"] = model };
        if (root["instructions"]?.GetValueKind() == JsonValueKind.String)
        {
            requested["instructions"] = root["instructions"]!.GetValue<string>();
        }

        if (root["voice"]?.GetValueKind() == JsonValueKind.String)
        {
            requested["audio"] = new JsonObject { ["output"] = new JsonObject { ["voice"] = root["voice"]!.GetValue<string>() } };
        }

        var configuration = SimulatorSessions.Create(JsonSerializer.SerializeToElement(requested), options.Model);
        var session = configuration.ToJsonObject();
        var secret = secrets.Issue(configuration, LegacyKeyLifetime);
        return new JsonWriterResult(StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("id", session["id"]!.GetValue<string>());
            writer.WriteString("object", "realtime.session");
            writer.WriteString("model", model);
            writer.WriteStartArray("modalities");
            writer.WriteStringValue("audio");
            writer.WriteStringValue("text");
            writer.WriteEndArray();
            writer.WriteString("instructions", session["instructions"]!.GetValue<string>());
            writer.WriteString("voice", session["audio"]!["output"]!["voice"]!.GetValue<string>());
            writer.WriteString("input_audio_format", "pcm16");
            writer.WriteString("output_audio_format", "pcm16");
            writer.WriteStartObject("client_secret");
            writer.WriteString("value", secret.Value);
            writer.WriteNumber("expires_at", secret.ExpiresAt.ToUnixTimeSeconds());
            writer.WriteEndObject();
            writer.WriteEndObject();
        });
    }

    private static async Task<IResult> LegacyCallAsync(HttpContext context, SimulatorCaller caller, SimulatorOptions options, ISimulatorMediaPeer peer)
    {
        var (offer, _, error) = await ReadOfferAsync(context, allowMultipart: false);
        if (error is not null)
        {
            return error;
        }

        var session = caller.EphemeralKey?.Session() ?? SimulatorSessions.WithDefaults(null, options.Model);
        var query = context.Request.Query;
        if (query["model"] is [{ } model])
        {
            session["model"] = model;
        }

        if (query["instructions"] is [{ } instructions])
        {
            session["instructions"] = instructions;
        }

        if (query["voice"] is [{ } voice] && session["audio"]?["output"] is JsonObject output)
        {
            output["voice"] = voice;
        }

        return await AcceptAsync(context, peer, offer!, session, location: false);
    }

    private static OpenAiError BetaDisabled(HttpContext context) => OpenAiError.InvalidRequest(
        $"The Realtime API beta shape {context.Request.Path.Value![(BasePath.Length - 3)..]} has been turned off. Mint an ephemeral key with POST /v1/realtime/client_secrets "
        + "and exchange SDP with POST /v1/realtime/calls. (The simulator serves the beta shapes when Simulator:LegacyBetaShapes is true.)",
        null,
        "beta_api_shape_disabled");

    private static OpenAiError UnsupportedContentType(HttpContext context, string expected) => OpenAiError.InvalidRequest(
        $"Unsupported Content-Type '{context.Request.ContentType ?? "(none)"}' for {context.Request.Method} {context.Request.Path.Value![(BasePath.Length - 3)..]}. Expected {expected}.",
        null,
        "unsupported_content_type",
        StatusCodes.Status415UnsupportedMediaType);

    private static bool IsJsonOrMissing(string? contentType) =>
        string.IsNullOrEmpty(contentType) || contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase);

    private static (JsonObject? Root, OpenAiError? Error) ParseObject(byte[] body)
    {
        if (body.Length == 0)
        {
            return (new JsonObject(), null);
        }

        try
        {
            return JsonNode.Parse(body, documentOptions: JsonBodies.DocumentOptions) is JsonObject root ? (root, null) : (null, OpenAiError.InvalidRequest("The request body must be a JSON object.", null, "invalid_type"));
        }
        catch (JsonException)
        {
            return (null, OpenAiError.InvalidJson());
        }
    }

    /// <summary>Reads the whole body, or answers 413 as soon as it passes <paramref name="limit"/> bytes.</summary>
    private static async Task<(byte[]? Body, OpenAiError? TooLarge)> ReadBodyAsync(HttpContext context, int limit)
    {
        var declared = context.Request.ContentLength;
        if (declared > limit)
        {
            return (null, TooLarge(context, declared.Value, limit));
        }

        var reader = context.Request.BodyReader;
        while (true)
        {
            var read = await reader.ReadAsync(context.RequestAborted);
            if (read.Buffer.Length > limit)
            {
                reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                return (null, TooLarge(context, read.Buffer.Length, limit));
            }

            if (read.IsCompleted)
            {
                var body = read.Buffer.ToArray();
                reader.AdvanceTo(read.Buffer.End);
                return (body, null);
            }

            reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    private static OpenAiError TooLarge(HttpContext context, long size, int limit) => OpenAiError.InvalidRequest(
        string.Create(CultureInfo.InvariantCulture, $"The request body is {(size > limit + 1 ? $"{size} bytes" : $"over {limit} bytes")}; {context.Request.Path.Value![(BasePath.Length - 3)..]} accepts at most {limit} bytes ({limit / 1024} KiB)."),
        null,
        "request_too_large",
        StatusCodes.Status413PayloadTooLarge);
}
