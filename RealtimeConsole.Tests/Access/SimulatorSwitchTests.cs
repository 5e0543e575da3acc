using System.Net;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Access;

/// <summary>With a real OPENAI_API_KEY the embedded simulator is off unless Simulator:Enabled=true.</summary>
public sealed class SimulatorSwitchTests
{
    [Fact]
    public async Task With_a_real_key_the_simulator_is_not_mapped_and_not_offered()
    {
        using var app = new ConsoleAppFactory().WithSetting("OPENAI_API_KEY", "sk-test-real-looking-key");
        using var http = app.CreateClient();

        // Nothing answers there any more (Development's static-file fallback answers 405 to what is not a GET).
        HttpStatusCode[] unmapped = [HttpStatusCode.NotFound, HttpStatusCode.MethodNotAllowed];
        Assert.Contains((await http.GetAsync("/simulator/admin/stats")).StatusCode, unmapped);
        Assert.Contains((await http.PostAsync("/simulator/admin/reset", null)).StatusCode, unmapped);
        Assert.Contains((await http.PostAsync("/simulator/v1/realtime/client_secrets", null)).StatusCode, unmapped);
        var limits = await http.GetStringAsync("/limits");
        Assert.DoesNotContain("nav-simulator", limits);
        Assert.Contains("nav-limits", limits);
        Assert.Contains("data-testid=\"simulator-off\"", await http.GetStringAsync("/simulator"));
    }

    [Fact]
    public async Task Simulator_enabled_brings_it_back_beside_a_real_key()
    {
        using var app = new ConsoleAppFactory().WithSetting("OPENAI_API_KEY", "sk-test-real-looking-key").WithSetting("Simulator:Enabled", "true");
        using var http = app.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/simulator/admin/stats")).StatusCode);
        Assert.Contains("nav-simulator", await http.GetStringAsync("/limits"));
    }

    [Fact]
    public async Task Without_a_key_the_simulator_is_on_by_default()
    {
        using var app = new ConsoleAppFactory();
        using var http = app.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/simulator/admin/stats")).StatusCode);
    }
}
