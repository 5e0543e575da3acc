using RealtimeConsole.Tokens;

namespace RealtimeConsole.Tests.Tokens;

public sealed class SdpOfferCheckTests
{
    private const string Offer =
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijabcdefghijab\r\n"
        + "a=fingerprint:sha-256 00:11\r\na=setup:actpass\r\n";

    [Fact]
    public void A_browsers_offer_passes() => Assert.Null(SdpOfferCheck.Problem(Offer));

    [Theory]
    [InlineData("o=- 1 2 IN IP4 127.0.0.1", "origin")]
    [InlineData("m=audio 9 UDP/TLS/RTP/SAVPF 111", "audio media section")]
    [InlineData("a=ice-pwd:abcdefghijabcdefghijab", "ICE credentials")]
    [InlineData("a=fingerprint:sha-256 00:11", "DTLS fingerprint")]
    public void An_offer_missing_a_part_upstream_needs_is_named(string missing, string named)
    {
        var problem = SdpOfferCheck.Problem(Offer.Replace(missing + "\r\n", "", StringComparison.Ordinal));

        Assert.NotNull(problem);
        Assert.Contains(named, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void An_answer_is_not_an_offer() =>
        Assert.Contains("answer, not an offer", SdpOfferCheck.Problem(Offer.Replace("a=setup:actpass", "a=setup:active", StringComparison.Ordinal)), StringComparison.Ordinal);

    [Fact]
    public void Text_that_is_not_sdp_is_refused() => Assert.NotNull(SdpOfferCheck.Problem("hello"));
}
