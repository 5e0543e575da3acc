using System.Buffers.Binary;
using RealtimeConsole.Simulator.Media.Ice;

namespace RealtimeConsole.Simulator.Media.Sctp;

internal enum SctpChunkType : byte
{
    Data = 0,
    Init = 1,
    InitAck = 2,
    Sack = 3,
    Heartbeat = 4,
    HeartbeatAck = 5,
    Abort = 6,
    Shutdown = 7,
    ShutdownAck = 8,
    Error = 9,
    CookieEcho = 10,
    CookieAck = 11,
    ShutdownComplete = 14,
    Reconfig = 130,
    ForwardTsn = 192,
}

internal sealed record SctpChunk(SctpChunkType Type, byte Flags, byte[] Value);

/// <summary>An SCTP common header plus chunks (RFC 4960 §3), checksummed with CRC-32c as RFC 8261 requires over DTLS.</summary>
internal sealed class SctpPacket
{
    public ushort SourcePort { get; init; } = 5000;

    public ushort DestinationPort { get; init; } = 5000;

    public uint VerificationTag { get; init; }

    public List<SctpChunk> Chunks { get; init; } = [];

    public static SctpPacket? TryParse(ReadOnlySpan<byte> data)
    {
        if (data.Length < 12)
        {
            return null;
        }

        var copy = data.ToArray();
        var checksum = BinaryPrimitives.ReadUInt32LittleEndian(copy.AsSpan(8));
        copy.AsSpan(8, 4).Clear();
        if (Crc32.Castagnoli.Compute(copy) != checksum)
        {
            return null;
        }

        var packet = new SctpPacket
        {
            SourcePort = BinaryPrimitives.ReadUInt16BigEndian(data),
            DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(data[2..]),
            VerificationTag = BinaryPrimitives.ReadUInt32BigEndian(data[4..]),
        };
        var offset = 12;
        while (offset + 4 <= data.Length)
        {
            var length = BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 2)..]);
            if (length < 4 || offset + length > data.Length)
            {
                return null;
            }

            packet.Chunks.Add(new SctpChunk((SctpChunkType)data[offset], data[offset + 1], data.Slice(offset + 4, length - 4).ToArray()));
            offset += (length + 3) & ~3;
        }

        return packet;
    }

    public byte[] Build()
    {
        var size = 12 + Chunks.Sum(c => (4 + c.Value.Length + 3) & ~3);
        var buffer = new byte[size];
        BinaryPrimitives.WriteUInt16BigEndian(buffer, SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(2), DestinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(4), VerificationTag);
        var offset = 12;
        foreach (var chunk in Chunks)
        {
            buffer[offset] = (byte)chunk.Type;
            buffer[offset + 1] = chunk.Flags;
            BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(offset + 2), (ushort)(4 + chunk.Value.Length));
            chunk.Value.CopyTo(buffer, offset + 4);
            offset += (4 + chunk.Value.Length + 3) & ~3;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(8), Crc32.Castagnoli.Compute(buffer));
        return buffer;
    }
}

/// <summary>A DATA chunk's fields (RFC 4960 §3.3.1).</summary>
internal sealed record SctpData(uint Tsn, ushort StreamId, ushort StreamSequence, uint Ppid, byte Flags, byte[] Payload)
{
    public const byte FlagEnd = 0x01;
    public const byte FlagBegin = 0x02;
    public const byte FlagUnordered = 0x04;

    public bool Begin => (Flags & FlagBegin) != 0;

    public bool End => (Flags & FlagEnd) != 0;

    public static SctpData Read(SctpChunk chunk)
    {
        var v = chunk.Value;
        return new SctpData(
            BinaryPrimitives.ReadUInt32BigEndian(v),
            BinaryPrimitives.ReadUInt16BigEndian(v.AsSpan(4)),
            BinaryPrimitives.ReadUInt16BigEndian(v.AsSpan(6)),
            BinaryPrimitives.ReadUInt32BigEndian(v.AsSpan(8)),
            chunk.Flags,
            v.AsSpan(12).ToArray());
    }

    public SctpChunk ToChunk()
    {
        var v = new byte[12 + Payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(v, Tsn);
        BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(4), StreamId);
        BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(6), StreamSequence);
        BinaryPrimitives.WriteUInt32BigEndian(v.AsSpan(8), Ppid);
        Payload.CopyTo(v, 12);
        return new SctpChunk(SctpChunkType.Data, Flags, v);
    }
}

/// <summary>A SACK's fields (RFC 4960 §3.3.4); gap blocks are offsets from the cumulative TSN.</summary>
internal sealed record SctpSack(uint CumulativeTsn, uint ReceiverWindow, IReadOnlyList<(ushort Start, ushort End)> Gaps, IReadOnlyList<uint> Duplicates)
{
    public static SctpSack Read(SctpChunk chunk)
    {
        var v = chunk.Value;
        var gapCount = BinaryPrimitives.ReadUInt16BigEndian(v.AsSpan(8));
        var dupCount = BinaryPrimitives.ReadUInt16BigEndian(v.AsSpan(10));
        var gaps = new List<(ushort, ushort)>();
        var offset = 12;
        for (var i = 0; i < gapCount && offset + 4 <= v.Length; i++, offset += 4)
        {
            gaps.Add((BinaryPrimitives.ReadUInt16BigEndian(v.AsSpan(offset)), BinaryPrimitives.ReadUInt16BigEndian(v.AsSpan(offset + 2))));
        }

        var dups = new List<uint>();
        for (var i = 0; i < dupCount && offset + 4 <= v.Length; i++, offset += 4)
        {
            dups.Add(BinaryPrimitives.ReadUInt32BigEndian(v.AsSpan(offset)));
        }

        return new SctpSack(BinaryPrimitives.ReadUInt32BigEndian(v), BinaryPrimitives.ReadUInt32BigEndian(v.AsSpan(4)), gaps, dups);
    }

    public SctpChunk ToChunk()
    {
        var v = new byte[12 + (4 * Gaps.Count) + (4 * Duplicates.Count)];
        BinaryPrimitives.WriteUInt32BigEndian(v, CumulativeTsn);
        BinaryPrimitives.WriteUInt32BigEndian(v.AsSpan(4), ReceiverWindow);
        BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(8), (ushort)Gaps.Count);
        BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(10), (ushort)Duplicates.Count);
        var offset = 12;
        foreach (var (start, end) in Gaps)
        {
            BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(offset), start);
            BinaryPrimitives.WriteUInt16BigEndian(v.AsSpan(offset + 2), end);
            offset += 4;
        }

        foreach (var dup in Duplicates)
        {
            BinaryPrimitives.WriteUInt32BigEndian(v.AsSpan(offset), dup);
            offset += 4;
        }

        return new SctpChunk(SctpChunkType.Sack, 0, v);
    }
}

/// <summary>INIT / INIT-ACK fixed fields plus variable parameters (type, value).</summary>
internal sealed record SctpInit(uint InitiateTag, uint ReceiverWindow, ushort OutboundStreams, ushort InboundStreams, uint InitialTsn, IReadOnlyList<(ushort Type, byte[] Value)> Parameters)
{
    public const ushort ParamStateCookie = 7;
    public const ushort ParamSupportedExtensions = 0x8008;
    public const ushort ParamForwardTsnSupported = 0xC000;

    public static SctpInit Read(SctpChunk chunk)
    {
        var v = chunk.Value;
        return new SctpInit(
            BinaryPrimitives.ReadUInt32BigEndian(v),
            BinaryPrimitives.ReadUInt32BigEndian(v.AsSpan(4)),
            BinaryPrimitives.ReadUInt16BigEndian(v.AsSpan(8)),
            BinaryPrimitives.ReadUInt16BigEndian(v.AsSpan(10)),
            BinaryPrimitives.ReadUInt32BigEndian(v.AsSpan(12)),
            SctpParameters.Read(v.AsSpan(16)));
    }

    public SctpChunk ToChunk(SctpChunkType type)
    {
        var head = new byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(head, InitiateTag);
        BinaryPrimitives.WriteUInt32BigEndian(head.AsSpan(4), ReceiverWindow);
        BinaryPrimitives.WriteUInt16BigEndian(head.AsSpan(8), OutboundStreams);
        BinaryPrimitives.WriteUInt16BigEndian(head.AsSpan(10), InboundStreams);
        BinaryPrimitives.WriteUInt32BigEndian(head.AsSpan(12), InitialTsn);
        return new SctpChunk(type, 0, [.. head, .. SctpParameters.Write(Parameters)]);
    }
}

internal static class SctpParameters
{
    public static List<(ushort Type, byte[] Value)> Read(ReadOnlySpan<byte> data)
    {
        var result = new List<(ushort, byte[])>();
        var offset = 0;
        while (offset + 4 <= data.Length)
        {
            var type = BinaryPrimitives.ReadUInt16BigEndian(data[offset..]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(data[(offset + 2)..]);
            if (length < 4 || offset + length > data.Length)
            {
                break;
            }

            result.Add((type, data.Slice(offset + 4, length - 4).ToArray()));
            offset += (length + 3) & ~3;
        }

        return result;
    }

    public static byte[] Write(IEnumerable<(ushort Type, byte[] Value)> parameters)
    {
        using var stream = new MemoryStream();
        Span<byte> head = stackalloc byte[4];
        foreach (var (type, value) in parameters)
        {
            BinaryPrimitives.WriteUInt16BigEndian(head, type);
            BinaryPrimitives.WriteUInt16BigEndian(head[2..], (ushort)(4 + value.Length));
            stream.Write(head);
            stream.Write(value);
            for (var pad = (4 - (value.Length & 3)) & 3; pad > 0; pad--)
            {
                stream.WriteByte(0);
            }
        }

        return stream.ToArray();
    }
}
