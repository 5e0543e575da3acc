using Microsoft.Extensions.FileProviders;

namespace RealtimeConsole.Hosting;

/// <summary>Serves <c>wwwroot-assets/</c> (copied beside the app by MSBuild) under <c>/assets/</c>.</summary>
public static class BrowserAssets
{
    public const string RequestPath = "/assets";

    public static string Directory => Path.Combine(AppContext.BaseDirectory, "wwwroot-assets");

    public static IApplicationBuilder UseBrowserAssets(this IApplicationBuilder app)
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            throw new InvalidOperationException($"The browser assets were not copied to '{Directory}'. Rebuild the RealtimeConsole project.");
        }

        return app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new PhysicalFileProvider(Directory),
            RequestPath = RequestPath,
            OnPrepareResponse = context => context.Context.Response.Headers.CacheControl = "no-cache",
        });
    }
}
