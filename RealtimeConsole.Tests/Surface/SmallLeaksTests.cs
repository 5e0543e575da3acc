using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Simulator.Media;
using RealtimeConsole.Telemetry;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.Tests.Upstream;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tests.Surface;

/// <summary>Small leaks and lies: key fragments, the door's Retry-After, CSV formulas, a CR copied into an SDP answer, the key in logs.</summary>
public sealed class SmallLeaksTests
{
    private const string RealKey = "sk-proj-Q7rT2vX9bN4mK8pL3sD6fG1hJ5kWXYZ";

    [Fact]
    public async Task The_simulator_shows_nothing_of_a_rejected_key()
    {
        using var app = new ProductionConsole();
        var request = new HttpRequestMessage(HttpMethod.Post, "/simulator/v1/realtime/client_secrets");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", RealKey);

        using var response = await app.CreateClient().SendAsync(request);

        var error = await ErrorAnswer.AssertJsonErrorAsync(response, 401, simulatorShape: true);
        var message = error.GetProperty("message").GetString()!;
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        Assert.DoesNotContain("sk-pr", message, StringComparison.Ordinal);
        Assert.DoesNotContain("WXYZ", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAIs_masked_form_of_the_server_key_is_not_passed_on_to_anonymous_callers()
    {
        var upstream = new FakeUpstreamHandler(TimeProvider.System, (_, _) => FakeUpstreamHandler.Json(HttpStatusCode.Unauthorized,
            """{"error":{"message":"Incorrect API key provided: sk-proj-********************************WXYZ. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","code":"invalid_api_key"}}""",
            "req_masked"));
        using var app = RealKeyConsole(upstream);
        var client = app.CreateClient();

        var answer = await (await client.PostAsync("/api/realtime/client-secret", null)).Content.ReadAsStringAsync();
        var seen = answer + await client.GetStringAsync("/api/telemetry") + await client.GetStringAsync("/api/telemetry/export.json")
            + await client.GetStringAsync("/api/telemetry/export.csv") + await client.GetStringAsync("/limits");

        Assert.Contains("invalid_api_key", answer, StringComparison.Ordinal);
        Assert.Contains(ApiKeyRedaction.Placeholder, answer, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-pr", seen, StringComparison.Ordinal);
        Assert.DoesNotContain("WXYZ", seen, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_doors_retry_after_is_the_real_wait_until_its_window_reopens()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));
        using var app = new ConsoleAppFactory()
            .WithSetting("Realtime:DoorPermitsPerMinute", "2")
            .WithServices(s => s.AddSingleton<TimeProvider>(time));
        var client = app.CreateClient();
        async Task<HttpResponseMessage> KnockAsync() => await client.PostAsync("/api/telemetry/rate-limits", new StringContent("{}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, (await KnockAsync()).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await KnockAsync()).StatusCode);
        time.Advance(TimeSpan.FromSeconds(26));
        using var refused = await KnockAsync();
        time.Advance(TimeSpan.FromSeconds(33));
        using var refusedLater = await KnockAsync();
        time.Advance(TimeSpan.FromSeconds(1));
        using var admitted = await KnockAsync();

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(34), refused.Headers.RetryAfter?.Delta);
        var error = await ErrorAnswer.AssertJsonErrorAsync(refused, 429, simulatorShape: false);
        Assert.Equal(34, error.GetProperty("retry_after_seconds").GetInt32());
        Assert.Equal(TimeSpan.FromSeconds(1), refusedLater.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.BadRequest, admitted.StatusCode);
    }

    [Theory]
    [InlineData("=HYPERLINK(\"http://evil.example\")", "\"'=HYPERLINK(\"\"http://evil.example\"\")\"")]
    [InlineData("+1+1", "'+1+1")]
    [InlineData("-2+3", "'-2+3")]
    [InlineData("@SUM(A1)", "'@SUM(A1)")]
    [InlineData("\tx", "'\tx")]
    [InlineData("req_1\r\ncall,forged", "\"req_1 call,forged\"")]
    [InlineData("a\nb", "a b")]
    [InlineData("req_plain", "req_plain")]
    [InlineData(null, "")]
    public void Csv_cells_from_upstream_are_inert(string? value, string expected)
    {
        var cell = TelemetryCsv.Escape(value);

        Assert.Equal(expected, cell);
        Assert.DoesNotContain('\n', cell);
        Assert.DoesNotContain('\r', cell);
    }

    [Fact]
    public async Task The_csv_export_gives_one_row_per_call_and_no_formula_for_hostile_upstream_values()
    {
        var upstream = new FakeUpstreamHandler(TimeProvider.System, (_, _) =>
        {
            var response = FakeUpstreamHandler.Json(HttpStatusCode.BadRequest, """{"error":{"message":"no","type":"invalid_request_error","code":"=1+2\nforged,row"}}""");
            response.Headers.TryAddWithoutValidation("x-request-id", "@cmd|' /C calc'!A0");
            return response;
        });
        using var app = RealKeyConsole(upstream);
        var client = app.CreateClient();
        await client.PostAsync("/api/realtime/client-secret", null);

        var csv = await client.GetStringAsync("/api/telemetry/export.csv");

        var rows = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).SelectMany(r => r.Split('\n', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.All(rows.Skip(1), row => Assert.Matches("^(call|total),", row));
        var call = Assert.Single(rows, r => r.StartsWith("call,", StringComparison.Ordinal));
        Assert.Contains("'=1+2 forged", call, StringComparison.Ordinal);
        Assert.Contains(",'@cmd|' /C calc'!A0,", call, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bare_cr_in_the_offers_mid_is_not_copied_into_the_answer()
    {
        var offer = BadInputMatrixTests.ValidOffer.Replace("a=mid:0\r\n", "a=mid:0\rinjected=1\r\n", StringComparison.Ordinal);

        var answer = SdpAnswer.Build(SdpOffer.Parse(offer), "uf12", "pwd-pwd-pwd-pwd-pwd-pwd!", "01:02", 40000, 1234);

        Assert.DoesNotContain("injected", answer, StringComparison.Ordinal);
        Assert.Equal(answer.Count(c => c == '\r'), answer.Split("\r\n").Length - 1);
        Assert.Contains("a=mid:0\r\n", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_api_key_is_in_no_log_line_page_export_or_metric()
    {
        var logs = new FakeLogCollector();
        var upstream = new FakeUpstreamHandler(TimeProvider.System, (request, n) => n % 2 == 0
            ? FakeUpstreamHandler.Json(HttpStatusCode.Unauthorized,
                $$$"""{"error":{"message":"Incorrect API key provided: {{{request.Headers.Authorization!.Parameter}}}","type":"invalid_request_error","code":"invalid_api_key"}}""", "req_leak")
            : FakeUpstreamHandler.Secret(TimeProvider.System));
        using var app = (ConsoleAppFactory)RealKeyConsole(upstream).WithServices(s => s.AddLogging(l => l.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(logs))));
        var client = app.CreateClient();
        var seen = new StringBuilder();

        for (var i = 0; i < 4; i++)
        {
            seen.Append(await (await client.PostAsync("/api/realtime/client-secret", null)).Content.ReadAsStringAsync());
        }

        seen.Append(await (await client.PostAsync("/api/realtime/calls", new StringContent(BadInputMatrixTests.ValidOffer, Encoding.UTF8, "application/sdp"))).Content.ReadAsStringAsync());
        foreach (var path in new[] { "/", "/limits", "/simulator", "/api/telemetry", "/api/telemetry/export.json", "/api/telemetry/export.csv", "/metrics", "/healthz", "/api/no-such-thing" })
        {
            using var response = await client.GetAsync(path);
            seen.Append(response.Headers).Append(await response.Content.ReadAsStringAsync());
        }

        var logged = string.Join('\n', logs.GetSnapshot().Select(r => $"{r.Category} {r.Message} {r.Exception} {string.Join(' ', r.StructuredState?.Select(p => p.Value) ?? [])}"));
        Assert.Contains("invalid_api_key", seen.ToString(), StringComparison.Ordinal);
        Assert.True(logs.Count > 3, $"Only {logs.Count} log records were captured.");
        Assert.True(upstream.Requests.Count >= 4, $"Only {upstream.Requests.Count.ToString(CultureInfo.InvariantCulture)} upstream requests.");
        foreach (var fragment in new[] { RealKey, RealKey[8..], RealKey[..12] })
        {
            Assert.DoesNotContain(fragment, seen.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(fragment, logged, StringComparison.Ordinal);
        }
    }

    private static ConsoleAppFactory RealKeyConsole(FakeUpstreamHandler upstream) => new ConsoleAppFactory()
        .WithSetting("OPENAI_API_KEY", RealKey)
        .WithSetting("Realtime:BaseUrl", "http://upstream.test/v1")
        .WithSetting("Realtime:DoorPermitsPerMinute", "1000")
        .WithServices(s => s.AddHttpClient(UpstreamGate.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => upstream));
}
