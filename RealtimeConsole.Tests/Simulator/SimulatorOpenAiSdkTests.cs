using System.ClientModel;
using System.ClientModel.Primitives;
using OpenAI;
using OpenAI.Realtime;

namespace RealtimeConsole.Tests.Simulator;

#pragma warning disable OPENAI002 // The realtime client is marked experimental in the 2.x SDK.

/// <summary>The official OpenAI .NET SDK (2.15) pointed at /simulator/v1 parses the simulator's answers like OpenAI's.</summary>
public sealed class SimulatorOpenAiSdkTests
{
    [Fact]
    public async Task Sdk_typed_client_secret_call_parses_the_simulators_answer()
    {
        await using var app = new SimulatorTestApp();
        var client = RealtimeClientFor(app, SimulatorTestApp.ApiKey);

        var result = await client.CreateRealtimeClientSecretAsync(new CreateClientSecretOptions());

        Assert.Equal(200, result.GetRawResponse().Status);
        Assert.Matches("^ek_[A-Za-z0-9]{32}$", result.Value.Value);
        Assert.Equal(app.Time.GetUtcNow().AddSeconds(600), result.Value.ExpiresAt);
        Assert.NotNull(result.Value.Session);
    }

    [Fact]
    public async Task Sdk_classifies_the_simulators_429_as_it_does_OpenAIs()
    {
        await using var app = new SimulatorTestApp(f => f.WithSetting("Simulator:RequestsPerMinute:ClientSecrets", "1"));
        var client = RealtimeClientFor(app, SimulatorTestApp.ApiKey);
        await client.CreateRealtimeClientSecretAsync(new CreateClientSecretOptions());

        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.CreateRealtimeClientSecretAsync(new CreateClientSecretOptions()));

        Assert.Equal(429, error.Status);
        Assert.Contains("rate_limit_exceeded", error.Message, StringComparison.Ordinal);
        Assert.Contains("Please try again in 1m0s.", error.Message, StringComparison.Ordinal);
        var raw = error.GetRawResponse()!;
        Assert.True(raw.Headers.TryGetValue("retry-after-ms", out var retryAfterMs));
        Assert.Equal("60000", retryAfterMs);
    }

    [Fact]
    public async Task Sdk_classifies_the_simulators_401_as_it_does_OpenAIs()
    {
        await using var app = new SimulatorTestApp();
        var client = RealtimeClientFor(app, "sk-wrong-key-for-the-simulator");

        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.CreateRealtimeClientSecretAsync(new CreateClientSecretOptions()));

        Assert.Equal(401, error.Status);
        Assert.Contains("invalid_api_key", error.Message, StringComparison.Ordinal);
    }

    private static RealtimeClient RealtimeClientFor(SimulatorTestApp app, string key)
    {
        var options = new OpenAIClientOptions
        {
            Endpoint = new Uri("http://localhost/simulator/v1"),
            Transport = new HttpClientPipelineTransport(new HttpClient(app.CreateHandler())),
            // The SDK would wait out Retry-After before giving up; the test wants its classification, not its patience.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        };
        return new OpenAIClient(new ApiKeyCredential(key), options).GetRealtimeClient();
    }
}
