using RealtimeConsole.Simulator.Media.Audio;

namespace RealtimeConsole.Tests.Simulator.Media;

public sealed class PcmuTests
{
    [Theory]
    [InlineData((short)0, (byte)0xFF)]
    [InlineData((short)-1, (byte)0x7F)]
    [InlineData((short)32767, (byte)0x80)]
    [InlineData((short)-32768, (byte)0x00)]
    public void Encodes_the_reference_points(short sample, byte expected) => Assert.Equal(expected, Pcmu.Encode(sample));

    [Fact]
    public void Round_trip_error_stays_within_the_segment_step()
    {
        for (var s = -32000; s <= 32000; s += 37)
        {
            var decoded = Pcmu.Decode(Pcmu.Encode((short)s));
            Assert.True(Math.Abs(decoded - s) <= Math.Max(8, Math.Abs(s) / 16), $"{s} -> {decoded}");
        }
    }

    [Fact]
    public void Energy_separates_silence_from_a_tone()
    {
        var silence = Enumerable.Repeat(Pcmu.Encode(0), 160).ToArray();
        var tone = Enumerable.Range(0, 160).Select(i => Pcmu.Encode((short)(8000 * Math.Sin(2 * Math.PI * 440 * i / 8000)))).ToArray();
        Assert.True(Pcmu.Energy(silence) < 10);
        Assert.True(Pcmu.Energy(tone) > 3000);
    }
}
