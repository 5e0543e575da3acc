namespace RealtimeConsole.Simulator.Media.Audio;

/// <summary>G.711 A-law (PCMA), the classic segment encoder; 8 kHz, one byte a sample, even bits inverted on the wire.</summary>
internal static class Pcma
{
    public static byte Encode(short sample)
    {
        var pcm = (int)sample;
        var sign = pcm >= 0 ? 0x80 : 0;
        if (pcm < 0)
        {
            pcm = -pcm - 1;
        }

        pcm = Math.Min(pcm, 32767) >> 3;
        byte value;
        if (pcm < 32)
        {
            value = (byte)(pcm >> 1);
        }
        else
        {
            var exponent = 1;
            for (var v = pcm >> 5; v > 1; v >>= 1)
            {
                exponent++;
            }

            value = (byte)((exponent << 4) | ((pcm >> exponent) & 0x0F));
        }

        return (byte)((value | sign) ^ 0x55);
    }

    public static short Decode(byte value)
    {
        var a = value ^ 0x55;
        var exponent = (a >> 4) & 0x07;
        var mantissa = a & 0x0F;
        var magnitude = exponent == 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
        return (short)((a & 0x80) != 0 ? magnitude : -magnitude);
    }
}
