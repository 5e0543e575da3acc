using RealtimeConsole.Upstream;

namespace RealtimeConsole.Hosting;

/// <summary>One line at start naming the upstream this instance talks to, as the app bar's badge does.</summary>
public static partial class UpstreamAnnouncement
{
    public static string Describe(UpstreamEndpoint upstream) => upstream.IsEmbeddedSimulator
        ? "the embedded simulator (no OPENAI_API_KEY is set)"
        : $"OpenAI at {upstream.BaseAddress}";

    public static WebApplication AnnounceUpstream(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("RealtimeConsole.Upstream");
        var upstream = app.Services.GetRequiredService<UpstreamEndpoint>();
        app.Lifetime.ApplicationStarted.Register(() => Started(logger, upstream.IsEmbeddedSimulator ? "Simulator" : "OpenAI", Describe(upstream)));
        return app;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Upstream: {Badge} — this instance talks to {Upstream}")]
    private static partial void Started(ILogger logger, string badge, string upstream);
}
