using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using RealtimeConsole.Access;
using RealtimeConsole.Deployment;
using RealtimeConsole.RateLimits;
using RealtimeConsole.Surface;

namespace RealtimeConsole.Telemetry;

/// <summary>The SignalR telemetry hub at <c>/hubs/telemetry</c> for outside watchers, the dashboard's feed and its exports.</summary>
public static class TelemetryHubFeature
{
    public const string HubPath = "/hubs/telemetry";

    public static WebApplicationBuilder AddTelemetryHub(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<BrokerMetrics>();
        builder.Services.AddSingleton<BrokerTelemetry>();
        builder.AddConsoleOpenTelemetry();
        builder.Services.AddSignalR();
        if (builder.Services.HasSharedStore())
        {
            // Broadcasts reach the watchers of every instance, over the deployment's own connection and channel prefix. Only this
            // hub: Blazor's circuits stay on their sticky instance and must open while Redis is down.
            builder.Services.AddSingleton<HubLifetimeManager<TelemetryHub>, OutageTolerantHubLifetimeManager<TelemetryHub>>();
            builder.Services.AddOptions<RedisOptions>().Configure<RedisStore>((options, store) =>
                options.ConnectionFactory = _ => Task.FromResult(store.Connection));
            builder.Services.AddHostedService<DeploymentAnnouncements>();
        }

        builder.Services.AddSingleton<RequestHistory>();
        builder.Services.AddSingleton(sp => new SharedStoreWatch(sp.GetRequiredService<IBrokerStateStore>(), sp.GetRequiredService<TimeProvider>(), sp.GetService<RedisStore>()));
        builder.Services.AddSingleton<ITelemetryFeed, LocalTelemetryFeed>();
        builder.Services.AddSingleton<DeploymentTelemetry>();
        builder.Services.AddSingleton<IHeartbeatContribution>(sp => sp.GetRequiredService<DeploymentTelemetry>());
        builder.Services.AddSingleton<ITelemetryActions, LocalTelemetryActions>();
        builder.Services.AddOptions<RemoteInstancesOptions>().BindConfiguration(RemoteInstancesOptions.Section)
            .Validate(o => o.IsValid(), "Each of Telemetry:RemoteInstances needs a unique Name and an http(s) Url.")
            .ValidateOnStart();
        builder.Services.AddSingleton<IRemoteTelemetryFeedFactory, RemoteTelemetryFeedFactory>();
        return builder;
    }

    public static WebApplication MapTelemetryHub(this WebApplication app)
    {
        // Created now so the history counts from the first call, not from the first dashboard visit.
        app.Services.GetRequiredService<RequestHistory>();
        app.AnnounceTracing();
        TelemetryEndpoints.Map(app);
        app.MapPrometheusScrapingEndpoint().RequireAuthorization(AccessPolicies.TelemetryReader);
        // Machines (the watch verb, other instances) with the bearer API key; never a browser cookie.
        app.MapHub<TelemetryHub>(HubPath).RequireAuthorization(AccessPolicies.TelemetryWatcher);
        app.MapGet("/api/telemetry/export.json", (HttpContext context, ITelemetryFeed feed) =>
        {
            context.Response.Headers.ContentDisposition = "attachment; filename=realtime-telemetry.json";
            return Results.Json(feed.Current, TelemetryEndpoints.SnapshotJson);
        }).RequireAuthorization(AccessPolicies.TelemetryReader).TakesNoBody();
        app.MapGet("/api/telemetry/export.csv", (HttpContext context, ITelemetryFeed feed) =>
        {
            context.Response.Headers.ContentDisposition = "attachment; filename=realtime-upstream-calls.csv";
            return Results.Text(TelemetryCsv.Write(feed.Current), "text/csv", Encoding.UTF8);
        }).RequireAuthorization(AccessPolicies.TelemetryReader).TakesNoBody();
        return app;
    }
}

/// <summary>The CSV export: the recent upstream calls, newest first, then the counts per resource and status.</summary>
public static class TelemetryCsv
{
    public static string Write(DashboardState state)
    {
        var csv = new StringBuilder();
        csv.AppendLine("kind,at,resource,status,error_code,latency_ms,attempt,request_id,count");
        foreach (var call in state.Snapshot.RecentCalls)
        {
            csv.AppendLine(string.Join(',', "call", call.At.ToString("O", CultureInfo.InvariantCulture), call.Resource.ToString(), call.Status.ToString(CultureInfo.InvariantCulture),
                Escape(call.ErrorCode), call.LatencyMs.ToString("0.#", CultureInfo.InvariantCulture), call.Attempt.ToString(CultureInfo.InvariantCulture), Escape(call.RequestId), ""));
        }

        foreach (var resource in state.Snapshot.Resources)
        {
            foreach (var (status, count) in resource.CountsByStatus)
            {
                csv.AppendLine(string.Join(',', "total", state.Snapshot.CapturedAt.ToString("O", CultureInfo.InvariantCulture), Escape(resource.Resource), Escape(status), "", "", "", "", count.ToString(CultureInfo.InvariantCulture)));
            }
        }

        return csv.ToString();
    }

    /// <summary>
    /// A value from upstream, made inert: line breaks become spaces (one record per line), and a leading <c>=</c>, <c>+</c>,
    /// <c>-</c>, <c>@</c>, tab or CR gets a <c>'</c> so a spreadsheet shows it as text instead of running it as a formula.
    /// </summary>
    public static string Escape(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        var text = value.Replace("\r\n", " ", StringComparison.Ordinal).Replace('\r', ' ').Replace('\n', ' ');
        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            text = "'" + text;
        }

        return text.Contains(',') || text.Contains('"') ? $"\"{text.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : text;
    }
}
