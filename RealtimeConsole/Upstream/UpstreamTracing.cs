using System.Diagnostics;
using System.Text.Json;
using RealtimeConsole.RateLimits;

namespace RealtimeConsole.Upstream;

/// <summary>
/// The spans of upstream calls (ActivitySource <c>RealtimeConsole.Upstream</c>): one per logical request, carrying the
/// refusal if there is one, and under it one per attempt with its wait, status and <c>x-request-id</c>. Whoever exports
/// traces listens to the source by name; without a listener nothing is created.
/// </summary>
public static class UpstreamTracing
{
    public const string ActivitySourceName = "RealtimeConsole.Upstream";

    /// <summary>Upstream's <c>x-request-id</c>, the id OpenAI support asks for.</summary>
    public const string RequestIdAttribute = "openai.request_id";

    public const string StatusAttribute = "http.response.status_code";

    /// <summary>What the request draws on: <c>client_secrets</c> or <c>calls</c>.</summary>
    public const string ResourceAttribute = "realtime.upstream.resource";

    /// <summary>1 for the first try, 2 and on for retries.</summary>
    public const string AttemptAttribute = "realtime.upstream.attempt";

    /// <summary>Milliseconds the attempt waited for the shared cooldown and its budget before it could be sent.</summary>
    public const string WaitAttribute = "realtime.upstream.wait_ms";

    /// <summary>Why no answer reached the caller, as <see cref="RefusalKind"/> in snake case (<c>upstream_rate_limited</c>).</summary>
    public const string RefusalAttribute = "realtime.upstream.refusal";

    public const string ErrorTypeAttribute = "error.type";

    private static readonly ActivitySource Source = new(ActivitySourceName);

    /// <summary>The span of one logical request, retries included; null when nobody listens.</summary>
    public static Activity? StartRequest(UpstreamResource resource) =>
        Source.HasListeners() ? Source.StartActivity("upstream " + resource.ToWireName())?.SetTag(ResourceAttribute, resource.ToWireName()) : null;

    /// <summary>The span of one attempt, from its wait for the cooldown and budget to upstream's answer.</summary>
    public static Activity? StartAttempt(UpstreamResource resource, int attempt) =>
        Source.HasListeners()
            ? Source.StartActivity("upstream " + resource.ToWireName() + " attempt")?.SetTag(ResourceAttribute, resource.ToWireName()).SetTag(AttemptAttribute, attempt)
            : null;

    public static void Waited(Activity? attempt, TimeSpan wait) => attempt?.SetTag(WaitAttribute, Math.Round(wait.TotalMilliseconds, 1));

    public static void Answered(Activity? attempt, UpstreamResponse response)
    {
        if (attempt is null)
        {
            return;
        }

        attempt.SetTag(StatusAttribute, (int)response.Status).SetTag(RequestIdAttribute, response.RequestId);
        if (!response.IsSuccess)
        {
            var status = ((int)response.Status).ToString(System.Globalization.CultureInfo.InvariantCulture);
            attempt.SetTag(ErrorTypeAttribute, response.ErrorCode ?? status).SetStatus(ActivityStatusCode.Error, status);
        }
    }

    public static void NoAnswer(Activity? attempt, Exception failure) =>
        attempt?.SetTag(ErrorTypeAttribute, failure.GetType().Name).SetStatus(ActivityStatusCode.Error, failure.GetType().Name);

    /// <summary>
    /// Marks the current request span refused. Refusals are decided in the request's own flow, so its span is
    /// <see cref="Activity.Current"/>; any other current span (the caller's) is left alone.
    /// </summary>
    public static void Refused(UpstreamRefusal refusal)
    {
        if (Activity.Current is not { } request || request.Source != Source)
        {
            return;
        }

        request.SetTag(RefusalAttribute, JsonNamingPolicy.SnakeCaseLower.ConvertName(refusal.Kind.ToString()))
            .SetTag(ErrorTypeAttribute, refusal.Code)
            .SetStatus(ActivityStatusCode.Error, refusal.Code);
        if (refusal.UpstreamRequestId is { } requestId)
        {
            request.SetTag(RequestIdAttribute, requestId);
        }
    }
}
