using RealtimeConsole.Simulator.Media;

namespace RealtimeConsole.Tests.Simulator.Media;

public sealed class SdpAnswerTests
{
    private const string ChromiumLikeOffer =
        "v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n" +
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:AbCd\r\na=ice-pwd:0123456789abcdefghijklmn\r\n" +
        "a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\n" +
        "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=recvonly\r\n" +
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\na=sctp-port:5000\r\na=sctp-init:AAAA\r\n";

    [Fact]
    public void Answer_serves_audio_and_data_and_rejects_the_rest_as_the_map_says()
    {
        var offer = SdpOffer.Parse(ChromiumLikeOffer);
        Assert.Equal("AbCd", offer.IceUfrag);
        Assert.Equal("AA:BB", offer.Fingerprint);

        var answer = SdpAnswer.Build(offer, "uf12", "pwd-pwd-pwd-pwd-pwd-pwd!", "01:02", 40000, 1234).Split("\r\n");

        Assert.Contains("a=ice-lite", answer);
        Assert.Contains("a=group:BUNDLE 0 2", answer);
        Assert.Contains("m=audio 9 UDP/TLS/RTP/SAVPF 0", answer);
        Assert.Contains("a=rtpmap:0 PCMU/8000", answer);
        Assert.Contains("m=video 0 UDP/TLS/RTP/SAVPF 96", answer);
        Assert.Contains("a=inactive", answer);
        Assert.Contains("m=application 9 UDP/DTLS/SCTP webrtc-datachannel", answer);
        Assert.Contains("a=max-message-size:262144", answer);
        Assert.Equal(2, answer.Count(l => l == "a=setup:passive"));
        Assert.Equal(2, answer.Count(l => l == "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host"));
        Assert.Equal(2, answer.Count(l => l == "a=fingerprint:sha-256 01:02"));
        Assert.DoesNotContain(answer, l => l.StartsWith("a=sctp-init", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("", "v=0")]
    [InlineData("v=0\r\ns=-\r\n", "no media sections")]
    [InlineData("v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n", "ICE credentials")]
    public void Unusable_offers_say_what_is_missing(string sdp, string expected)
    {
        var error = Assert.Throws<FormatException>(() => SdpOffer.Parse(sdp));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
