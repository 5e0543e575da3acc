namespace RealtimeConsole.Simulator.Media.Ice;

/// <summary>Table-driven reflected CRC-32 for both polynomials the peer needs: IEEE (STUN FINGERPRINT) and Castagnoli (SCTP).</summary>
internal sealed class Crc32
{
    public static readonly Crc32 Ieee = new(0xEDB88320u);
    public static readonly Crc32 Castagnoli = new(0x82F63B78u);

    private readonly uint[] _table = new uint[256];

    private Crc32(uint reversedPolynomial)
    {
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? reversedPolynomial ^ (c >> 1) : c >> 1;
            }

            _table[i] = c;
        }
    }

    public uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc = _table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc ^ 0xFFFFFFFFu;
    }
}
