using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using RealtimeConsole.Telemetry;
using RealtimeConsole.Tests.Infrastructure;

namespace RealtimeConsole.Tests.Telemetry;

/// <summary>Watching an instance over real SignalR on loopback: live updates, losing it, and getting it back on the same port.</summary>
public sealed class RemoteWatchTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_remote_feed_shows_a_mint_then_reconnects_and_resubscribes_when_the_instance_comes_back()
    {
        using var timeout = new CancellationTokenSource(Limit);
        var first = new LoopbackConsoleServer();
        var port = first.BaseAddress.Port;
        LoopbackConsoleServer? second = null;
        var feed = new RemoteTelemetryFeed(first.BaseAddress, TimeProvider.System, NullLogger<RemoteTelemetryFeed>.Instance,
            [TimeSpan.Zero, TimeSpan.FromMilliseconds(200)]);
        try
        {
            var connected = WhenAsync(feed, f => f.Connection.Kind == RemoteConnectionKind.Connected && f.Latest is not null, timeout.Token);
            feed.Start();
            await connected;
            Assert.Equal(0, feed.Latest!.Snapshot.Counters.Mints);

            var minted = WhenAsync(feed, f => f.Latest?.Snapshot.Counters.Mints == 1, timeout.Token);
            await MintAsync(first, timeout.Token);
            await minted;
            Assert.Equal(200, Assert.Single(feed.Latest!.Snapshot.RecentCalls).Status);

            // Checked when the state is published: the first retry goes at once, so a later read may already see the next try.
            var lost = WhenAsync(feed, f => f.Connection is { Kind: RemoteConnectionKind.Reconnecting, Reason: not null, Attempt: >= 1 }, timeout.Token);
            await first.DisposeAsync();
            await lost;

            // A fresh instance on the same port: the client reconnects on its own and opens the snapshot stream again.
            var back = WhenAsync(feed, f => f.Connection.Kind == RemoteConnectionKind.Connected && f.Latest?.Snapshot.Counters.Mints == 0, timeout.Token);
            second = new LoopbackConsoleServer(port);
            Assert.Equal(port, second.BaseAddress.Port);
            await back;

            var mintedAgain = WhenAsync(feed, f => f.Latest?.Snapshot.Counters.Mints == 1, timeout.Token);
            await MintAsync(second, timeout.Token);
            await mintedAgain;
        }
        finally
        {
            await feed.DisposeAsync();
            await first.DisposeAsync();
            if (second is not null)
            {
                await second.DisposeAsync();
            }
        }

        Assert.Equal(RemoteConnectionKind.Disconnected, feed.Connection.Kind);
        Assert.Equal("You stopped watching this instance.", feed.Connection.Reason);
    }

    [Fact]
    public async Task The_remote_feed_retries_an_instance_that_is_not_up_yet_and_says_why()
    {
        using var timeout = new CancellationTokenSource(Limit);
        var port = FreePort();
        var feed = new RemoteTelemetryFeed(new Uri($"http://127.0.0.1:{port}/"), TimeProvider.System, NullLogger<RemoteTelemetryFeed>.Instance,
            [TimeSpan.FromMilliseconds(200)]);
        LoopbackConsoleServer? server = null;
        try
        {
            var refused = WhenAsync(feed, f => f.Connection is { Kind: RemoteConnectionKind.Connecting, NextTryAt: not null }, timeout.Token);
            feed.Start();
            await refused;
            Assert.StartsWith("Cannot reach it:", feed.Connection.Reason);
            Assert.True(feed.Connection.Attempt >= 2);

            var connected = WhenAsync(feed, f => f.Connection.Kind == RemoteConnectionKind.Connected && f.Latest is not null, timeout.Token);
            server = new LoopbackConsoleServer(port);
            Assert.Equal(port, server.BaseAddress.Port);
            await connected;
        }
        finally
        {
            await feed.DisposeAsync();
            if (server is not null)
            {
                await server.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task The_watch_verb_waits_for_an_instance_that_is_not_up_yet_and_reconnects_after_it_restarts()
    {
        using var timeout = new CancellationTokenSource(Limit);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        var port = FreePort();
        var output = new LineWriter();
        using var errors = new StringWriter();
        LoopbackConsoleServer? server = null;
        var watch = WatchCommand.RunAsync(["--url", $"http://127.0.0.1:{port}"], output, errors, stop.Token);
        try
        {
            await output.WaitForAsync(l => l.StartsWith($"Cannot reach http://127.0.0.1:{port}/hubs/telemetry", StringComparison.Ordinal), 0, timeout.Token);

            server = new LoopbackConsoleServer(port);
            Assert.Equal(port, server.BaseAddress.Port);
            var watching = await output.WaitForAsync(l => l.StartsWith("Watching ", StringComparison.Ordinal), 0, timeout.Token);
            await output.WaitForAsync(l => l.Contains("[Idle]", StringComparison.Ordinal), watching, timeout.Token);

            await server.DisposeAsync();
            var lost = await output.WaitForAsync(l => l.StartsWith("Connection lost", StringComparison.Ordinal), watching, timeout.Token);

            server = new LoopbackConsoleServer(port);
            Assert.Equal(port, server.BaseAddress.Port);
            var reconnected = await output.WaitForAsync(l => l.StartsWith("Reconnected to ", StringComparison.Ordinal), lost, timeout.Token);
            await output.WaitForAsync(l => l.Contains("[Idle]", StringComparison.Ordinal), reconnected, timeout.Token);

            await stop.CancelAsync();
            Assert.Equal(0, await watch.WaitAsync(timeout.Token));
            Assert.Empty(errors.ToString());
        }
        finally
        {
            await stop.CancelAsync();
            await watch.ContinueWith(_ => { }, TaskScheduler.Default);
            if (server is not null)
            {
                await server.DisposeAsync();
            }
        }
    }

    private static async Task MintAsync(LoopbackConsoleServer server, CancellationToken cancellationToken)
    {
        using var http = server.CreateLoopbackClient();
        (await http.PostAsJsonAsync("api/realtime/client-secret", new { }, cancellationToken)).EnsureSuccessStatusCode();
    }

    /// <summary>Completes once <paramref name="done"/> holds for the feed, checked now and after each change it reports.</summary>
    private static async Task WhenAsync(RemoteTelemetryFeed feed, Func<RemoteTelemetryFeed, bool> done, CancellationToken cancellationToken)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = feed.Subscribe(() =>
        {
            if (done(feed))
            {
                reached.TrySetResult();
            }

            return Task.CompletedTask;
        });
        if (done(feed))
        {
            reached.TrySetResult();
        }

        await reached.Task.WaitAsync(cancellationToken);
    }

    /// <summary>A loopback port nobody listens on right now (taken from the OS, then released).</summary>
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Collects the watcher's lines and lets the test wait for one that matches.</summary>
    private sealed class LineWriter : TextWriter
    {
        private readonly Lock _gate = new();
        private readonly List<string> _lines = [];
        private readonly List<(Func<string, bool> Match, int From, TaskCompletionSource<int> Found)> _waiting = [];

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value) => throw new NotSupportedException("The watcher writes whole lines.");

        public override void WriteLine(string? value)
        {
            lock (_gate)
            {
                _lines.Add(value ?? "");
                var index = _lines.Count - 1;
                foreach (var waiter in _waiting.Where(w => index >= w.From && w.Match(_lines[index])).ToList())
                {
                    _waiting.Remove(waiter);
                    waiter.Found.TrySetResult(index);
                }
            }
        }

        public override Task WriteLineAsync(string? value)
        {
            WriteLine(value);
            return Task.CompletedTask;
        }

        /// <summary>The index of the first line at or after <paramref name="from"/> that matches.</summary>
        public Task<int> WaitForAsync(Func<string, bool> match, int from, CancellationToken cancellationToken)
        {
            var found = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                var index = _lines.FindIndex(from, new Predicate<string>(match));
                if (index >= 0)
                {
                    return Task.FromResult(index);
                }

                _waiting.Add((match, from, found));
            }

            return found.Task.WaitAsync(cancellationToken);
        }

        public override string ToString()
        {
            lock (_gate)
            {
                return string.Join('\n', _lines);
            }
        }
    }
}
