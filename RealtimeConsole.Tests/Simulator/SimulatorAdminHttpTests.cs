using System.Text.Json.Nodes;
using RealtimeConsole.Simulator.Media;

namespace RealtimeConsole.Tests.Simulator;

public sealed class SimulatorAdminHttpTests
{
    [Fact]
    public async Task Put_limits_changes_the_limit_at_once_and_validates_the_body()
    {
        await using var app = new SimulatorTestApp();
        var put = await app.SendAsync(HttpMethod.Put, "/simulator/admin/limits/calls", SimulatorTestApp.Json("""{"requestsPerMinute":5}"""), key: null);
        var limits = await SimulatorTestApp.ReadJsonAsync(put);
        Assert.Equal(5, limits["limits"]!["calls"]!["requestsPerMinute"]!.GetValue<int>());
        Assert.Equal(60, limits["limits"]!["client_secrets"]!["requestsPerMinute"]!.GetValue<int>());

        var call = await app.PostSdpAsync("/simulator/v1/realtime/calls", SimulatorTestApp.Offer, SimulatorTestApp.ApiKey);
        Assert.Equal("5", SimulatorTestApp.Header(call, "x-ratelimit-limit-requests"));

        await SimulatorTestApp.ReadErrorAsync(await app.SendAsync(HttpMethod.Put, "/simulator/admin/limits/calls", SimulatorTestApp.Json("""{"requestsPerMinute":0}"""), null), 400, "invalid_value");
        await SimulatorTestApp.ReadErrorAsync(await app.SendAsync(HttpMethod.Put, "/simulator/admin/limits/calls", SimulatorTestApp.Json("""{"rpm":"x"}"""), null), 400, "invalid_type");
        await SimulatorTestApp.ReadErrorAsync(await app.SendAsync(HttpMethod.Put, "/simulator/admin/limits/calls", SimulatorTestApp.Json("{"), null), 400, null);
        await SimulatorTestApp.ReadErrorAsync(await app.SendAsync(HttpMethod.Put, "/simulator/admin/limits/images", SimulatorTestApp.Json("""{"requestsPerMinute":5}"""), null), 404, "unknown_resource");
    }

    [Fact]
    public async Task A_rate_limit_storm_answers_429_until_it_ends_on_the_simulated_clock()
    {
        await using var app = new SimulatorTestApp();
        var post = await app.SendAsync(HttpMethod.Post, "/simulator/admin/faults", SimulatorTestApp.Json("""{"kind":"rate_limit_storm","seconds":20}"""), null);
        Assert.Equal(201, (int)post.StatusCode);
        Assert.Equal("rate_limit_storm", (await SimulatorTestApp.ReadJsonAsync(post))["fault"]!["kind"]!.GetValue<string>());

        app.Time.Advance(TimeSpan.FromSeconds(5));
        var stormy = await app.MintAsync();
        var error = await SimulatorTestApp.ReadErrorAsync(stormy, 429, "rate_limit_exceeded");
        Assert.EndsWith("Please try again in 15s.", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("15000", SimulatorTestApp.Header(stormy, "retry-after-ms"));
        Assert.Equal("15", SimulatorTestApp.Header(stormy, "retry-after"));
        // The message says the window is used up ("Used 60"), and the headers agree until the storm ends.
        Assert.Contains("Limit 60, Used 60", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("0", SimulatorTestApp.Header(stormy, "x-ratelimit-remaining-requests"));
        Assert.Equal("15s", SimulatorTestApp.Header(stormy, "x-ratelimit-reset-requests"));

        app.Time.Advance(TimeSpan.FromSeconds(15));
        Assert.Equal(200, (int)(await app.MintAsync()).StatusCode);
    }

    [Fact]
    public async Task Insufficient_quota_and_server_error_faults_answer_like_OpenAI_and_delete_clears_them()
    {
        // No media peer, so the calls answer below is decided by the fault alone.
        await using var app = new SimulatorTestApp(peer: new UnavailableMediaPeer());
        await app.SendAsync(HttpMethod.Post, "/simulator/admin/faults", SimulatorTestApp.Json("""{"kind":"insufficient_quota","seconds":60,"resource":"client_secrets"}"""), null);

        var quota = await app.MintAsync();
        var error = await SimulatorTestApp.ReadErrorAsync(quota, 429, "insufficient_quota");
        Assert.Equal("insufficient_quota", error["type"]!.GetValue<string>());
        Assert.Null(SimulatorTestApp.Header(quota, "retry-after"));
        var calls = await app.PostSdpAsync("/simulator/v1/realtime/calls", SimulatorTestApp.Offer, SimulatorTestApp.ApiKey);
        Assert.Equal(503, (int)calls.StatusCode);

        await app.SendAsync(HttpMethod.Post, "/simulator/admin/faults", SimulatorTestApp.Json("""{"kind":"server_error","seconds":60}"""), null);
        var faults = await SimulatorTestApp.ReadJsonAsync(await app.Client.GetAsync("/simulator/admin/faults"));
        Assert.Equal(2, faults["faults"]!.AsArray().Count);
        var broken = await SimulatorTestApp.ReadErrorAsync(await app.MintAsync(), 500, null);
        Assert.Equal("server_error", broken["type"]!.GetValue<string>());

        var cleared = await SimulatorTestApp.ReadJsonAsync(await app.Client.DeleteAsync("/simulator/admin/faults"));
        Assert.Empty(cleared["faults"]!.AsArray());
        Assert.Equal(200, (int)(await app.MintAsync()).StatusCode);

        await SimulatorTestApp.ReadErrorAsync(await app.SendAsync(HttpMethod.Post, "/simulator/admin/faults", SimulatorTestApp.Json("""{"kind":"meteor","seconds":5}"""), null), 400, "invalid_value");
        await SimulatorTestApp.ReadErrorAsync(await app.SendAsync(HttpMethod.Post, "/simulator/admin/faults", SimulatorTestApp.Json("""{"kind":"latency","seconds":-1}"""), null), 400, "invalid_value");
    }

    [Fact]
    public async Task Reset_fills_the_buckets_and_zeroes_the_counters()
    {
        await using var app = new SimulatorTestApp();
        await app.MintAsync();
        await app.MintAsync("{");

        var before = await SimulatorTestApp.ReadJsonAsync(await app.Client.GetAsync("/simulator/admin/stats"));
        Assert.Equal("""{"total":2,"byStatus":{"200":1,"400":1}}""", SimulatorTestApp.Canonical(before["endpoints"]!["client_secrets"]!));
        Assert.Equal("""{"total":0,"byStatus":{}}""", SimulatorTestApp.Canonical(before["endpoints"]!["calls"]!));

        var reset = await app.Client.PostAsync("/simulator/admin/reset", null);
        Assert.Equal(200, (int)reset.StatusCode);
        var after = await SimulatorTestApp.ReadJsonAsync(await app.Client.GetAsync("/simulator/admin/stats"));
        Assert.Equal(0, after["endpoints"]!["client_secrets"]!["total"]!.GetValue<long>());
        Assert.Equal("59", SimulatorTestApp.Header(await app.MintAsync(), "x-ratelimit-remaining-requests"));
    }

    [Fact]
    public async Task Presets_are_listed_and_applied_from_the_api()
    {
        await using var app = new SimulatorTestApp();
        var list = await SimulatorTestApp.ReadJsonAsync(await app.Client.GetAsync("/simulator/admin/presets"));
        Assert.Equal(["defaults", "free", "tier-1", "429-storm", "exhausted-quota"], list["presets"]!.AsArray().Select(p => p!["name"]!.GetValue<string>()));

        var free = await SimulatorTestApp.ReadJsonAsync(await app.Client.PostAsync("/simulator/admin/presets/free", null));
        Assert.Equal(3, free["limits"]!["client_secrets"]!["requestsPerMinute"]!.GetValue<int>());
        Assert.Equal("3", SimulatorTestApp.Header(await app.MintAsync(), "x-ratelimit-limit-requests"));

        await app.Client.PostAsync("/simulator/admin/presets/exhausted-quota", null);
        await SimulatorTestApp.ReadErrorAsync(await app.MintAsync(), 429, "insufficient_quota");

        var defaults = await SimulatorTestApp.ReadJsonAsync(await app.Client.PostAsync("/simulator/admin/presets/defaults", null));
        Assert.Empty(defaults["faults"]!.AsArray());
        Assert.Equal(60, defaults["limits"]!["client_secrets"]!["requestsPerMinute"]!.GetValue<int>());

        await SimulatorTestApp.ReadErrorAsync(await app.Client.PostAsync("/simulator/admin/presets/gold", null), 404, "unknown_preset");
    }

    [Fact]
    public async Task Admin_errors_are_json_too()
    {
        await using var app = new SimulatorTestApp();
        var response = await app.Client.PostAsync("/simulator/admin/faults", SimulatorTestApp.Json("[1,2]"));
        var body = await SimulatorTestApp.ReadJsonAsync(response);
        Assert.Equal(400, (int)response.StatusCode);
        Assert.IsType<JsonObject>(body["error"]);
    }
}
