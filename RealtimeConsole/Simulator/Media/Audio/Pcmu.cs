namespace RealtimeConsole.Simulator.Media.Audio;

/// <summary>G.711 μ-law (PCMU) with the classic segment encoder; 8 kHz, one byte a sample.</summary>
internal static class Pcmu
{
    private const int Bias = 0x84;
    private const int Clip = 32635;

    public static byte Encode(short sample)
    {
        var pcm = (int)sample;
        var sign = pcm < 0 ? 0x80 : 0;
        if (pcm < 0)
        {
            pcm = -pcm;
        }

        pcm = Math.Min(pcm, Clip) + Bias;
        var exponent = 7;
        for (var mask = 0x4000; (pcm & mask) == 0 && exponent > 0; mask >>= 1)
        {
            exponent--;
        }

        var mantissa = (pcm >> (exponent + 3)) & 0x0F;
        return (byte)~(sign | (exponent << 4) | mantissa);
    }

    public static short Decode(byte value)
    {
        var u = ~value & 0xFF;
        var sign = u & 0x80;
        var exponent = (u >> 4) & 0x07;
        var mantissa = u & 0x0F;
        var magnitude = (((mantissa << 3) + Bias) << exponent) - Bias;
        return (short)(sign != 0 ? -magnitude : magnitude);
    }

    public static void Encode(ReadOnlySpan<short> samples, Span<byte> destination)
    {
        for (var i = 0; i < samples.Length; i++)
        {
            destination[i] = Encode(samples[i]);
        }
    }

    /// <summary>Mean absolute amplitude of a μ-law frame (what the energy VAD compares with its threshold).</summary>
    public static double Energy(ReadOnlySpan<byte> frame)
    {
        if (frame.IsEmpty)
        {
            return 0;
        }

        long sum = 0;
        foreach (var b in frame)
        {
            sum += Math.Abs((int)Decode(b));
        }

        return (double)sum / frame.Length;
    }
}
