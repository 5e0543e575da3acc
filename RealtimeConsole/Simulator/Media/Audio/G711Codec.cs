namespace RealtimeConsole.Simulator.Media.Audio;

/// <summary>An audio codec the simulator's peer speaks: the two G.711 laws, as OpenAI's WebRTC answers offer them besides Opus.</summary>
internal sealed class G711Codec
{
    public static readonly G711Codec Pcmu = new("PCMU", 0, Audio.Pcmu.Encode, b => b);

    public static readonly G711Codec Pcma = new("PCMA", 8, Audio.Pcma.Encode, b => Audio.Pcmu.Encode(Audio.Pcma.Decode(b)));

    /// <summary>What the peer can answer with, by encoding name (case-insensitive in SDP).</summary>
    public static readonly IReadOnlyList<G711Codec> Supported = [Pcmu, Pcma];

    private readonly Func<short, byte> _encode;
    private readonly Func<byte, byte> _toPcmu;

    private G711Codec(string name, byte staticPayloadType, Func<short, byte> encode, Func<byte, byte> toPcmu)
    {
        Name = name;
        StaticPayloadType = staticPayloadType;
        _encode = encode;
        _toPcmu = toPcmu;
    }

    public string Name { get; }

    /// <summary>RFC 3551's fixed payload type, used when an offer lists the codec without an rtpmap line.</summary>
    public byte StaticPayloadType { get; }

    public byte Encode(short sample) => _encode(sample);

    /// <summary>One received byte as μ-law, the form the conversation's VAD and input buffer read.</summary>
    public byte ToPcmu(byte encoded) => _toPcmu(encoded);

    public override string ToString() => $"{Name}/8000";
}
