using RealtimeConsole.Simulator.Media;
using RealtimeConsole.Simulator.Media.Audio;

namespace RealtimeConsole.Tests.Simulator.Media;

/// <summary>The simulator answers with the first codec of the offer's order that it speaks (PCMU or PCMA), and says which.</summary>
public sealed class CodecChoiceTests
{
    private static string Offer(string formats, params string[] rtpmaps) =>
        "v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n" +
        $"m=audio 9 UDP/TLS/RTP/SAVPF {formats}\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:AbCd\r\na=ice-pwd:0123456789abcdefghijklmn\r\n" +
        "a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=sendrecv\r\n" + string.Concat(rtpmaps.Select(m => $"a=rtpmap:{m}\r\n")) +
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sctp-port:5000\r\n";

    private static string[] Answer(string offer) => SdpAnswer.Build(SdpOffer.Parse(offer), "uf12", "pwd-pwd-pwd-pwd-pwd-pwd!", "01:02", 40000, 1234).Split("\r\n");

    [Theory]
    // Chromium's default order (Opus first): the simulator cannot speak Opus, so the next one it can.
    [InlineData("111 63 9 0 8 13 110 126", "0", "PCMU/8000")]
    // Codec preference "PCMA first" (setCodecPreferences puts it at the head of the m-line).
    [InlineData("8 111 0", "8", "PCMA/8000")]
    // "Opus, then PCMA, then PCMU".
    [InlineData("111 8 0", "8", "PCMA/8000")]
    [InlineData("0 8", "0", "PCMU/8000")]
    public void The_first_offered_codec_the_simulator_speaks_is_answered(string formats, string payloadType, string codec)
    {
        var offer = Offer(formats, "111 opus/48000/2", "63 red/48000/2", "9 G722/8000", "0 PCMU/8000", "8 PCMA/8000", "13 CN/8000", "110 telephone-event/48000", "126 telephone-event/8000");

        var chosen = SdpOffer.Parse(offer).Sections[0].ChooseCodec();
        var answer = Answer(offer);

        Assert.Equal(codec, chosen?.Codec.ToString());
        Assert.Contains($"m=audio 9 UDP/TLS/RTP/SAVPF {payloadType}", answer);
        Assert.Contains($"a=rtpmap:{payloadType} {codec}", answer);
        Assert.Single(answer, l => l.StartsWith("a=rtpmap:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_dynamic_payload_type_named_by_rtpmap_is_kept_in_the_answer()
    {
        var answer = Answer(Offer("111 101", "111 opus/48000/2", "101 pcma/8000"));

        Assert.Contains("m=audio 9 UDP/TLS/RTP/SAVPF 101", answer);
        Assert.Contains("a=rtpmap:101 PCMA/8000", answer);
    }

    [Fact]
    public void Static_payload_types_without_rtpmap_lines_are_read_as_rfc_3551_names_them()
    {
        Assert.Equal(("PCMA/8000", (byte)8), SdpOffer.Parse(Offer("111 8", "111 opus/48000/2")).Sections[0].ChooseCodec() is var (c, pt) ? (c.ToString(), pt) : default);
    }

    [Fact]
    public void An_offer_with_only_codecs_the_simulator_lacks_gets_its_audio_section_rejected_and_the_data_channel_served()
    {
        var offer = Offer("111 9", "111 opus/48000/2", "9 G722/8000");

        Assert.Null(SdpOffer.Parse(offer).Sections[0].ChooseCodec());
        var answer = Answer(offer);
        Assert.Contains("m=audio 0 UDP/TLS/RTP/SAVPF 111 9", answer);
        Assert.Contains("a=group:BUNDLE 1", answer);
        Assert.Contains("m=application 9 UDP/DTLS/SCTP webrtc-datachannel", answer);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    [InlineData(-1000)]
    [InlineData(12345)]
    [InlineData(-32768)]
    [InlineData(32767)]
    public void Pcma_round_trips_within_its_quantisation_step(short sample)
    {
        var decoded = Pcma.Decode(Pcma.Encode(sample));

        // A-law's step doubles per segment: 16 at the bottom, 1024 at the top; half a step is the most it may be off.
        Assert.InRange(Math.Abs(decoded - sample), 0, 1024);
        Assert.Equal(Math.Sign(sample) < 0, decoded < 0);
    }

    [Fact]
    public void Pcma_encodes_silence_and_the_peaks_as_g711_says()
    {
        Assert.Equal(0xD5, Pcma.Encode(0));
        Assert.Equal(0xAA, Pcma.Encode(short.MaxValue));
        Assert.Equal(0x2A, Pcma.Encode(short.MinValue));
        Assert.Equal(8, Pcma.Decode(0xD5));
        // What the conversation hears from a PCMA call is the same sound in μ-law.
        Assert.Equal(Pcmu.Encode(1000), G711Codec.Pcmu.ToPcmu(Pcmu.Encode(1000)));
        Assert.InRange(Math.Abs(Pcmu.Decode(G711Codec.Pcma.ToPcmu(Pcma.Encode(1000))) - 1000), 0, 64);
    }
}
