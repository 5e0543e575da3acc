using System.Text.Json;
using System.Text.Json.Serialization;
using RealtimeConsole.Access;
using RealtimeConsole.Surface;
using RealtimeConsole.Tokens;

namespace RealtimeConsole.Telemetry;

/// <summary><c>GET /api/telemetry</c> (the snapshot as snake_case JSON) and <c>POST /api/telemetry/rate-limits</c> (browser reports).</summary>
public static class TelemetryEndpoints
{
    public static readonly JsonSerializerOptions SnapshotJson = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter() },
    };

    public const int MaxReportBytes = 16 * 1024;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/api/telemetry", (ITelemetryFeed feed, DeploymentTelemetry deployment) =>
            Results.Json(feed.Current.Snapshot with { Instances = deployment.View.Instances }, SnapshotJson)).RequireAuthorization(AccessPolicies.TelemetryReader).TakesNoBody();
        // Rate limits seen by a voice session: only those who may open one report them.
        app.MapPost("/api/telemetry/rate-limits", RecordRateLimitsAsync).RequireAuthorization(AccessPolicies.Developer).RequireRateLimiting(BrokerFeature.DoorPolicy).AcceptsJsonBody(MaxReportBytes);
    }

    private static async Task<IResult> RecordRateLimitsAsync(HttpContext context, BrokerTelemetry telemetry)
    {
        if (!context.Request.HasJsonContentType())
        {
            return BrokerErrors.Problem(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type", "Send the rate_limits.updated event as application/json.");
        }

        var (bytes, tooLarge) = await RequestBodies.ReadLimitedAsync(context.Request, MaxReportBytes);
        if (tooLarge)
        {
            return BrokerErrors.Problem(StatusCodes.Status413PayloadTooLarge, "payload_too_large", "The report may be at most 16 KiB.");
        }

        RateLimitsReport? report;
        try
        {
            report = JsonBodies.Deserialize<RateLimitsReport>(bytes, SnapshotJson);
        }
        catch (JsonException ex)
        {
            return BrokerErrors.Problem(StatusCodes.Status400BadRequest, "invalid_json", $"Not valid JSON: {ex.Message}");
        }

        if (report?.RateLimits is not { Count: > 0 and <= 10 } limits || limits.Any(l => l.Name is not ("requests" or "tokens")))
        {
            return BrokerErrors.Problem(StatusCodes.Status400BadRequest, "invalid_rate_limits",
                "Expected {\"rate_limits\":[{\"name\":\"requests\"|\"tokens\",\"limit\",\"remaining\",\"reset_seconds\"}]} (the rate_limits.updated event).");
        }

        telemetry.RecordBrowserRateLimits(limits.Select(l => new BrowserRateLimit(l.Name!, l.Limit, l.Remaining, l.ResetSeconds)));
        return Results.NoContent();
    }

    private sealed record RateLimitsReport(List<ReportedLimit>? RateLimits);

    private sealed record ReportedLimit(string? Name, int? Limit, int? Remaining, double? ResetSeconds);
}
