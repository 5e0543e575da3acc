using System.Buffers.Binary;
using System.Security.Cryptography;

namespace RealtimeConsole.Simulator.Media.Srtp;

/// <summary>
/// One direction of SRTP (RFC 3711) with AES_CM_128_HMAC_SHA1_80: session keys derived from the
/// DTLS-exported master key and salt, AES counter mode over the payload, an 80-bit HMAC-SHA1 tag.
/// Not thread-safe: one sender or one receiver owns it.
/// </summary>
internal sealed class SrtpContext : IDisposable
{
    public const int TagLength = 10;
    private const int LabelCipherKey = 0;
    private const int LabelAuthKey = 1;
    private const int LabelSalt = 2;

    private readonly Aes _cipher;
    private readonly byte[] _salt;
    private readonly byte[] _authKey;
    private readonly IncrementalHash _hmac;
    private uint _rollover;
    private ushort _highestSequence;
    private bool _seen;

    public SrtpContext(ReadOnlySpan<byte> masterKey, ReadOnlySpan<byte> masterSalt)
    {
        SessionKey = DeriveKey(masterKey, masterSalt, LabelCipherKey, 16);
        _authKey = DeriveKey(masterKey, masterSalt, LabelAuthKey, 20);
        _salt = DeriveKey(masterKey, masterSalt, LabelSalt, 14);
        _cipher = Aes.Create();
        _cipher.Key = SessionKey;
        _hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA1, _authKey);
    }

    public byte[] SessionKey { get; }

    public ReadOnlySpan<byte> SessionSalt => _salt;

    public ReadOnlySpan<byte> AuthKey => _authKey;

    /// <summary>RFC 3711 §4.3.1: AES-CM keyed with the master key over (salt XOR label) · 2^16.</summary>
    public static byte[] DeriveKey(ReadOnlySpan<byte> masterKey, ReadOnlySpan<byte> masterSalt, int label, int length)
    {
        Span<byte> iv = stackalloc byte[16];
        masterSalt.CopyTo(iv);
        iv[7] ^= (byte)label;
        using var aes = Aes.Create();
        aes.Key = masterKey.ToArray();
        var output = new byte[length];
        Keystream(aes, iv, output);
        return output;
    }

    /// <summary>Encrypts and authenticates an RTP packet; the sequence number drives the rollover counter.</summary>
    public byte[] Protect(ReadOnlySpan<byte> rtp)
    {
        var sequence = BinaryPrimitives.ReadUInt16BigEndian(rtp[2..]);
        if (_seen && sequence < _highestSequence && _highestSequence - sequence > 0x8000)
        {
            _rollover++;
        }

        if (!_seen || IsNewer(sequence, _highestSequence))
        {
            _highestSequence = sequence;
        }

        _seen = true;
        var output = new byte[rtp.Length + TagLength];
        rtp.CopyTo(output);
        var headerLength = RtpHeaderLength(rtp);
        Transform(output.AsSpan(headerLength, rtp.Length - headerLength), Ssrc(rtp), ((ulong)_rollover << 16) | sequence);
        WriteTag(output.AsSpan(0, rtp.Length), _rollover, output.AsSpan(rtp.Length));
        return output;
    }

    /// <summary>Verifies and decrypts an SRTP packet; null when the tag does not match.</summary>
    public byte[]? Unprotect(ReadOnlySpan<byte> srtp)
    {
        if (srtp.Length < 12 + TagLength)
        {
            return null;
        }

        var sequence = BinaryPrimitives.ReadUInt16BigEndian(srtp[2..]);
        var rollover = EstimateRollover(sequence);
        var body = srtp[..^TagLength];
        Span<byte> tag = stackalloc byte[TagLength];
        WriteTag(body, rollover, tag);
        if (!CryptographicOperations.FixedTimeEquals(tag, srtp[^TagLength..]))
        {
            return null;
        }

        if (!_seen || rollover > _rollover || (rollover == _rollover && IsNewer(sequence, _highestSequence)))
        {
            _rollover = rollover;
            _highestSequence = sequence;
            _seen = true;
        }

        var output = body.ToArray();
        var headerLength = RtpHeaderLength(output);
        Transform(output.AsSpan(headerLength), Ssrc(output), ((ulong)rollover << 16) | sequence);
        return output;
    }

    /// <summary>XORs the AES-CM keystream for (SSRC, index) into <paramref name="payload"/>.</summary>
    public void Transform(Span<byte> payload, uint ssrc, ulong index)
    {
        Span<byte> iv = stackalloc byte[16];
        _salt.CopyTo(iv);
        Span<byte> tmp = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(tmp, ssrc);
        for (var i = 0; i < 4; i++)
        {
            iv[4 + i] ^= tmp[i];
        }

        for (var i = 0; i < 6; i++)
        {
            iv[8 + i] ^= (byte)(index >> (40 - (8 * i)));
        }

        var keystream = new byte[payload.Length];
        Keystream(_cipher, iv, keystream);
        for (var i = 0; i < payload.Length; i++)
        {
            payload[i] ^= keystream[i];
        }
    }

    public void Dispose()
    {
        _cipher.Dispose();
        _hmac.Dispose();
    }

    public static int RtpHeaderLength(ReadOnlySpan<byte> rtp)
    {
        var length = 12 + (4 * (rtp[0] & 0x0F));
        if ((rtp[0] & 0x10) != 0 && rtp.Length >= length + 4)
        {
            length += 4 + (4 * BinaryPrimitives.ReadUInt16BigEndian(rtp[(length + 2)..]));
        }

        return Math.Min(length, rtp.Length);
    }

    private static uint Ssrc(ReadOnlySpan<byte> rtp) => BinaryPrimitives.ReadUInt32BigEndian(rtp[8..]);

    private static bool IsNewer(ushort a, ushort b) => a != b && (ushort)(a - b) < 0x8000;

    private uint EstimateRollover(ushort sequence)
    {
        if (!_seen)
        {
            return _rollover;
        }

        if (_highestSequence < 0x8000)
        {
            return sequence - _highestSequence > 0x8000 && _rollover > 0 ? _rollover - 1 : _rollover;
        }

        return _highestSequence - 0x8000 > sequence ? _rollover + 1 : _rollover;
    }

    private void WriteTag(ReadOnlySpan<byte> packet, uint rollover, Span<byte> destination)
    {
        _hmac.AppendData(packet);
        Span<byte> roc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(roc, rollover);
        _hmac.AppendData(roc);
        Span<byte> full = stackalloc byte[20];
        _hmac.GetHashAndReset(full);
        full[..TagLength].CopyTo(destination);
    }

    private static void Keystream(Aes aes, ReadOnlySpan<byte> iv, Span<byte> output)
    {
        var blocks = (output.Length + 15) / 16;
        var counters = new byte[blocks * 16];
        for (var b = 0; b < blocks; b++)
        {
            var block = counters.AsSpan(b * 16, 16);
            iv.CopyTo(block);
            var counter = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(iv[14..]) + b);
            BinaryPrimitives.WriteUInt16BigEndian(block[14..], counter);
        }

        var stream = aes.EncryptEcb(counters, PaddingMode.None);
        stream.AsSpan(0, output.Length).CopyTo(output);
    }
}
