namespace RealtimeConsole.Hosting;

/// <summary>Per-request hosting diagnostics, which cost more than the simulator's and the broker's own work per request.</summary>
public static class RequestDiagnostics
{
    public const string Category = "Microsoft.AspNetCore.Hosting.Diagnostics";

    /// <summary>
    /// Turns the hosting category's logger off unless configuration names it: while any level of it is on, ASP.NET Core
    /// starts an <see cref="System.Diagnostics.Activity"/> for every request. It only logs request start/finish
    /// (Information and Debug); unhandled exceptions are logged by Kestrel and the exception handler, not here.
    /// Set <c>Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics</c> to see each request again.
    /// </summary>
    public static WebApplicationBuilder QuietRequestDiagnostics(this WebApplicationBuilder builder)
    {
        if (builder.Configuration["Logging:LogLevel:" + Category] is null)
        {
            builder.Logging.AddFilter(Category, LogLevel.None);
        }

        return builder;
    }
}
