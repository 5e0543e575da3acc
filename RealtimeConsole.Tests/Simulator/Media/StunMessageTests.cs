using System.Net;
using System.Text;
using RealtimeConsole.Simulator.Media.Ice;

namespace RealtimeConsole.Tests.Simulator.Media;

public sealed class StunMessageTests
{
    // RFC 5769 §2.1 sample request, password "VOkJxbRl1RmTxUk/WvJxBt".
    private static readonly byte[] Rfc5769Request = Convert.FromHexString(
        "000100582112a442b7e7a701bc34d686fa87dfae" +
        "802200105354554e207465737420636c69656e74" +
        "002400046e0001ff80290008932ff9b151263b36" +
        "000600096576746a3a68367659202020" +
        "000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2" +
        "80280004e57a3bcf");

    [Fact]
    public void Parses_the_RFC_5769_request_and_verifies_integrity_and_fingerprint()
    {
        var message = StunMessage.TryParse(Rfc5769Request);

        Assert.NotNull(message);
        Assert.Equal(StunMessage.BindingRequest, message.Type);
        Assert.Equal("evtj:h6vY", message.Username);
        Assert.True(StunMessage.VerifyIntegrity(Rfc5769Request, message, "VOkJxbRl1RmTxUk/WvJxBt"));
        Assert.False(StunMessage.VerifyIntegrity(Rfc5769Request, message, "wrong-password"));
        Assert.True(StunMessage.VerifyFingerprint(Rfc5769Request));
    }

    [Fact]
    public void Rejects_a_tampered_fingerprint_and_truncated_messages()
    {
        var tampered = (byte[])Rfc5769Request.Clone();
        tampered[^1] ^= 1;
        Assert.False(StunMessage.VerifyFingerprint(tampered));
        Assert.Null(StunMessage.TryParse(Rfc5769Request.AsSpan(0, 30)));
        Assert.Null(StunMessage.TryParse(Encoding.ASCII.GetBytes("not stun at all, not at all")));
    }

    [Fact]
    public void Built_response_round_trips_with_integrity_fingerprint_and_xor_mapped_address()
    {
        var transaction = Enumerable.Range(1, 12).Select(i => (byte)i).ToArray();
        var endPoint = new IPEndPoint(IPAddress.Loopback, 54321);
        var response = new StunMessage { Type = StunMessage.BindingSuccess, TransactionId = transaction };
        response.Attributes.Add((StunMessage.AttrXorMappedAddress, StunMessage.XorMappedAddress(endPoint, transaction)));

        var bytes = response.Build("secret-pwd");
        var parsed = StunMessage.TryParse(bytes);

        Assert.NotNull(parsed);
        Assert.Equal(StunMessage.BindingSuccess, parsed.Type);
        Assert.True(StunMessage.VerifyIntegrity(bytes, parsed, "secret-pwd"));
        Assert.True(StunMessage.VerifyFingerprint(bytes));
        Assert.Equal(endPoint, StunMessage.ReadXorMappedAddress(parsed.Find(StunMessage.AttrXorMappedAddress), transaction));
    }

    [Fact]
    public void Crc_check_values_match_the_catalogue()
    {
        var check = "123456789"u8;
        Assert.Equal(0xCBF43926u, Crc32.Ieee.Compute(check));
        Assert.Equal(0xE3069283u, Crc32.Castagnoli.Compute(check));
    }
}
