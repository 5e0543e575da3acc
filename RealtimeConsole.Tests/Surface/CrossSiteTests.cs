using System.Net;
using System.Text;
using Microsoft.AspNetCore.TestHost;

namespace RealtimeConsole.Tests.Surface;

/// <summary>A page elsewhere cannot drive the console through a browser that can reach it; a foreign Host is not answered.</summary>
public sealed class CrossSiteTests : IDisposable
{
    private const string InsufficientQuota = """{"kind":"insufficient_quota","seconds":60}""";

    private readonly ProductionConsole _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task A_fault_posted_as_text_plain_is_415_and_not_switched_on()
    {
        var client = _app.CreateClient();

        using var response = await client.PostAsync("/simulator/admin/faults", new StringContent(InsufficientQuota, Encoding.UTF8, "text/plain"));

        await ErrorAnswer.AssertJsonErrorAsync(response, 415, simulatorShape: true);
        Assert.Equal("""{"faults":[]}""", await client.GetStringAsync("/simulator/admin/faults"));
    }

    [Theory]
    [InlineData("http://evil.example")]
    [InlineData("http://localhost.evil.example")]
    [InlineData("http://localhost:8080")]
    [InlineData("null")]
    public async Task A_state_change_from_another_origin_is_403_and_changes_nothing(string origin)
    {
        var client = _app.CreateClient();
        var request = new HttpRequestMessage(HttpMethod.Post, "/simulator/admin/faults") { Content = new StringContent(InsufficientQuota, Encoding.UTF8, "application/json") };
        request.Headers.Add("Origin", origin);

        using var response = await client.SendAsync(request);

        var error = await ErrorAnswer.AssertJsonErrorAsync(response, 403, simulatorShape: true);
        Assert.Equal("cross_site_request", error.GetProperty("code").GetString());
        Assert.Equal("""{"faults":[]}""", await client.GetStringAsync("/simulator/admin/faults"));
    }

    [Fact]
    public async Task The_console_api_refuses_other_origins_in_its_own_shape()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/realtime/client-secret");
        request.Headers.Add("Origin", "https://evil.example");

        using var response = await _app.CreateClient().SendAsync(request);

        await ErrorAnswer.AssertJsonErrorAsync(response, 403, simulatorShape: false);
    }

    [Fact]
    public async Task Its_own_pages_and_clients_without_an_origin_may_change_state()
    {
        var client = _app.CreateClient();
        var sameSite = new HttpRequestMessage(HttpMethod.Post, "/simulator/admin/faults") { Content = new StringContent(InsufficientQuota, Encoding.UTF8, "application/json") };
        sameSite.Headers.Add("Origin", "http://localhost");

        using var fromPage = await client.SendAsync(sameSite);
        using var fromScript = await client.DeleteAsync("/simulator/admin/faults");

        Assert.Equal(HttpStatusCode.Created, fromPage.StatusCode);
        Assert.Equal(HttpStatusCode.OK, fromScript.StatusCode);
    }

    [Fact]
    public async Task Reading_is_allowed_from_any_origin_but_a_websocket_from_another_origin_is_refused()
    {
        var read = new HttpRequestMessage(HttpMethod.Get, "/api/telemetry");
        read.Headers.Add("Origin", "http://evil.example");
        using var readResponse = await _app.CreateClient().SendAsync(read);
        Assert.Equal(HttpStatusCode.OK, readResponse.StatusCode);

        var sockets = _app.Server.CreateWebSocketClient();
        sockets.ConfigureRequest = request => request.Headers.Origin = "http://evil.example";
        var refused = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => sockets.ConnectAsync(new Uri(_app.Server.BaseAddress, "hubs/telemetry"), CancellationToken.None));
        Assert.Contains("403", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("evil.example", HttpStatusCode.BadRequest)]
    [InlineData("rebound.example:5080", HttpStatusCode.BadRequest)]
    [InlineData("localhost:5080", HttpStatusCode.OK)]
    [InlineData("127.0.0.1:5080", HttpStatusCode.OK)]
    [InlineData("[::1]:5080", HttpStatusCode.OK)]
    public async Task Only_the_configured_host_names_are_answered(string host, HttpStatusCode expected)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/telemetry");
        request.Headers.Host = host;

        using var response = await _app.CreateClient().SendAsync(request);

        if (expected == HttpStatusCode.OK)
        {
            Assert.Equal(expected, response.StatusCode);
        }
        else
        {
            await ErrorAnswer.AssertJsonErrorAsync(response, (int)expected, simulatorShape: false);
        }
    }

    [Fact]
    public async Task AllowedHosts_from_configuration_admits_the_name_a_deployment_uses()
    {
        using var app = new ProductionConsole().WithSetting("AllowedHosts", "console.example.com");
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/telemetry");
        request.Headers.Host = "console.example.com";
        var other = new HttpRequestMessage(HttpMethod.Get, "/api/telemetry");
        other.Headers.Host = "localhost";

        using var admitted = await app.CreateClient().SendAsync(request);
        using var refused = await app.CreateClient().SendAsync(other);

        Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }
}
