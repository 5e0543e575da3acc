using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;

namespace RealtimeConsole.Tests.Surface;

/// <summary>Every API error is JSON with a message, in Production as deployed: never an HTML page or an empty body.</summary>
public sealed class ApiErrorBodiesTests : IDisposable
{
    private readonly ProductionConsole _app = (ProductionConsole)new ProductionConsole().WithSetting("Simulator:LegacyBetaShapes", "true");

    public void Dispose() => _app.Dispose();

    [Theory]
    [InlineData("DELETE", "/api/realtime/client-secret", 405, false)]
    [InlineData("PUT", "/api/telemetry", 405, false)]
    [InlineData("GET", "/api/no-such-thing", 404, false)]
    [InlineData("POST", "/api/no-such-thing", 404, false)]
    [InlineData("GET", "/simulator/v1/no-such-thing", 404, true)]
    [InlineData("PATCH", "/simulator/admin/reset", 404, true)]
    public async Task Wrong_methods_and_unknown_paths_answer_json(string method, string path, int status, bool simulatorShape)
    {
        using var response = await _app.CreateClient().SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        var error = await ErrorAnswer.AssertJsonErrorAsync(response, status, simulatorShape);
        Assert.Contains(path[path.LastIndexOf('/')..], error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/realtime/client-secret")]
    [InlineData("/api/telemetry/rate-limits")]
    public async Task A_declared_100_MB_body_is_413_json_not_500_html(string path)
    {
        var content = new ByteArrayContent("{}"u8.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.ContentLength = 100_000_000;

        using var response = await _app.CreateClient().PostAsync(path, content);

        var error = await ErrorAnswer.AssertJsonErrorAsync(response, 413, simulatorShape: false);
        Assert.Equal("payload_too_large", error.GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("PUT", "/simulator/admin/limits/calls", """{"requestsPerMinute":5,"requestsPerMinute":6}""")]
    [InlineData("POST", "/simulator/admin/faults", """{"kind":"latency","seconds":5,"kind":"insufficient_quota"}""")]
    public async Task Duplicate_keys_in_the_admin_api_are_400_json_and_change_nothing(string method, string path, string json)
    {
        var client = _app.CreateClient();
        var before = await client.GetStringAsync("/simulator/admin/limits") + await client.GetStringAsync("/simulator/admin/faults");

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent(json, Encoding.UTF8, "application/json") });

        var error = await ErrorAnswer.AssertJsonErrorAsync(response, 400, simulatorShape: true);
        Assert.Contains("Duplicate", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, await client.GetStringAsync("/simulator/admin/limits") + await client.GetStringAsync("/simulator/admin/faults"));
    }

    [Fact]
    public async Task The_legacy_sessions_endpoint_answers_400_for_duplicate_keys_instead_of_500_with_exception_text()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/simulator/v1/realtime/sessions")
        {
            Content = new StringContent("""{"model":"a","model":"b"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-sim-local");

        using var response = await _app.CreateClient().SendAsync(request);

        var error = await ErrorAnswer.AssertJsonErrorAsync(response, 400, simulatorShape: true);
        Assert.DoesNotContain("same key", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    public async Task An_unexpected_failure_on_an_api_path_is_500_json_without_exception_text_in_any_method(string method)
    {
        using var app = new ProductionConsole().WithThrowingPaths();

        using var response = await app.CreateClient().SendAsync(new HttpRequestMessage(new HttpMethod(method), ProductionConsole.ThrowingApiPath));

        var error = await ErrorAnswer.AssertJsonErrorAsync(response, 500, simulatorShape: false);
        Assert.Equal("server_error", error.GetProperty("code").GetString());
        Assert.DoesNotContain(ProductionConsole.SecretInException, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_put_that_fails_on_a_page_path_answers_json_instead_of_an_empty_405_from_the_error_page()
    {
        using var app = new ProductionConsole().WithThrowingPaths();

        using var response = await app.CreateClient().PutAsync(ProductionConsole.ThrowingPagePath, null);

        await ErrorAnswer.AssertJsonErrorAsync(response, 500, simulatorShape: false);
    }

    [Fact]
    public async Task A_page_that_fails_shows_the_error_page_with_no_stack_trace_or_configuration()
    {
        using var app = new ProductionConsole().WithThrowingPaths();

        using var response = await app.CreateClient().GetAsync(ProductionConsole.ThrowingPagePath);
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Something went wrong", html, StringComparison.Ordinal);
        foreach (var leak in new[] { "   at ", "InvalidOperationException", ProductionConsole.SecretInException, "ASPNETCORE_ENVIRONMENT", "Development" })
        {
            Assert.DoesNotContain(leak, html, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_failing_simulator_handler_answers_openai_shaped_500_without_the_exception_text()
    {
        using var app = new ProductionConsole().WithServices(s =>
            s.AddSingleton<RealtimeConsole.Simulator.Media.ISimulatorMediaPeer>(new ThrowingMediaPeer()));
        var request = new HttpRequestMessage(HttpMethod.Post, "/simulator/v1/realtime/calls")
        {
            Content = new StringContent(BadInputMatrixTests.ValidOffer, Encoding.UTF8, "application/sdp"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-sim-local");

        using var response = await app.CreateClient().SendAsync(request);

        var error = await ErrorAnswer.AssertJsonErrorAsync(response, 500, simulatorShape: true);
        Assert.DoesNotContain(ProductionConsole.SecretInException, error.ToString(), StringComparison.Ordinal);
        Assert.Equal("server_error", error.GetProperty("type").GetString());
    }

    private sealed class ThrowingMediaPeer : RealtimeConsole.Simulator.Media.ISimulatorMediaPeer
    {
        public bool IsAvailable => true;

        public Task<RealtimeConsole.Simulator.Media.AcceptedCall> AcceptAsync(string offerSdp, System.Text.Json.Nodes.JsonObject session, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("Boom with " + ProductionConsole.SecretInException);

        public Task<bool> HangUpAsync(string callId, CancellationToken cancellationToken) => Task.FromResult(false);

        public bool IsLive(string callId) => false;
    }
}
