using RealtimeConsole.Simulator.Media.Srtp;

namespace RealtimeConsole.Tests.Simulator.Media;

public sealed class SrtpContextTests
{
    private static readonly byte[] MasterKey = Convert.FromHexString("E1F97A0D3E018BE0D64FA32C06DE4139");
    private static readonly byte[] MasterSalt = Convert.FromHexString("0EC675AD498AFEEBB6960B3AABE6");

    [Fact]
    public void Key_derivation_matches_RFC_3711_appendix_B3()
    {
        using var context = new SrtpContext(MasterKey, MasterSalt);

        Assert.Equal("C61E7A93744F39EE10734AFE3FF7A087", Convert.ToHexString(context.SessionKey));
        Assert.Equal("30CBBC08863D8C85D49DB34A9AE1", Convert.ToHexString(context.SessionSalt));
        Assert.Equal("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4", Convert.ToHexString(context.AuthKey));
    }

    [Fact]
    public void Protect_then_unprotect_round_trips_and_a_flipped_bit_is_rejected()
    {
        using var sender = new SrtpContext(MasterKey, MasterSalt);
        using var receiver = new SrtpContext(MasterKey, MasterSalt);
        var rtp = new byte[12 + 160];
        rtp[0] = 0x80;
        rtp[3] = 7;
        rtp[11] = 0x42;
        for (var i = 12; i < rtp.Length; i++)
        {
            rtp[i] = (byte)i;
        }

        var srtp = sender.Protect(rtp);
        Assert.Equal(rtp.Length + SrtpContext.TagLength, srtp.Length);
        Assert.NotEqual(rtp.AsSpan(12).ToArray(), srtp.AsSpan(12, 160).ToArray());
        Assert.Equal(rtp, receiver.Unprotect(srtp));

        srtp[20] ^= 1;
        Assert.Null(receiver.Unprotect(srtp));
    }

    [Fact]
    public void Sequence_wrap_advances_the_rollover_counter_on_both_sides()
    {
        using var sender = new SrtpContext(MasterKey, MasterSalt);
        using var receiver = new SrtpContext(MasterKey, MasterSalt);
        foreach (var sequence in new[] { 65534, 65535, 0, 1 })
        {
            var rtp = new byte[20];
            rtp[0] = 0x80;
            rtp[2] = (byte)(sequence >> 8);
            rtp[3] = (byte)sequence;
            rtp[19] = (byte)sequence;
            Assert.Equal(rtp, receiver.Unprotect(sender.Protect(rtp)));
        }
    }
}
