using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.HostFiltering;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Surface;

/// <summary>
/// The console's HTTP surface, hardened in one place: JSON error bodies for every API error (never an HTML page or an
/// empty body), body limits and media types per endpoint, cross-site refusals, <c>AllowedHosts</c>, and security headers.
/// </summary>
public static partial class SurfaceFeature
{
    public const string AllowedHostsKey = "AllowedHosts";

    /// <summary>What the README's first command is reached by; a deployment lists its own names.</summary>
    public const string DefaultAllowedHosts = "localhost;127.0.0.1;[::1]";

    public const string StaticAssetRuntimeFallbackKey = "DisableStaticAssetNotFoundRuntimeFallback";

    public static WebApplicationBuilder AddHardenedSurface(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(sp => new SecurityHeaders(sp.GetService<UpstreamEndpoint>()));

        // Run from a build, MapStaticAssets adds a GET/HEAD catch-all for files added after start-up; routing counts it for
        // every path, so a POST to an unknown path answered 405 "Allowed: GET, HEAD" instead of 404. The manifest has every asset.
        builder.Configuration[StaticAssetRuntimeFallbackKey] ??= "true";

        // AllowedHosts is enforced by the host's own filter; loopback names unless configured (a missing appsettings.json
        // must not mean "any host"), and its refusal gets a JSON body from ErrorBodies.
        builder.Configuration[AllowedHostsKey] ??= DefaultAllowedHosts;
        builder.Services.Configure<HostFilteringOptions>(options => options.IncludeFailureMessage = false);

        // First in the collection, so outermost: it wraps the host filter too.
        builder.Services.Insert(0, ServiceDescriptor.Transient<IStartupFilter, OutermostSurface>());
        return builder;
    }

    /// <summary>First in the app's pipeline: errors of API requests become JSON, cross-site and oversized requests stop here.</summary>
    public static WebApplication UseHardenedSurface(this WebApplication app)
    {
        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler("/Error", createScopeForErrors: true);
        }

        // Inside the page handler, so it answers first: API requests and anything but a page read get JSON, and a failed
        // PUT is never re-executed as a page (which answered an empty 405).
        app.UseWhen(IsApiRequest, api => api.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = WriteExceptionAsync }));

        app.Use(async (context, next) =>
        {
            if (CrossSiteRequests.IsRefused(context))
            {
                LogCrossSiteRefused(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SurfaceFeature)),
                    context.Request.Method, context.Request.Path, context.Request.Headers.Origin.ToString());
                await ApiErrors.For(context, StatusCodes.Status403Forbidden, "cross_site_request",
                    $"{context.Request.Method} {context.Request.Path} came from another site (Origin {context.Request.Headers.Origin}); only pages served by this console may change its state.")
                    .ExecuteAsync(context);
                return;
            }

            if (RequestBodyGuard.Check(context) is { } refusal)
            {
                await refusal.ExecuteAsync(context);
                return;
            }

            await next(context);
        });
        return app;
    }

    /// <summary>API paths, and any request that is not a page being read.</summary>
    public static bool IsApiRequest(HttpContext context)
    {
        var request = context.Request;
        return request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase)
            || request.Path.StartsWithSegments(ApiErrors.SimulatorPrefix + "/v1", StringComparison.OrdinalIgnoreCase)
            || request.Path.StartsWithSegments(ApiErrors.SimulatorPrefix + "/admin", StringComparison.OrdinalIgnoreCase)
            || request.Path.StartsWithSegments("/hubs", StringComparison.OrdinalIgnoreCase)
            || !(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method));
    }

    private static Task WriteExceptionAsync(HttpContext context)
    {
        var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        if (error is BadHttpRequestException bad)
        {
            context.Response.StatusCode = bad.StatusCode;
            var code = bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? "payload_too_large" : "bad_request";
            return ApiErrors.For(context, bad.StatusCode, code, bad.Message).ExecuteAsync(context);
        }

        var (errorCode, message) = ApiErrors.Describe(context, StatusCodes.Status500InternalServerError);
        return ApiErrors.For(context, StatusCodes.Status500InternalServerError, errorCode, message).ExecuteAsync(context);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a cross-site {Method} {Path} from Origin {Origin}")]
    private static partial void LogCrossSiteRefused(ILogger logger, string method, string path, string origin);

    /// <summary>Wraps everything, the host filter included: security headers on every answer and JSON bodies for bare errors.</summary>
    private sealed class OutermostSurface : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            var headers = app.ApplicationServices.GetRequiredService<SecurityHeaders>();
            app.Use((context, nextMiddleware) =>
            {
                context.Response.OnStarting(static state =>
                {
                    var (headers, response) = ((SecurityHeaders, HttpResponse))state;
                    headers.Apply(response);
                    return Task.CompletedTask;
                }, (headers, context.Response));
                return nextMiddleware(context);
            });
            app.UseMiddleware<ErrorBodies>();
            next(app);
        };
    }
}
