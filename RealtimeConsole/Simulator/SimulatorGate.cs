using Microsoft.Extensions.Options;
using System.Globalization;

namespace RealtimeConsole.Simulator;

/// <summary>Which keys an endpoint takes.</summary>
public enum SimulatorKeyPolicy
{
    StandardOnly,
    StandardOrEphemeral,

    /// <summary>Either key; an ephemeral key opens a session with it, which <c>Simulator:SecretReuse=SingleUse</c> allows once.</summary>
    StandardOrEphemeralOpeningSession,
}

/// <summary>The caller's key once checked: the standard key, or an active <c>ek_</c> key and its session.</summary>
public sealed record SimulatorCaller(bool IsStandardKey, IssuedClientSecret? EphemeralKey);

/// <summary>
/// Everything around a simulator endpoint, in OpenAI's order: request id, key check, faults, the organization's
/// budget, the handler, then the rate-limit headers, the counters and the page notification.
/// </summary>
public sealed partial class SimulatorGate(
    IOptions<SimulatorOptions> settings,
    SimulatorRateLimiter limiter,
    SimulatorFaults faults,
    SimulatorStats stats,
    SimulatorClientSecrets secrets,
    SimulatorChangeNotifier notifier,
    TimeProvider time,
    ILogger<SimulatorGate> logger)
{
    private readonly SimulatorOptions options = settings.Value;

    public SimulatorOptions Options => options;

    /// <summary>Runs <paramref name="handler"/> for a request to <paramref name="endpoint"/>, charged to <paramref name="resource"/>.</summary>
    public async Task RunAsync(
        HttpContext context,
        SimulatorEndpoint endpoint,
        SimulatorResource resource,
        SimulatorKeyPolicy keyPolicy,
        Func<HttpContext, SimulatorCaller, Task<IResult>> handler)
    {
        var requestId = NewRequestId();
        context.Response.Headers["x-request-id"] = requestId;

        IResult result;
        RateLimitDecision decision;
        var authError = Authenticate(context, keyPolicy, out var caller);
        if (authError is not null)
        {
            result = authError;
            decision = limiter.Peek(resource);
        }
        else if (faults.Any && await FaultAsync(context, resource) is { } faultResult)
        {
            result = faultResult;
            decision = limiter.Peek(resource);
            if (faultResult is OpenAiError { Code: "rate_limit_exceeded" } && faults.Find(SimulatorFaultKind.RateLimitStorm, resource) is { } storm)
            {
                // The storm's 429 says "Used {limit}": its headers agree, with nothing left until the storm ends.
                decision = decision with { Admitted = false, Remaining = 0, ResetAfter = storm.RemainingAt(time.GetUtcNow()) };
            }
        }
        else
        {
            decision = limiter.TryAcquire(resource);
            if (!decision.Admitted)
            {
                result = RateLimited(context, decision);
            }
            else
            {
                result = await RunHandlerAsync(context, caller!, handler);
                if (!options.CountFailedRequests && StatusOf(result) >= 400)
                {
                    decision = limiter.Refund(resource);
                }
            }
        }

        WriteRateLimitHeaders(context.Response.Headers, decision);
        WriteTokenRateLimitHeaders(context.Response.Headers, limiter.PeekTokens());
        var status = StatusOf(result);
        stats.Record(endpoint, new SimulatorRequestRecord(
            time.GetUtcNow(), context.Request.Method, context.Request.Path.Value ?? "", status, requestId, (result as OpenAiError)?.Code));
        notifier.Notify();
        await result.ExecuteAsync(context);
    }

    /// <summary>Sets <c>x-ratelimit-limit/remaining/reset-requests</c> from <paramref name="decision"/>.</summary>
    public static void WriteRateLimitHeaders(IHeaderDictionary headers, RateLimitDecision decision)
    {
        headers["x-ratelimit-limit-requests"] = decision.Limit.ToString(CultureInfo.InvariantCulture);
        headers["x-ratelimit-remaining-requests"] = decision.Remaining.ToString(CultureInfo.InvariantCulture);
        headers["x-ratelimit-reset-requests"] = OpenAiDuration.Format(decision.ResetAfter);
    }

    /// <summary>Sets <c>x-ratelimit-limit/remaining/reset-tokens</c>: the organization's token budget, sent beside the request headers as OpenAI's rate-limit guide lists them.</summary>
    public static void WriteTokenRateLimitHeaders(IHeaderDictionary headers, RateLimitDecision tokens)
    {
        headers["x-ratelimit-limit-tokens"] = tokens.Limit.ToString(CultureInfo.InvariantCulture);
        headers["x-ratelimit-remaining-tokens"] = tokens.Remaining.ToString(CultureInfo.InvariantCulture);
        headers["x-ratelimit-reset-tokens"] = OpenAiDuration.Format(tokens.ResetAfter);
    }

    /// <summary>The exact <c>rate_limit_exceeded</c> answer for a refused request, with <c>retry-after-ms</c> and <c>retry-after</c>.</summary>
    public OpenAiError RateLimited(HttpContext context, RateLimitDecision decision) =>
        RateLimited(context, decision.Limit, decision.Used, decision.RetryAfter);

    private OpenAiError RateLimited(HttpContext context, int limit, int used, TimeSpan wait)
    {
        var waitMs = Math.Max(1, OpenAiDuration.CeilingMilliseconds(wait));
        WriteRetryAfter(context.Response.Headers, waitMs);
        return new OpenAiError(
            StatusCodes.Status429TooManyRequests,
            string.Create(CultureInfo.InvariantCulture, $"Rate limit reached for {options.Model} in organization {options.OrganizationId} on requests per min (RPM): Limit {limit}, Used {used}, Requested 1. Please try again in {OpenAiDuration.FormatMilliseconds(waitMs)}."),
            "requests",
            null,
            "rate_limit_exceeded");
    }

    /// <summary><c>retry-after-ms</c> exactly, <c>retry-after</c> in whole seconds rounded up.</summary>
    public static void WriteRetryAfter(IHeaderDictionary headers, long waitMs)
    {
        headers["retry-after-ms"] = waitMs.ToString(CultureInfo.InvariantCulture);
        headers["retry-after"] = ((waitMs + 999) / 1000).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>A new <c>req_</c> id (32 hex digits).</summary>
    public static string NewRequestId()
    {
        Span<byte> random = stackalloc byte[16];
        Random.Shared.NextBytes(random);
        return "req_" + Convert.ToHexStringLower(random);
    }

    private OpenAiError? Authenticate(HttpContext context, SimulatorKeyPolicy policy, out SimulatorCaller? caller)
    {
        caller = null;
        var header = context.Request.Headers.Authorization;
        var value = header.Count == 1 ? header[0] : null;
        if (value is null || !value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || value.Length == 7)
        {
            return new OpenAiError(
                StatusCodes.Status401Unauthorized,
                "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                "invalid_request_error",
                null,
                null);
        }

        var key = value.AsSpan(7).Trim();
        if (key.SequenceEqual(options.ApiKey))
        {
            caller = new SimulatorCaller(true, null);
            return null;
        }

        var keyText = key.ToString();
        if (keyText.StartsWith("ek_", StringComparison.Ordinal))
        {
            var state = secrets.Find(keyText, out var secret);
            if (policy == SimulatorKeyPolicy.StandardOnly && state != ClientSecretState.Unknown)
            {
                return InvalidKey($"Ephemeral keys (ek_...) can only open Realtime sessions; {context.Request.Path} needs your standard API key.");
            }

            switch (state)
            {
                case ClientSecretState.Active:
                    if (policy == SimulatorKeyPolicy.StandardOrEphemeralOpeningSession && !secret!.OpenSession() && options.SecretReuse == SimulatorSecretReuse.SingleUse)
                    {
                        return InvalidKey($"This ephemeral key has already opened a session and cannot open another (Simulator:SecretReuse is SingleUse). Mint a new one with POST /v1/realtime/client_secrets.");
                    }

                    caller = new SimulatorCaller(false, secret);
                    return null;
                case ClientSecretState.Expired:
                    return InvalidKey(string.Create(CultureInfo.InvariantCulture, $"The ephemeral key expired at {secret!.ExpiresAt:O}. Mint a new one with POST /v1/realtime/client_secrets."));
            }
        }

        // Nothing of the key is echoed (OpenAI shows its first and last characters): callers here are anonymous.
        return InvalidKey("Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.");
    }

    private static OpenAiError InvalidKey(string message) =>
        new(StatusCodes.Status401Unauthorized, message, "invalid_request_error", null, "invalid_api_key");

    private async Task<IResult?> FaultAsync(HttpContext context, SimulatorResource resource)
    {
        if (faults.Find(SimulatorFaultKind.Latency, resource) is { } latency)
        {
            await Task.Delay(latency.Latency, time, context.RequestAborted);
        }

        if (faults.Find(SimulatorFaultKind.ServerError, resource) is not null)
        {
            return new OpenAiError(StatusCodes.Status500InternalServerError, "The server had an error while processing your request. Sorry about that!", "server_error", null, null);
        }

        if (faults.Find(SimulatorFaultKind.InsufficientQuota, resource) is not null)
        {
            return new OpenAiError(StatusCodes.Status429TooManyRequests, "You exceeded your current quota, please check your plan and billing details.", "insufficient_quota", null, "insufficient_quota");
        }

        return Storm(context, resource);
    }

    private async Task<IResult> RunHandlerAsync(HttpContext context, SimulatorCaller caller, Func<HttpContext, SimulatorCaller, Task<IResult>> handler)
    {
        try
        {
            return await handler(context, caller);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return new OpenAiError(499, "The client closed the request.", "invalid_request_error", null, "client_closed_request");
        }
        catch (BadHttpRequestException ex)
        {
            return new OpenAiError(ex.StatusCode, ex.Message, "invalid_request_error", null, ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? "request_too_large" : null);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The exception's text stays in the log: it can name internals, and callers are anonymous.
            LogHandlerFailed(logger, ex, context.Request.Path.Value ?? "");
            return new OpenAiError(StatusCodes.Status500InternalServerError, "The server had an error while processing your request. Sorry about that!", "server_error", null, null);
        }
    }

    private static int StatusOf(IResult result) => result is IStatusCodeHttpResult { StatusCode: { } status } ? status : StatusCodes.Status200OK;

    /// <summary>A storm answers like a bucket with nothing left, waiting until the storm ends.</summary>
    private OpenAiError? Storm(HttpContext context, SimulatorResource resource)
    {
        if (faults.Find(SimulatorFaultKind.RateLimitStorm, resource) is not { } storm)
        {
            return null;
        }

        var limit = limiter.GetLimit(resource);
        return RateLimited(context, limit, limit, storm.RemainingAt(time.GetUtcNow()));
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Simulator handler for {Path} failed")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string path);
}
