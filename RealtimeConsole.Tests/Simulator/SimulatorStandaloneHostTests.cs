using System.Net.Http.Headers;
using System.Text;
using RealtimeConsole.Simulator;

namespace RealtimeConsole.Tests.Simulator;

public sealed class SimulatorStandaloneHostTests
{
    [Fact]
    public async Task The_simulator_verbs_host_serves_healthz_and_the_same_simulator_paths_alone()
    {
        await using var app = SimulatorHost.Build(["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning"]);
        await app.StartAsync(CancellationToken.None);
        try
        {
            var address = SimulatorHost.ListeningAddress(app);
            Assert.Equal("127.0.0.1", address.Host);
            using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };

            Assert.Equal("Healthy", await client.GetStringAsync("healthz"));

            using var request = new HttpRequestMessage(HttpMethod.Post, "simulator/v1/realtime/client_secrets")
            {
                Content = new StringContent("""{"session":{"type":"realtime"}}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", SimulatorTestApp.ApiKey);
            var mint = await client.SendAsync(request);
            Assert.Equal(200, (int)mint.StatusCode);
            Assert.StartsWith("ek_", (await SimulatorTestApp.ReadJsonAsync(mint))["value"]!.GetValue<string>(), StringComparison.Ordinal);

            var stats = await SimulatorTestApp.ReadJsonAsync(await client.GetAsync("simulator/admin/stats"));
            Assert.Equal(1, stats["endpoints"]!["client_secrets"]!["total"]!.GetValue<long>());

            // The console's pages are not part of the standalone simulator.
            Assert.Equal(404, (int)(await client.GetAsync("simulator")).StatusCode);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }
}
