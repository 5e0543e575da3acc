using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Simulator.Media;
using RealtimeConsole.Simulator.Media.Client;
using RealtimeConsole.Simulator.Media.Dtls;
using RealtimeConsole.Simulator.Media.Realtime;

namespace RealtimeConsole.Tests.Simulator.Media;

/// <summary>Whole calls between the simulator's peer and the C# client peer over loopback UDP, no browser.</summary>
[Collection(MediaPeerCollection.Name)]
public sealed class MediaPeerLifecycleTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static SimulatorMediaPeer NewPeer(TimeProvider time, MediaPeerOptions? options = null) =>
        new(new FixedWindowResponseBudget(time, 1000), time, Options.Create(options ?? new MediaPeerOptions()), NullLogger<SimulatorMediaPeer>.Instance);

    private static JsonObject NoVad() => new() { ["audio"] = new JsonObject { ["input"] = new JsonObject { ["turn_detection"] = null } } };

    [Fact]
    public async Task Client_peer_connects_exchanges_events_receives_audio_and_hangup_releases_everything()
    {
        await using var peer = NewPeer(TimeProvider.System);
        var certificate = DtlsCertificate.Create(TimeProvider.System);
        using var cts = new CancellationTokenSource(Patience);
        await using var client = new WebRtcClientPeer(certificate, TimeProvider.System);

        var accepted = await peer.AcceptAsync(client.CreateOffer(), NoVad(), cts.Token);
        await client.ConnectAsync(accepted.AnswerSdp, cts.Token);
        var created = await client.WaitForAsync("session.created", cts.Token);
        Assert.StartsWith("sess_", created["session"]?["id"]?.ToString(), StringComparison.Ordinal);

        var big = new string('x', 4000);
        client.SendEvent(new JsonObject { ["type"] = "session.update", ["session"] = new JsonObject { ["instructions"] = big } });
        var updated = await client.WaitForAsync("session.updated", cts.Token);
        Assert.Equal(big, updated["session"]?["instructions"]?.ToString());

        client.SendEvent(new JsonObject { ["type"] = "response.create" });
        await client.WaitForAsync("output_audio_buffer.stopped", cts.Token);
        Assert.True(client.AudioPacketsReceived > 0);
        Assert.Equal(0, client.AudioPacketsLost);

        var call = peer.Find(accepted.CallId)!;
        Assert.True(await peer.HangUpAsync(accepted.CallId, cts.Token));
        await call.Completion.WaitAsync(cts.Token);
        Assert.Equal(0, peer.LiveCalls);
        Assert.False(await peer.HangUpAsync(accepted.CallId, cts.Token));
    }

    [Fact]
    public async Task Many_connect_disconnect_cycles_leave_no_calls_sockets_or_threads_behind()
    {
        await using var peer = NewPeer(TimeProvider.System);
        var certificate = DtlsCertificate.Create(TimeProvider.System);
        // Each cycle is two DTLS handshakes in managed crypto: about 20 ms on a quiet machine, ten or more times that on
        // one busy with other suites. Each cycle gets the patience of one connect, a bound that stops a hang, not a timer.
        var baselineSockets = WebRtcCall.OpenSockets;
        var completions = new List<Task>();

        for (var cycle = 0; cycle < 200; cycle++)
        {
            using var cts = new CancellationTokenSource(Patience);
            var client = new WebRtcClientPeer(certificate, TimeProvider.System);
            var accepted = await peer.AcceptAsync(client.CreateOffer(), NoVad(), cts.Token);
            completions.Add(peer.Find(accepted.CallId)!.Completion);
            await client.ConnectAsync(accepted.AnswerSdp, cts.Token);
            await client.WaitForAsync("session.created", cts.Token);
            if (cycle % 2 == 0)
            {
                await peer.HangUpAsync(accepted.CallId, cts.Token);
            }

            // Odd cycles leave like a closed tab: the client's ABORT alone must end the call.
            await client.DisposeAsync();
        }

        await Task.WhenAll(completions).WaitAsync(Patience);
        Assert.Equal(0, peer.LiveCalls);
        Assert.Equal(baselineSockets, WebRtcCall.OpenSockets);
        Assert.Equal(0, peer.AudioSubscribers);
    }

    [Fact]
    public async Task Concurrent_calls_each_get_their_own_session()
    {
        await using var peer = NewPeer(TimeProvider.System);
        var certificate = DtlsCertificate.Create(TimeProvider.System);
        using var cts = new CancellationTokenSource(Patience);
        var clients = Enumerable.Range(0, 8).Select(_ => new WebRtcClientPeer(certificate, TimeProvider.System)).ToList();

        var sessions = await Task.WhenAll(clients.Select(async client =>
        {
            var accepted = await peer.AcceptAsync(client.CreateOffer(), NoVad(), cts.Token);
            await client.ConnectAsync(accepted.AnswerSdp, cts.Token);
            return (await client.WaitForAsync("session.created", cts.Token))["session"]?["id"]?.ToString();
        }));

        Assert.Equal(8, sessions.Distinct().Count());
        Assert.Equal(8, peer.LiveCalls);
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_call_nobody_connects_to_is_released_at_the_connect_timeout()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var peer = NewPeer(time, new MediaPeerOptions { ConnectTimeout = TimeSpan.FromSeconds(5) });
        var client = new WebRtcClientPeer(DtlsCertificate.Create(time), time);
        var accepted = await peer.AcceptAsync(client.CreateOffer(), NoVad(), CancellationToken.None);
        var call = peer.Find(accepted.CallId)!;

        time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(1, peer.LiveCalls);
        time.Advance(TimeSpan.FromSeconds(1));

        await call.Completion.WaitAsync(Patience);
        Assert.Equal(0, peer.LiveCalls);
        await client.DisposeAsync();
    }

    [Fact]
    public async Task A_call_that_goes_silent_is_released_at_the_idle_timeout()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var peer = NewPeer(time, new MediaPeerOptions { ConnectTimeout = TimeSpan.FromMinutes(5), IdleTimeout = TimeSpan.FromSeconds(8) });
        var client = new WebRtcClientPeer(DtlsCertificate.Create(time), time);
        var accepted = await peer.AcceptAsync(client.CreateOffer(), NoVad(), CancellationToken.None);
        var call = peer.Find(accepted.CallId)!;

        time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(1, peer.LiveCalls);
        time.Advance(TimeSpan.FromSeconds(4));

        await call.Completion.WaitAsync(Patience);
        Assert.Equal(0, peer.LiveCalls);
        await client.DisposeAsync();
    }

    [Fact]
    public async Task Offers_that_cannot_be_served_get_a_clear_error()
    {
        await using var peer = NewPeer(TimeProvider.System);
        var notSdp = await Assert.ThrowsAsync<ArgumentException>(() => peer.AcceptAsync("hello", [], CancellationToken.None));
        Assert.Contains("v=0", notSdp.Message, StringComparison.Ordinal);

        var audioOnly = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n";
        var noChannel = await Assert.ThrowsAsync<ArgumentException>(() => peer.AcceptAsync(audioOnly, [], CancellationToken.None));
        Assert.Contains("oai-events", noChannel.Message, StringComparison.Ordinal);
        Assert.Equal(0, peer.LiveCalls);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MediaPeerCollection
{
    public const string Name = "media-peer";
}
