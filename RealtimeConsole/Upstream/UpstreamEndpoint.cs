using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace RealtimeConsole.Upstream;

/// <summary>
/// Where upstream is and which key it takes. With <c>OPENAI_API_KEY</c> set: OpenAI (or <c>Realtime:BaseUrl</c>).
/// Without it: the embedded simulator in this same app, at its own listening address + <c>/simulator/v1</c>.
/// </summary>
public sealed class UpstreamEndpoint(IConfiguration configuration, IOptions<RealtimeOptions> options, IServiceProvider services)
{
    public const string OpenAiBaseUrl = "https://api.openai.com/v1";
    public const string SimulatorPath = "/simulator/v1";
    public const string DefaultSimulatorKey = "sk-sim-local";

    private Uri? _baseAddress;
    private string? _browserCallsUrl;

    public bool IsEmbeddedSimulator => string.IsNullOrWhiteSpace(configuration["OPENAI_API_KEY"]) && string.IsNullOrWhiteSpace(options.Value.BaseUrl);

    /// <summary>The server-side key; never leaves this process except in the Authorization header upstream.</summary>
    public string ApiKey => configuration["OPENAI_API_KEY"] is { Length: > 0 } key
        ? key
        : configuration["Simulator:ApiKey"] is { Length: > 0 } simulatorKey ? simulatorKey : DefaultSimulatorKey;

    /// <summary>Upstream base, ending in a slash so relative paths like <c>realtime/calls</c> resolve under it.</summary>
    public Uri BaseAddress => _baseAddress ??= ResolveBaseAddress();

    /// <summary>Where a browser holding a client secret posts its SDP offer.</summary>
    public string BrowserCallsUrl => _browserCallsUrl ??= IsEmbeddedSimulator ? SimulatorPath + "/realtime/calls" : new Uri(BaseAddress, "realtime/calls").ToString();

    public Uri Resolve(string relativePath) => new(BaseAddress, relativePath);

    private Uri ResolveBaseAddress()
    {
        if (options.Value.BaseUrl is { Length: > 0 } configured)
        {
            return new Uri(configured.TrimEnd('/') + "/");
        }

        if (!string.IsNullOrWhiteSpace(configuration["OPENAI_API_KEY"]))
        {
            return new Uri(OpenAiBaseUrl + "/");
        }

        return new Uri(SelfAddress() + SimulatorPath + "/");
    }

    // Resolved lazily: the listening addresses are only known once the server has started.
    private string SelfAddress()
    {
        var addresses = services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var address = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) ?? addresses.FirstOrDefault();
        if (address is null)
        {
            return "http://localhost";
        }

        var uri = new UriBuilder(address.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal));
        if (uri.Host is "0.0.0.0" or "[::]" or "::")
        {
            uri.Host = "127.0.0.1";
        }

        return uri.Uri.GetLeftPart(UriPartial.Authority);
    }
}
