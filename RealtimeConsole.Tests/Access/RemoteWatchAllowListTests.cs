using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RealtimeConsole.Telemetry;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Access;

/// <summary>"Watch remote instance" connects only to Telemetry:RemoteInstances, with the configured key, and follows no redirect.</summary>
public sealed class RemoteWatchAllowListTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static RemoteTelemetryFeedFactory Factory(params RemoteInstanceSettings[] instances) =>
        new(Options.Create(new RemoteInstancesOptions { RemoteInstances = [.. instances] }), TimeProvider.System, NullLogger<RemoteTelemetryFeed>.Instance);

    [Fact]
    public void An_address_outside_the_list_is_refused_and_nothing_is_connected()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var typed = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
        var factory = Factory(new RemoteInstanceSettings { Name = "lab", Url = "http://127.0.0.1:9", ApiKey = "k" });

        Assert.Null(factory.Create(typed));
        Assert.Null(factory.Create("elsewhere"));
        Assert.False(listener.Pending());
    }

    [Fact]
    public void Invalid_entries_fail_validation_at_start()
    {
        Assert.False(new RemoteInstancesOptions { RemoteInstances = [new() { Name = "a", Url = "ftp://x" }] }.IsValid());
        Assert.False(new RemoteInstancesOptions { RemoteInstances = [new() { Name = "", Url = "http://x" }] }.IsValid());
        Assert.False(new RemoteInstancesOptions { RemoteInstances = [new() { Name = "a", Url = "http://x" }, new() { Name = "A", Url = "http://y" }] }.IsValid());
        Assert.True(new RemoteInstancesOptions { RemoteInstances = [new() { Name = "a", Url = "http://x:5080" }] }.IsValid());
    }

    [Fact]
    public async Task A_redirect_is_not_followed_and_only_the_configured_key_is_sent()
    {
        using var timeout = new CancellationTokenSource(Limit);
        using var redirecting = new TcpListener(IPAddress.Loopback, 0);
        using var target = new TcpListener(IPAddress.Loopback, 0);
        redirecting.Start();
        target.Start();
        var targetPort = ((IPEndPoint)target.LocalEndpoint).Port;
        var followed = AnswerOnceAsync(target, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", timeout.Token);
        var received = AnswerOnceAsync(redirecting, $"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{targetPort}/hubs/telemetry\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", timeout.Token);
        var factory = Factory(new RemoteInstanceSettings { Name = "lab", Url = $"http://127.0.0.1:{((IPEndPoint)redirecting.LocalEndpoint).Port}", ApiKey = "lab-key" });

        await using var feed = factory.Create("lab")!;
        var failed = WhenAsync(feed, f => f.Connection.Reason is not null, timeout.Token);
        feed.Start();
        var request = await received;
        await failed;

        Assert.StartsWith("GET /hubs/telemetry ", request, StringComparison.Ordinal);
        Assert.Contains("Authorization: Bearer lab-key", request, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Cookie:", request, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("negotiate", request, StringComparison.Ordinal);
        Assert.False(followed.IsCompleted);
        Assert.False(target.Pending());
        Assert.NotEqual(RemoteConnectionKind.Connected, feed.Connection.Kind);
    }

    [Fact]
    public async Task A_listed_instance_is_watched_with_its_api_key_and_a_wrong_key_is_refused()
    {
        using var timeout = new CancellationTokenSource(Limit);
        await using var remote = new LoopbackConsoleServer();
        remote.WithSetting("Auth:Mode", "BrowserToken").WithSetting("Auth:ApiKey", "remote-key");
        var url = remote.BaseAddress.ToString();
        var factory = Factory(new RemoteInstanceSettings { Name = "good", Url = url, ApiKey = "remote-key" }, new RemoteInstanceSettings { Name = "bad", Url = url, ApiKey = "not-it" });

        await using var good = factory.Create("good")!;
        var connected = WhenAsync(good, f => f.Connection.Kind == RemoteConnectionKind.Connected && f.Latest is not null, timeout.Token);
        good.Start();
        await connected;

        await using var bad = factory.Create("bad")!;
        var refused = WhenAsync(bad, f => f.Connection.Reason is not null, timeout.Token);
        bad.Start();
        await refused;
        Assert.Contains("401", bad.Connection.Reason);
        Assert.Contains("API key", bad.Connection.Reason);
        Assert.Null(bad.Latest);
    }

    private static async Task<string> AnswerOnceAsync(TcpListener listener, string answer, CancellationToken cancellationToken)
    {
        using var client = await listener.AcceptTcpClientAsync(cancellationToken);
        var stream = client.GetStream();
        var buffer = new byte[8192];
        var text = new StringBuilder();
        while (!text.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                break;
            }

            text.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        await stream.WriteAsync(Encoding.ASCII.GetBytes(answer), cancellationToken);
        return text.ToString();
    }

    private static Task WhenAsync(IRemoteTelemetryFeed feed, Func<IRemoteTelemetryFeed, bool> condition, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscription = feed.Subscribe(() =>
        {
            if (condition(feed))
            {
                done.TrySetResult();
            }

            return Task.CompletedTask;
        });
        cancellationToken.Register(() => done.TrySetCanceled());
        return done.Task.ContinueWith(t =>
        {
            subscription.Dispose();
            return t;
        }, TaskScheduler.Default).Unwrap();
    }
}
