using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Simulator;

/// <summary>
/// The official OpenAI Node SDK (pinned in <c>NodeSdk/package.json</c>, installed by <c>./test.sh</c> with <c>npm ci</c>)
/// pointed at the simulator over loopback: it must parse the answers and classify the errors as it does OpenAI's.
/// The forum post's server route is JavaScript, so this is the SDK its authors would use.
/// </summary>
public sealed class SimulatorNodeSdkTests(SimulatorNodeSdkTests.Instance instance) : IClassFixture<SimulatorNodeSdkTests.Instance>, IAsyncLifetime
{
    private static readonly string ProbeDirectory = Path.Combine(RepositoryRoot.Path, "RealtimeConsole.Tests", "NodeSdk");

    /// <summary>Each probe is one SDK call on loopback; node's start-up included, this is generous even on a busy machine.</summary>
    private static readonly TimeSpan ProbeLimit = TimeSpan.FromSeconds(60);

    public async Task InitializeAsync()
    {
        // Every test starts from full buckets and no faults, whatever the one before it did.
        using var client = instance.Server.CreateLoopbackClient();
        (await client.DeleteAsync("simulator/admin/faults")).EnsureSuccessStatusCode();
        (await client.PostAsync("simulator/admin/reset", null)).EnsureSuccessStatusCode();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Node_sdk_parses_a_client_secret_and_its_headers()
    {
        var answer = await ProbeAsync("create-secret");

        Assert.True(answer.GetProperty("ok").GetBoolean(), answer.ToString());
        var result = answer.GetProperty("result");
        Assert.Matches("^ek_[A-Za-z0-9]{32}$", result.GetProperty("value").GetString());
        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(result.GetProperty("expires_at").GetInt64());
        Assert.InRange(expiresAt - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(121));
        Assert.Equal("realtime", result.GetProperty("session_type").GetString());
        Assert.Equal("gpt-realtime", result.GetProperty("session_model").GetString());
        Assert.StartsWith("req_", result.GetProperty("request_id").GetString(), StringComparison.Ordinal);
        Assert.Equal("59", result.GetProperty("remaining_requests").GetString());
    }

    [Fact]
    public async Task Node_sdk_reads_a_validation_error_as_BadRequestError_naming_the_field()
    {
        var answer = await ProbeAsync("secret-too-short");

        AssertError(answer, "BadRequestError", 400, "integer_below_min_value", "invalid_request_error");
        Assert.Equal("expires_after.seconds", answer.GetProperty("param").GetString());
    }

    [Fact]
    public async Task Node_sdk_reads_a_wrong_key_as_AuthenticationError()
    {
        var answer = await ProbeAsync("any-secret", apiKey: "sk-wrong-key-for-the-simulator");

        AssertError(answer, "AuthenticationError", 401, "invalid_api_key", "invalid_request_error");
    }

    [Fact]
    public async Task Node_sdk_reads_a_rate_limit_as_RateLimitError_with_its_wait_and_request_id()
    {
        await StartFaultAsync("rate_limit_storm");

        var answer = await ProbeAsync("any-secret");

        AssertError(answer, "RateLimitError", 429, "rate_limit_exceeded", "requests");
        Assert.Contains("Rate limit reached for gpt-realtime", answer.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.InRange(int.Parse(answer.GetProperty("retry_after_ms").GetString()!, System.Globalization.CultureInfo.InvariantCulture), 1, 20_000);
        Assert.StartsWith("req_", answer.GetProperty("request_id").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Node_sdk_reads_insufficient_quota_by_its_code_not_as_a_plain_rate_limit()
    {
        await StartFaultAsync("insufficient_quota");

        var answer = await ProbeAsync("any-secret");

        // OpenAI answers 429 for both; only the code tells an empty account from a busy minute, and the SDK exposes it.
        AssertError(answer, "RateLimitError", 429, "insufficient_quota", "insufficient_quota");
        Assert.Contains("You exceeded your current quota", answer.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Node_sdk_reads_hanging_up_an_unknown_call_as_NotFoundError()
    {
        var answer = await ProbeAsync("hang-up-unknown-call");

        AssertError(answer, "NotFoundError", 404, "call_not_found", "invalid_request_error");
        Assert.Equal("call_id", answer.GetProperty("param").GetString());
    }

    private static void AssertError(JsonElement answer, string errorClass, int status, string code, string type)
    {
        Assert.False(answer.GetProperty("ok").GetBoolean(), answer.ToString());
        Assert.Equal(errorClass, answer.GetProperty("error_class").GetString());
        Assert.Equal(status, answer.GetProperty("status").GetInt32());
        Assert.Equal(code, answer.GetProperty("code").GetString());
        Assert.Equal(type, answer.GetProperty("type").GetString());
    }

    private async Task StartFaultAsync(string kind)
    {
        using var client = instance.Server.CreateLoopbackClient();
        (await client.PostAsJsonAsync("simulator/admin/faults", new { kind, seconds = 20 })).EnsureSuccessStatusCode();
    }

    private async Task<JsonElement> ProbeAsync(string probe, string apiKey = "sk-sim-local")
    {
        Assert.True(File.Exists(Path.Combine(ProbeDirectory, "node_modules", "openai", "package.json")),
            $"The OpenAI Node SDK is not installed in {ProbeDirectory}: run ./test.sh (it runs npm ci there).");

        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = ProbeDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "sdk-probe.mjs", new Uri(instance.Server.BaseAddress, "simulator/v1").ToString().TrimEnd('/'), apiKey, probe })
        {
            start.ArgumentList.Add(argument);
        }

        using var node = Process.Start(start) ?? throw new InvalidOperationException("node did not start.");
        using var limit = new CancellationTokenSource(ProbeLimit);
        var output = node.StandardOutput.ReadToEndAsync(limit.Token);
        var errors = node.StandardError.ReadToEndAsync(limit.Token);
        try
        {
            await node.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            node.Kill(entireProcessTree: true);
            throw new TimeoutException($"The Node SDK probe '{probe}' did not finish within {ProbeLimit.TotalSeconds} s.");
        }

        Assert.True(node.ExitCode == 0, $"node sdk-probe.mjs {probe} exited {node.ExitCode}: {await errors}");
        return JsonDocument.Parse(await output).RootElement.Clone();
    }

    /// <summary>One console (embedded simulator) on 127.0.0.1 for the class; faults are cleared before each test.</summary>
    public sealed class Instance : IDisposable
    {
        public LoopbackConsoleServer Server { get; } = new();

        public void Dispose() => Server.Dispose();
    }
}
