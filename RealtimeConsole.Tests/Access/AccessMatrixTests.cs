using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RealtimeConsole.Access;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Access;

/// <summary>
/// Every endpoint the app maps (read from its own <see cref="EndpointDataSource"/>) × anonymous, viewer, developer, admin, with the exact
/// status each gets. An endpoint missing from <see cref="Expected"/> fails the test, so a new endpoint must state its policy here and in code.
/// </summary>
public sealed class AccessMatrixTests : IAsyncLifetime
{
    private const string Json = "application/json";
    private const string ApiKey = "matrix-api-key";

    // Production, as deployed: Development adds a static-file fallback of its own.
    private readonly ConsoleAppFactory _app = new ConsoleAppFactory()
        .WithSetting("environment", "Production")
        .WithSetting("Auth:Mode", "BrowserToken")
        .WithSetting("Auth:ApiKey", ApiKey);

    /// <summary>Method and route pattern → the policy it must carry, the status when allowed, and a harmless request (bad input where it would change state).</summary>
    private static readonly Dictionary<string, Expectation> Expected = new()
    {
        ["* /healthz"] = new(Anonymous, 200, null, null),
        ["GET /login"] = new(Anonymous, 401, null, null),
        ["* /"] = new(AccessPolicies.Developer, 200, null, null),
        ["* /limits"] = new(AccessPolicies.Viewer, 200, null, null),
        ["* /simulator"] = new(AccessPolicies.Admin, 200, null, null),
        ["* /Error"] = new(Anonymous, 200, null, null),
        ["* /not-found"] = new(Anonymous, 200, null, null),
        ["POST /api/realtime/client-secret"] = new(AccessPolicies.Developer, 400, "{", Json),
        ["POST /api/realtime/calls"] = new(AccessPolicies.Developer, 400, "hello", "application/sdp"),
        ["POST /api/realtime/calls/{callId}/hangup"] = new(AccessPolicies.Developer, 400, null, null),
        ["DELETE /api/realtime/calls/{callId}"] = new(AccessPolicies.Developer, 400, null, null),
        ["GET /api/telemetry"] = new(AccessPolicies.TelemetryReader, 200, null, null),
        ["POST /api/telemetry/rate-limits"] = new(AccessPolicies.Developer, 400, "{}", Json),
        ["GET /api/telemetry/export.json"] = new(AccessPolicies.TelemetryReader, 200, null, null),
        ["GET /api/telemetry/export.csv"] = new(AccessPolicies.TelemetryReader, 200, null, null),
        ["* /metrics"] = new(AccessPolicies.TelemetryReader, 200, null, null),
        ["* /hubs/telemetry/negotiate"] = new(AccessPolicies.TelemetryWatcher, 200, null, null),
        ["* /hubs/telemetry"] = new(AccessPolicies.TelemetryWatcher, 400, null, null),
        ["POST /simulator/v1/realtime/client_secrets"] = new(Anonymous, 401, "{}", Json),
        ["POST /simulator/v1/realtime/calls"] = new(Anonymous, 401, "v=0", "application/sdp"),
        ["POST /simulator/v1/realtime/calls/{callId}/hangup"] = new(Anonymous, 401, null, null),
        ["POST /simulator/v1/realtime/translations/client_secrets"] = new(Anonymous, 401, "{}", Json),
        ["POST /simulator/v1/realtime/calls/{callId}/accept"] = new(Anonymous, 401, "{}", Json),
        ["POST /simulator/v1/realtime/calls/{callId}/reject"] = new(Anonymous, 401, "{}", Json),
        ["POST /simulator/v1/realtime/calls/{callId}/refer"] = new(Anonymous, 401, "{}", Json),
        ["POST /simulator/v1/realtime/sessions"] = new(Anonymous, 401, "{}", Json),
        ["POST /simulator/v1/realtime"] = new(Anonymous, 401, "v=0", "application/sdp"),
        ["* /simulator/v1/{**rest}"] = new(Anonymous, 404, null, null),
        ["GET /simulator/admin/limits"] = new(AccessPolicies.Admin, 200, null, null),
        ["PUT /simulator/admin/limits/{resource}"] = new(AccessPolicies.Admin, 400, "{}", Json),
        ["PUT /simulator/admin/limits/tokens"] = new(AccessPolicies.Admin, 400, "{}", Json),
        ["GET /simulator/admin/faults"] = new(AccessPolicies.Admin, 200, null, null),
        ["POST /simulator/admin/faults"] = new(AccessPolicies.Admin, 400, "{}", Json),
        ["DELETE /simulator/admin/faults"] = new(AccessPolicies.Admin, 200, null, null),
        ["POST /simulator/admin/reset"] = new(AccessPolicies.Admin, 200, null, null),
        ["GET /simulator/admin/stats"] = new(AccessPolicies.Admin, 200, null, null),
        ["GET /simulator/admin/presets"] = new(AccessPolicies.Admin, 200, null, null),
        ["POST /simulator/admin/presets/{name}"] = new(AccessPolicies.Admin, 404, null, null),
        ["* /simulator/admin/{**rest}"] = new(AccessPolicies.Admin, 404, null, null),
        ["* /_blazor/negotiate"] = new(AccessPolicies.SignedIn, 200, null, null, "POST"),
        ["* /_blazor"] = new(AccessPolicies.SignedIn, 400, null, null),
        ["* /_blazor/initializers/"] = new(AccessPolicies.SignedIn, 200, null, null),
        ["* /_blazor/disconnect/"] = new(AccessPolicies.SignedIn, 400, null, null, "POST"),
        ["GET /_framework/opaque-redirect"] = new(AccessPolicies.SignedIn, 400, null, null),
    };

    private const string Anonymous = "anonymous";

    private sealed record Expectation(string Policy, int Allowed, string? Body, string? ContentType, string? Method = null);

    private static readonly string?[] Identities = [null, ConsoleRoles.Viewer, ConsoleRoles.Developer, ConsoleRoles.Admin];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Every_endpoint_states_its_policy_and_answers_each_role_with_the_exact_status()
    {
        using var http = SignIn.NoRedirects(_app);
        var cookies = Identities.ToDictionary(role => role ?? Anonymous, role => role is null ? null : SignIn.CookieFor(_app, role));
        var endpoints = _app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        var problems = new List<string>();
        var seen = new HashSet<string>();

        foreach (var endpoint in endpoints)
        {
            var pattern = "/" + endpoint.RoutePattern.RawText!.TrimStart('/');
            var methods = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? [];
            var key = methods.Count == 1 ? $"{methods[0]} {pattern}" : $"* {pattern}";
            var declared = DeclaredPolicy(endpoint);
            if (!Expected.TryGetValue(key, out var expected))
            {
                if (IsStaticAsset(endpoint) && declared is Anonymous or null)
                {
                    continue;
                }

                problems.Add($"{key}: not in the matrix (declared policy: {declared ?? "none"}; {endpoint.DisplayName})");
                continue;
            }

            seen.Add(key);
            if (declared != expected.Policy)
            {
                problems.Add($"{key}: declares {declared ?? "no policy"}, expected {expected.Policy} ({endpoint.DisplayName})");
            }

            var method = expected.Method ?? (methods.Count > 0 ? methods[0] : "GET");
            var url = Url(pattern);
            foreach (var (identity, cookie) in cookies)
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), url);
                if (cookie is not null)
                {
                    request.Headers.Add("Cookie", cookie);
                }

                if (expected.Body is not null)
                {
                    request.Content = new StringContent(expected.Body, Encoding.UTF8);
                    request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(expected.ContentType!);
                }

                using var response = await http.SendAsync(request);
                var want = StatusFor(expected.Policy, identity, expected.Allowed);
                if ((int)response.StatusCode != want)
                {
                    problems.Add($"{method} {url} as {identity}: {(int)response.StatusCode}, expected {want}");
                }
            }
        }

        problems.AddRange(Expected.Keys.Except(seen).Select(k => $"{k}: in the matrix but not mapped"));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task The_hub_takes_the_bearer_api_key_and_refuses_cookies_and_wrong_keys()
    {
        using var http = SignIn.NoRedirects(_app);
        foreach (var (authorization, cookie, want) in new (string?, string?, HttpStatusCode)[]
        {
            ($"Bearer {ApiKey}", null, HttpStatusCode.OK),
            ("Bearer not-the-key", null, HttpStatusCode.Unauthorized),
            (null, SignIn.CookieFor(_app, ConsoleRoles.Admin), HttpStatusCode.Unauthorized),
            (null, null, HttpStatusCode.Unauthorized),
        })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/hubs/telemetry/negotiate?negotiateVersion=1");
            if (authorization is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
            }

            if (cookie is not null)
            {
                request.Headers.Add("Cookie", cookie);
            }

            using var response = await http.SendAsync(request);
            Assert.Equal(want, response.StatusCode);
        }
    }

    private static int StatusFor(string policy, string identity, int allowed)
    {
        if (policy == Anonymous)
        {
            return allowed;
        }

        if (identity == Anonymous || policy == AccessPolicies.TelemetryWatcher)
        {
            return 401;
        }

        var rank = ConsoleRoles.All.ToList().IndexOf(identity);
        var needed = policy switch
        {
            AccessPolicies.Admin => 2,
            AccessPolicies.Developer => 1,
            AccessPolicies.Viewer or AccessPolicies.TelemetryReader => 0,
            _ => 0,
        };
        return rank >= needed ? allowed : 403;
    }

    /// <summary>The policy the endpoint's metadata names: anonymous, or the most demanding of its policies (pages add theirs to the circuit's).</summary>
    private static string? DeclaredPolicy(Endpoint endpoint)
    {
        if (endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null)
        {
            return Anonymous;
        }

        var policies = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).OfType<string>().Distinct().ToList();
        return policies.Count == 0 ? null : policies.FirstOrDefault(p => p != AccessPolicies.SignedIn) ?? AccessPolicies.SignedIn;
    }

    /// <summary>
    /// Files served by ASP.NET Core's static assets: the fingerprinted ones, and the fallback it adds (without our conventions) for files
    /// on disk when run from a build. Public by nature.
    /// </summary>
    private static bool IsStaticAsset(Endpoint endpoint) =>
        endpoint.Metadata.Any(m => m.GetType().Name == "StaticAssetDescriptor") || endpoint.DisplayName == "Fallback {**path:file}";

    private static string Url(string pattern) => pattern
        .Replace("{callId}", "bad%21id", StringComparison.Ordinal)
        .Replace("{resource}", "calls", StringComparison.Ordinal)
        .Replace("{name}", "no-such-preset", StringComparison.Ordinal)
        .Replace("{**rest}", "nothing-here", StringComparison.Ordinal)
        .Replace("{**path:file}", "no-such-file.txt", StringComparison.Ordinal);
}
