using System.Text.Json.Nodes;
using RealtimeConsole.Simulator.Media;

namespace RealtimeConsole.Bench;

/// <summary>
/// The simulator's media side for the rate-limit bench: every offer is answered at once with a fixed SDP and no media,
/// so thousands of simulated connects cost what their HTTP requests cost (the rate limits are counted before the peer).
/// </summary>
public sealed class BenchMediaPeer : ISimulatorMediaPeer
{
    /// <summary>A browser's offer as the simulator checks it: origin, one audio section, ICE credentials, a DTLS fingerprint.</summary>
    public const string Offer =
        "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
        + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:bnch\r\na=ice-pwd:benchbenchbenchbenchbe\r\n"
        + "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n"
        + "a=setup:actpass\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\n";

    private const string Answer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n";

    private long _calls;

    public bool IsAvailable => true;

    public Task<AcceptedCall> AcceptAsync(string offerSdp, JsonObject session, CancellationToken cancellationToken) =>
        Task.FromResult(new AcceptedCall($"rtc_bench{Interlocked.Increment(ref _calls)}", Answer));

    public Task<bool> HangUpAsync(string callId, CancellationToken cancellationToken) => Task.FromResult(true);

    public bool IsLive(string callId) => false;
}
