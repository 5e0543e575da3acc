using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace RealtimeConsole.Simulator.Media.Ice;

/// <summary>A STUN message (RFC 5389) reduced to what an ICE-lite peer reads and writes: Binding requests and responses.</summary>
internal sealed class StunMessage
{
    public const ushort BindingRequest = 0x0001;
    public const ushort BindingSuccess = 0x0101;
    public const ushort AttrUsername = 0x0006;
    public const ushort AttrMessageIntegrity = 0x0008;
    public const ushort AttrXorMappedAddress = 0x0020;
    public const ushort AttrPriority = 0x0024;
    public const ushort AttrUseCandidate = 0x0025;
    public const ushort AttrFingerprint = 0x8028;
    public const ushort AttrIceControlled = 0x8029;
    public const ushort AttrIceControlling = 0x802A;
    public const uint MagicCookie = 0x2112A442;
    private const uint FingerprintXor = 0x5354554e;
    private const int HeaderLength = 20;

    public ushort Type { get; init; }

    public byte[] TransactionId { get; init; } = new byte[12];

    public List<(ushort Type, byte[] Value)> Attributes { get; } = [];

    /// <summary>Offset of the MESSAGE-INTEGRITY attribute in the parsed datagram, or -1.</summary>
    public int IntegrityOffset { get; private set; } = -1;

    public string? Username => Find(AttrUsername) is { } v ? Encoding.UTF8.GetString(v) : null;

    public byte[]? Find(ushort type) => Attributes.FirstOrDefault(a => a.Type == type).Value;

    /// <summary>True when the first byte says STUN (RFC 7983 demultiplexing: 0..3).</summary>
    public static bool LooksLikeStun(ReadOnlySpan<byte> datagram) =>
        datagram.Length >= HeaderLength && datagram[0] < 4 && BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) == MagicCookie;

    public static StunMessage? TryParse(ReadOnlySpan<byte> datagram)
    {
        if (!LooksLikeStun(datagram))
        {
            return null;
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        if (length + HeaderLength != datagram.Length || (length & 3) != 0)
        {
            return null;
        }

        var message = new StunMessage
        {
            Type = BinaryPrimitives.ReadUInt16BigEndian(datagram),
            TransactionId = datagram.Slice(8, 12).ToArray(),
        };
        var offset = HeaderLength;
        while (offset + 4 <= datagram.Length)
        {
            var type = BinaryPrimitives.ReadUInt16BigEndian(datagram[offset..]);
            var attrLength = BinaryPrimitives.ReadUInt16BigEndian(datagram[(offset + 2)..]);
            if (offset + 4 + attrLength > datagram.Length)
            {
                return null;
            }

            if (type == AttrMessageIntegrity && message.IntegrityOffset < 0)
            {
                message.IntegrityOffset = offset;
            }

            message.Attributes.Add((type, datagram.Slice(offset + 4, attrLength).ToArray()));
            offset += 4 + ((attrLength + 3) & ~3);
        }

        return message;
    }

    /// <summary>Checks MESSAGE-INTEGRITY: HMAC-SHA1 over the header (length ending at the attribute) and the attributes before it.</summary>
    public static bool VerifyIntegrity(ReadOnlySpan<byte> datagram, StunMessage message, string password)
    {
        if (message.IntegrityOffset < 0 || message.Find(AttrMessageIntegrity) is not { Length: 20 } received)
        {
            return false;
        }

        var covered = datagram[..message.IntegrityOffset].ToArray();
        BinaryPrimitives.WriteUInt16BigEndian(covered.AsSpan(2), (ushort)(message.IntegrityOffset - HeaderLength + 24));
        var expected = HMACSHA1.HashData(Encoding.UTF8.GetBytes(password), covered);
        return CryptographicOperations.FixedTimeEquals(expected, received);
    }

    /// <summary>Checks FINGERPRINT when present; a message without one passes.</summary>
    public static bool VerifyFingerprint(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length < HeaderLength + 8)
        {
            return false;
        }

        var tail = datagram[^8..];
        if (BinaryPrimitives.ReadUInt16BigEndian(tail) != AttrFingerprint)
        {
            return true;
        }

        var expected = Crc32.Ieee.Compute(datagram[..^8]) ^ FingerprintXor;
        return BinaryPrimitives.ReadUInt32BigEndian(tail[4..]) == expected;
    }

    /// <summary>Serialises the message, appending MESSAGE-INTEGRITY (when a password is given) and FINGERPRINT.</summary>
    public byte[] Build(string? integrityPassword, bool fingerprint = true)
    {
        using var stream = new MemoryStream();
        Span<byte> header = stackalloc byte[HeaderLength];
        BinaryPrimitives.WriteUInt16BigEndian(header, Type);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], MagicCookie);
        TransactionId.CopyTo(header[8..]);
        stream.Write(header);
        foreach (var (type, value) in Attributes)
        {
            WriteAttribute(stream, type, value);
        }

        if (integrityPassword is not null)
        {
            var buffer = stream.ToArray();
            BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(2), (ushort)(buffer.Length - HeaderLength + 24));
            WriteAttribute(stream, AttrMessageIntegrity, HMACSHA1.HashData(Encoding.UTF8.GetBytes(integrityPassword), buffer));
        }

        if (fingerprint)
        {
            var buffer = stream.ToArray();
            BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(2), (ushort)(buffer.Length - HeaderLength + 8));
            var crc = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32.Ieee.Compute(buffer) ^ FingerprintXor);
            WriteAttribute(stream, AttrFingerprint, crc);
        }

        var result = stream.ToArray();
        BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(2), (ushort)(result.Length - HeaderLength));
        return result;
    }

    public static byte[] XorMappedAddress(IPEndPoint endPoint, ReadOnlySpan<byte> transactionId)
    {
        var address = endPoint.Address.GetAddressBytes();
        var value = new byte[4 + address.Length];
        value[1] = address.Length == 4 ? (byte)1 : (byte)2;
        BinaryPrimitives.WriteUInt16BigEndian(value.AsSpan(2), (ushort)(endPoint.Port ^ (MagicCookie >> 16)));
        Span<byte> mask = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(mask, MagicCookie);
        transactionId.CopyTo(mask[4..]);
        for (var i = 0; i < address.Length; i++)
        {
            value[4 + i] = (byte)(address[i] ^ mask[i]);
        }

        return value;
    }

    public static IPEndPoint ReadXorMappedAddress(ReadOnlySpan<byte> value, ReadOnlySpan<byte> transactionId)
    {
        var port = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(value[2..]) ^ (MagicCookie >> 16));
        Span<byte> mask = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(mask, MagicCookie);
        transactionId.CopyTo(mask[4..]);
        var address = new byte[value[1] == 1 ? 4 : 16];
        for (var i = 0; i < address.Length; i++)
        {
            address[i] = (byte)(value[4 + i] ^ mask[i]);
        }

        return new IPEndPoint(new IPAddress(address), port);
    }

    private static void WriteAttribute(Stream stream, ushort type, ReadOnlySpan<byte> value)
    {
        Span<byte> head = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16BigEndian(head, type);
        BinaryPrimitives.WriteUInt16BigEndian(head[2..], (ushort)value.Length);
        stream.Write(head);
        stream.Write(value);
        var pad = (4 - (value.Length & 3)) & 3;
        for (var i = 0; i < pad; i++)
        {
            stream.WriteByte(0);
        }
    }
}
