using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tests.Upstream;

public sealed class UpstreamEndpointTests
{
    [Theory]
    [InlineData("http://0.0.0.0:5080", "http://127.0.0.1:5080/simulator/v1/")]
    [InlineData("http://[::]:5081", "http://127.0.0.1:5081/simulator/v1/")]
    [InlineData("http://+:5082", "http://127.0.0.1:5082/simulator/v1/")]
    [InlineData("http://*:5083", "http://127.0.0.1:5083/simulator/v1/")]
    [InlineData("http://localhost:5084", "http://localhost:5084/simulator/v1/")]
    public void Without_a_key_upstream_is_the_embedded_simulator_at_our_own_address(string listening, string expected)
    {
        var endpoint = Create(new() { ["OPENAI_API_KEY"] = "" }, listening);

        Assert.True(endpoint.IsEmbeddedSimulator);
        Assert.Equal(expected, endpoint.BaseAddress.ToString());
        Assert.Equal(UpstreamEndpoint.DefaultSimulatorKey, endpoint.ApiKey);
        Assert.Equal("/simulator/v1/realtime/calls", endpoint.BrowserCallsUrl);
    }

    [Fact]
    public void The_simulator_key_comes_from_configuration()
    {
        Assert.Equal("sk-sim-custom", Create(new() { ["Simulator:ApiKey"] = "sk-sim-custom" }, "http://127.0.0.1:1").ApiKey);
    }

    [Fact]
    public void With_a_key_upstream_is_openai_and_the_browser_posts_its_sdp_there()
    {
        var endpoint = Create(new() { ["OPENAI_API_KEY"] = "sk-real" }, "http://127.0.0.1:1");

        Assert.False(endpoint.IsEmbeddedSimulator);
        Assert.Equal("sk-real", endpoint.ApiKey);
        Assert.Equal("https://api.openai.com/v1/realtime/client_secrets", endpoint.Resolve("realtime/client_secrets").ToString());
        Assert.Equal("https://api.openai.com/v1/realtime/calls", endpoint.BrowserCallsUrl);
    }

    [Fact]
    public void Realtime_BaseUrl_overrides_the_upstream()
    {
        var endpoint = Create(new() { ["OPENAI_API_KEY"] = "sk-real", ["Realtime:BaseUrl"] = "http://127.0.0.1:5090/simulator/v1/" }, "http://127.0.0.1:1");
        Assert.Equal("http://127.0.0.1:5090/simulator/v1/realtime/calls", endpoint.BrowserCallsUrl);
    }

    private static UpstreamEndpoint Create(Dictionary<string, string?> settings, string listening)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var options = new RealtimeOptions();
        configuration.GetSection(RealtimeOptions.Section).Bind(options);
        var services = new ServiceCollection().AddSingleton<IServer>(new ListeningServer(listening)).BuildServiceProvider();
        return new UpstreamEndpoint(configuration, Options.Create(options), services);
    }

    private sealed class ListeningServer : IServer
    {
        public ListeningServer(string address)
        {
            var addresses = new ServerAddressesFeature();
            addresses.Addresses.Add(address);
            Features.Set<IServerAddressesFeature>(addresses);
        }

        public IFeatureCollection Features { get; } = new FeatureCollection();

        public void Dispose()
        {
        }

        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken)
            where TContext : notnull => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
