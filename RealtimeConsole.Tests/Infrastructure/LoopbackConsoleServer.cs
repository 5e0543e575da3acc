using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace RealtimeConsole.Tests.Infrastructure;

/// <summary>The whole console on a real Kestrel socket at 127.0.0.1 (an ephemeral port), for browsers and SignalR clients.</summary>
public sealed class LoopbackConsoleServer : ConsoleAppFactory
{
    private Uri? _baseAddress;

    /// <param name="port">0 for an ephemeral port; a fixed one to bring an instance back where a stopped one was (reconnect tests).</param>
    public LoopbackConsoleServer(int port = 0)
    {
        UseKestrel(port);
        WithSetting("urls", $"http://127.0.0.1:{port}");
    }

    public Uri BaseAddress => _baseAddress ??= Start();

    private Uri Start()
    {
        StartServer();
        var addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!;
        var address = addresses.Addresses.Single(a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));
        return new Uri(address + "/");
    }

    public HttpClient CreateLoopbackClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
}
