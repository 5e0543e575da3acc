using RealtimeConsole.Telemetry;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Access;

/// <summary>The <c>watch</c> verb against a console that signs people in: the bearer API key gets it in, nothing else does.</summary>
public sealed class WatchWithApiKeyTests
{
    [Fact]
    public async Task With_the_api_key_the_watch_verb_prints_updates_and_without_it_it_is_refused()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var server = new LoopbackConsoleServer();
        server.WithSetting("Auth:Mode", "BrowserToken").WithSetting("Auth:ApiKey", "watch-key");
        var url = server.BaseAddress.ToString();

        using var output = new StringWriter();
        using var errors = new StringWriter();
        var exit = await WatchCommand.RunAsync(["--url", url, "--api-key", "watch-key", "--count", "1"], output, errors, timeout.Token);
        Assert.Equal(0, exit);
        Assert.Contains("Watching ", output.ToString());
        Assert.Contains("[Idle]", output.ToString());

        using var refusedOutput = new StringWriter();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        var refused = WatchCommand.RunAsync(["--url", url, "--count", "1"], new FirstLineStops(refusedOutput, stop), errors, stop.Token);
        Assert.Equal(0, await refused);
        Assert.StartsWith($"Cannot reach {server.BaseAddress}hubs/telemetry", refusedOutput.ToString());
        Assert.Contains("401", refusedOutput.ToString());
        Assert.DoesNotContain("Watching ", refusedOutput.ToString());
    }

    /// <summary>Stops the verb after its first line, so the refused run does not wait out its retry.</summary>
    private sealed class FirstLineStops(TextWriter inner, CancellationTokenSource stop) : TextWriter
    {
        public override System.Text.Encoding Encoding => inner.Encoding;

        public override Task WriteLineAsync(string? value)
        {
            inner.WriteLine(value);
            stop.Cancel();
            return Task.CompletedTask;
        }
    }
}
