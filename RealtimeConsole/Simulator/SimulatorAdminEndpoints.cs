using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RealtimeConsole.Surface;

namespace RealtimeConsole.Simulator;

/// <summary>The JSON admin API under <c>/simulator/admin</c> for tests, the bench and support staff.</summary>
public static class SimulatorAdminEndpoints
{
    public const string BasePath = "/simulator/admin";

    /// <summary>The admin API's bodies are a few fields: kilobytes, never megabytes.</summary>
    public const int MaxBodyBytes = 4 * 1024;

    public static void Map(IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup(BasePath);

        // Support staff quote request ids from the admin API too.
        admin.AddEndpointFilter((context, next) =>
        {
            context.HttpContext.Response.Headers["x-request-id"] = SimulatorGate.NewRequestId();
            return next(context);
        });

        admin.MapGet("/limits", (SimulatorRateLimiter limiter) => Limits(limiter)).TakesNoBody();

        admin.MapPut("/limits/tokens", async (HttpContext context, SimulatorRateLimiter limiter) =>
        {
            var (body, error) = await ReadObjectAsync(context);
            if (error is not null)
            {
                return error;
            }

            if (body!["tokensPerMinute"] is not JsonValue value || value.GetValueKind() != JsonValueKind.Number || !value.TryGetValue(out int tpm))
            {
                return OpenAiError.InvalidRequest("Send {\"tokensPerMinute\": n} with a whole number n.", "tokensPerMinute", "invalid_type");
            }

            if (tpm is < 1 or > RequestRateBucket.MaxLimit)
            {
                return OpenAiError.InvalidRequest(string.Create(CultureInfo.InvariantCulture, $"tokensPerMinute must be between 1 and {RequestRateBucket.MaxLimit}, got {tpm}."), "tokensPerMinute", "invalid_value");
            }

            limiter.SetTokenLimit(tpm);
            return Limits(limiter);
        }).AcceptsJsonBody(MaxBodyBytes);

        admin.MapPut("/limits/{resource}", async (string resource, HttpContext context, SimulatorRateLimiter limiter) =>
        {
            if (!SimulatorResources.TryParse(resource, out var which))
            {
                return OpenAiError.InvalidRequest($"Unknown resource '{resource}'. Use client_secrets, calls, responses or tokens.", "resource", "unknown_resource", StatusCodes.Status404NotFound);
            }

            var (body, error) = await ReadObjectAsync(context);
            if (error is not null)
            {
                return error;
            }

            if (body!["requestsPerMinute"] is not JsonValue value || value.GetValueKind() != JsonValueKind.Number || !value.TryGetValue(out int rpm))
            {
                return OpenAiError.InvalidRequest("Send {\"requestsPerMinute\": n} with a whole number n.", "requestsPerMinute", "invalid_type");
            }

            if (rpm is < 1 or > RequestRateBucket.MaxLimit)
            {
                return OpenAiError.InvalidRequest(string.Create(CultureInfo.InvariantCulture, $"requestsPerMinute must be between 1 and {RequestRateBucket.MaxLimit}, got {rpm}."), "requestsPerMinute", "invalid_value");
            }

            limiter.SetLimit(which, rpm);
            return Limits(limiter);
        }).AcceptsJsonBody(MaxBodyBytes);

        admin.MapGet("/faults", (SimulatorFaults faults, TimeProvider time) => Faults(faults, time)).TakesNoBody();

        admin.MapPost("/faults", async (HttpContext context, SimulatorFaults faults, TimeProvider time) =>
        {
            var (body, error) = await ReadObjectAsync(context);
            if (error is not null)
            {
                return error;
            }

            var kindText = body!["kind"]?.GetValueKind() == JsonValueKind.String ? body["kind"]!.GetValue<string>() : null;
            if (!SimulatorFaultKinds.TryParse(kindText, out var kind))
            {
                return OpenAiError.InvalidRequest("\"kind\" must be one of rate_limit_storm, insufficient_quota, server_error, latency.", "kind", "invalid_value");
            }

            if (body["seconds"] is not JsonValue secondsValue || secondsValue.GetValueKind() != JsonValueKind.Number || !secondsValue.TryGetValue(out double seconds) || seconds is <= 0 or > 86_400)
            {
                return OpenAiError.InvalidRequest("\"seconds\" must be a number of seconds between 0 and 86400 (exclusive of 0).", "seconds", "invalid_value");
            }

            SimulatorResource? resource = null;
            if (body["resource"] is { } resourceNode)
            {
                if (resourceNode.GetValueKind() != JsonValueKind.String || !SimulatorResources.TryParse(resourceNode.GetValue<string>(), out var parsed))
                {
                    return OpenAiError.InvalidRequest("\"resource\" must be client_secrets, calls or responses (or left out for all).", "resource", "invalid_value");
                }

                resource = parsed;
            }

            var latency = TimeSpan.FromSeconds(1);
            if (body["latencyMs"] is { } latencyNode)
            {
                if (latencyNode is not JsonValue latencyValue || latencyNode.GetValueKind() != JsonValueKind.Number || !latencyValue.TryGetValue(out int latencyMs) || latencyMs is < 0 or > 120_000)
                {
                    return OpenAiError.InvalidRequest("\"latencyMs\" must be a whole number of milliseconds between 0 and 120000.", "latencyMs", "invalid_value");
                }

                latency = TimeSpan.FromMilliseconds(latencyMs);
            }

            var fault = faults.Activate(kind, TimeSpan.FromSeconds(seconds), resource, latency);
            return Results.Json(new { fault = Describe(fault, time.GetUtcNow()) }, statusCode: StatusCodes.Status201Created);
        }).AcceptsJsonBody(MaxBodyBytes);

        admin.MapDelete("/faults", (HttpContext context, SimulatorFaults faults, TimeProvider time) =>
        {
            var kindText = context.Request.Query["kind"].ToString();
            if (kindText.Length == 0)
            {
                faults.Clear();
            }
            else if (SimulatorFaultKinds.TryParse(kindText, out var kind))
            {
                faults.Clear(kind);
            }
            else
            {
                return OpenAiError.InvalidRequest("?kind= must be one of rate_limit_storm, insufficient_quota, server_error, latency.", "kind", "invalid_value");
            }

            return Faults(faults, time);
        }).TakesNoBody();

        admin.MapPost("/reset", (SimulatorRateLimiter limiter, SimulatorStats stats, SimulatorChangeNotifier notifier) =>
        {
            limiter.Reset();
            stats.Reset();
            notifier.Notify();
            return Results.Json(new { endpoints = stats.Snapshot() });
        }).TakesNoBody();

        // The process's CPU time lets `bench simulator --url` report mints per simulator CPU-second from another process.
        admin.MapGet("/stats", (SimulatorStats stats) => Results.Json(new
        {
            endpoints = stats.Snapshot(),
            process = new { id = Environment.ProcessId, cpuSeconds = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds },
        })).TakesNoBody();

        admin.MapGet("/presets", () => Results.Json(new { presets = SimulatorPresets.All.Select(p => new { name = p.Name, title = p.Title, description = p.Description }) })).TakesNoBody();

        admin.MapPost("/presets/{name}", (string name, SimulatorPresets presets, SimulatorRateLimiter limiter, SimulatorFaults faults, TimeProvider time) =>
            presets.TryApply(name)
                ? Results.Json(new { preset = name, limits = LimitsBody(limiter), faults = faults.Active().Select(f => Describe(f, time.GetUtcNow())) })
                : OpenAiError.InvalidRequest($"Unknown preset '{name}'. Presets: {string.Join(", ", SimulatorPresets.All.Select(p => p.Name))}.", "name", "unknown_preset", StatusCodes.Status404NotFound)).TakesNoBody();

        admin.Map("/{**rest}", (HttpContext context) =>
            OpenAiError.InvalidRequest($"Invalid URL ({context.Request.Method} {context.Request.Path})", status: StatusCodes.Status404NotFound));
    }

    private static IResult Limits(SimulatorRateLimiter limiter) => Results.Json(new { limits = LimitsBody(limiter) });

    private static Dictionary<string, object> LimitsBody(SimulatorRateLimiter limiter)
    {
        var limits = new Dictionary<string, object>();
        foreach (var resource in SimulatorResources.All)
        {
            var level = limiter.Peek(resource);
            limits[resource.Name()] = new
            {
                requestsPerMinute = level.Limit,
                remaining = level.Remaining,
                resetAfterMs = OpenAiDuration.CeilingMilliseconds(level.ResetAfter),
            };
        }

        var tokens = limiter.PeekTokens();
        limits["tokens"] = new
        {
            tokensPerMinute = tokens.Limit,
            remaining = tokens.Remaining,
            resetAfterMs = OpenAiDuration.CeilingMilliseconds(tokens.ResetAfter),
        };
        return limits;
    }

    private static IResult Faults(SimulatorFaults faults, TimeProvider time)
    {
        var now = time.GetUtcNow();
        return Results.Json(new { faults = faults.Active().Select(f => Describe(f, now)) });
    }

    private static object Describe(SimulatorFault fault, DateTimeOffset now) => new
    {
        kind = fault.Kind.Name(),
        resource = fault.Resource?.Name(),
        startedAt = fault.StartedAt,
        endsAt = fault.EndsAt,
        remainingSeconds = Math.Round(fault.RemainingAt(now).TotalSeconds, 3),
        latencyMs = fault.Kind == SimulatorFaultKind.Latency ? fault.Latency.TotalMilliseconds : (double?)null,
    };

    private static async Task<(JsonObject? Body, OpenAiError? Error)> ReadObjectAsync(HttpContext context)
    {
        var (bytes, tooLarge) = await RequestBodies.ReadLimitedAsync(context.Request, MaxBodyBytes);
        if (tooLarge)
        {
            return (null, OpenAiError.InvalidRequest(
                string.Create(CultureInfo.InvariantCulture, $"The request body is over {MaxBodyBytes} bytes; {context.Request.Path} accepts at most {MaxBodyBytes} bytes ({MaxBodyBytes / 1024} KiB)."),
                null,
                "request_too_large",
                StatusCodes.Status413PayloadTooLarge));
        }

        try
        {
            return JsonNode.Parse(bytes, documentOptions: JsonBodies.DocumentOptions) is JsonObject body
                ? (body, null)
                : (null, OpenAiError.InvalidRequest("The request body must be a JSON object.", null, "invalid_type"));
        }
        catch (JsonException ex)
        {
            return (null, OpenAiError.InvalidRequest("The request body is not valid JSON: " + ex.Message));
        }
    }
}
