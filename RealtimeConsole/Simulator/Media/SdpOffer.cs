using RealtimeConsole.Simulator.Media.Audio;

namespace RealtimeConsole.Simulator.Media;

/// <summary>The parts of a browser's offer the simulator answers: media sections with their mids, ICE credentials and DTLS fingerprint.</summary>
internal sealed record SdpOffer(IReadOnlyList<SdpMediaSection> Sections, string IceUfrag, string IcePassword, string? Fingerprint)
{
    public static SdpOffer Parse(string sdp)
    {
        // A bare CR ends a line too: split only on LF, it would stay inside a value (a=mid) and be copied into the answer.
        var lines = sdp.Split(['\r', '\n'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0 || lines[0] != "v=0")
        {
            throw new FormatException("The offer is not an SDP document (it must start with v=0).");
        }

        var sections = new List<SdpMediaSection>();
        string? ufrag = null, password = null, fingerprint = null;
        SdpMediaSection? current = null;
        foreach (var line in lines)
        {
            if (line.StartsWith("m=", StringComparison.Ordinal))
            {
                var parts = line[2..].Split(' ');
                current = new SdpMediaSection(parts[0], parts.Length > 2 ? parts[2] : "", [.. parts.Skip(3)]);
                sections.Add(current);
            }
            else if (line.StartsWith("a=mid:", StringComparison.Ordinal) && current is not null)
            {
                current.Mid = line[6..];
            }
            else if (line.StartsWith("a=ice-ufrag:", StringComparison.Ordinal))
            {
                ufrag ??= line[12..];
            }
            else if (line.StartsWith("a=ice-pwd:", StringComparison.Ordinal))
            {
                password ??= line[10..];
            }
            else if (line.StartsWith("a=fingerprint:sha-256 ", StringComparison.OrdinalIgnoreCase))
            {
                fingerprint ??= line[22..];
            }
            else if (line.StartsWith("a=rtpmap:", StringComparison.Ordinal) && current is not null)
            {
                // a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]
                var parts = line[9..].Split(' ', 2);
                if (parts.Length == 2)
                {
                    current.RtpMaps[parts[0]] = parts[1];
                }
            }
            else if (current is not null && line is "a=sendrecv" or "a=sendonly" or "a=recvonly" or "a=inactive")
            {
                current.Direction = line[2..];
            }
        }

        if (sections.Count == 0)
        {
            throw new FormatException("The offer has no media sections: create an 'oai-events' data channel (and an audio track) before createOffer().");
        }

        if (ufrag is null || password is null)
        {
            throw new FormatException("The offer has no ICE credentials (a=ice-ufrag / a=ice-pwd).");
        }

        return new SdpOffer(sections, ufrag, password, fingerprint);
    }
}

internal sealed class SdpMediaSection(string kind, string protocol, IReadOnlyList<string> formats)
{
    public string Kind { get; } = kind;

    public string Protocol { get; } = protocol;

    public IReadOnlyList<string> Formats { get; } = formats;

    public string Mid { get; set; } = "";

    public string Direction { get; set; } = "sendrecv";

    /// <summary>The section's <c>a=rtpmap</c> lines: payload type to encoding (e.g. <c>111</c> to <c>opus/48000/2</c>).</summary>
    public Dictionary<string, string> RtpMaps { get; } = new(StringComparer.Ordinal);

    /// <summary>The section's codecs in the offer's order of preference, named as the rtpmap (or RFC 3551 for 0 and 8) names them.</summary>
    public IEnumerable<(string PayloadType, string Encoding)> OfferedCodecs =>
        Formats.Select(pt => (pt, RtpMaps.GetValueOrDefault(pt) ?? pt switch { "0" => "PCMU/8000", "8" => "PCMA/8000", _ => $"payload {pt}" }));

    /// <summary>
    /// The first codec in the offer's order that the simulator speaks (G.711 at 8 kHz), with the payload type the offer
    /// gave it: the browser's preference decides, as with OpenAI. Null when the offer has none of them.
    /// </summary>
    public (G711Codec Codec, byte PayloadType)? ChooseCodec()
    {
        if (Kind != "audio")
        {
            return null;
        }

        foreach (var (payloadType, encoding) in OfferedCodecs)
        {
            var codec = G711Codec.Supported.FirstOrDefault(c => encoding.Equals($"{c.Name}/8000", StringComparison.OrdinalIgnoreCase)
                || encoding.StartsWith($"{c.Name}/8000/", StringComparison.OrdinalIgnoreCase));
            if (codec is not null && byte.TryParse(payloadType, out var pt) && pt < 128)
            {
                return (codec, pt);
            }
        }

        return null;
    }

    public bool IsAudio => ChooseCodec() is not null;

    public bool IsData => Kind == "application" && Protocol.Contains("SCTP", StringComparison.Ordinal);
}

/// <summary>Writes the ICE-lite answer the map proved with Chromium: passive DTLS, one host candidate, the chosen G.711 codec, SCTP port 5000.</summary>
internal static class SdpAnswer
{
    public static string Build(SdpOffer offer, string ufrag, string password, string fingerprint, int port, uint audioSsrc)
    {
        var served = offer.Sections.Where(s => s.IsAudio || s.IsData).Select(s => s.Mid);
        var sb = new System.Text.StringBuilder();
        void Line(string text) => sb.Append(text).Append("\r\n");
        Line("v=0");
        Line($"o=- {audioSsrc} 2 IN IP4 127.0.0.1");
        Line("s=-");
        Line("t=0 0");
        Line("a=ice-lite");
        Line($"a=group:BUNDLE {string.Join(' ', served)}");
        Line("a=msid-semantic: WMS simulator");
        var audioServed = false;
        var dataServed = false;
        foreach (var section in offer.Sections)
        {
            if (!audioServed && section.ChooseCodec() is var (codec, payloadType))
            {
                audioServed = true;
                Line($"m=audio 9 UDP/TLS/RTP/SAVPF {payloadType}");
                Transport(section);
                Line("a=rtcp-mux");
                Line($"a=rtpmap:{payloadType} {codec}");
                Line(section.Direction switch { "recvonly" => "a=sendonly", "sendonly" => "a=recvonly", "inactive" => "a=inactive", _ => "a=sendrecv" });
                Line("a=msid:simulator simulator-audio");
                Line($"a=ssrc:{audioSsrc} cname:simulator");
            }
            else if (section.IsData && !dataServed)
            {
                dataServed = true;
                Line("m=application 9 UDP/DTLS/SCTP webrtc-datachannel");
                Transport(section);
                Line("a=sctp-port:5000");
                Line("a=max-message-size:262144");
            }
            else
            {
                Line($"m={section.Kind} 0 {section.Protocol} {string.Join(' ', section.Formats)}");
                Line("c=IN IP4 0.0.0.0");
                Line($"a=mid:{section.Mid}");
                Line("a=inactive");
            }
        }

        return sb.ToString();

        void Transport(SdpMediaSection section)
        {
            Line("c=IN IP4 127.0.0.1");
            Line($"a=mid:{section.Mid}");
            Line($"a=ice-ufrag:{ufrag}");
            Line($"a=ice-pwd:{password}");
            Line($"a=fingerprint:sha-256 {fingerprint}");
            Line("a=setup:passive");
            Line($"a=candidate:1 1 udp 2130706431 127.0.0.1 {port} typ host");
            Line("a=end-of-candidates");
        }
    }
}
