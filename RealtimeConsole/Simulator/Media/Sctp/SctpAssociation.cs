using System.Buffers.Binary;
using System.Security.Cryptography;

namespace RealtimeConsole.Simulator.Media.Sctp;

internal enum SctpState
{
    Closed,
    CookieWait,
    CookieEchoed,
    Established,
    ShutdownSent,
    ShutdownAckSent,
}

/// <summary>
/// One SCTP association as WebRTC data channels use it (RFC 4960 over DTLS per RFC 8261): handshake both ways,
/// ordered delivery in TSN order with reassembly, SACKs with gap blocks and duplicates, T3-rtx and fast retransmit,
/// FORWARD-TSN, RE-CONFIG stream reset, SHUTDOWN and ABORT. Timers run on the injected <see cref="TimeProvider"/>.
/// </summary>
internal sealed class SctpAssociation : IDisposable
{
    public const int MaxFragment = 1100;
    public const int MaxRetransmissions = 10;
    public static readonly TimeSpan InitialRto = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxRto = TimeSpan.FromSeconds(10);
    private const uint LocalWindow = 1024 * 1024;
    private const int MaxPacket = 1180;
    private const ushort ParamOutgoingReset = 13;
    private const ushort ParamReconfigResponse = 16;

    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly Action<byte[]> _send;
    private readonly List<Action> _events = [];
    private readonly Dictionary<uint, SctpData> _outOfOrder = [];
    private readonly List<uint> _duplicates = [];
    private readonly Dictionary<ushort, List<SctpData>> _fragments = [];
    private readonly LinkedList<InFlight> _outstanding = new();
    private readonly Queue<SctpData> _pending = new();
    private readonly Dictionary<ushort, ushort> _nextSsn = [];
    private readonly ITimer _t3;
    private readonly uint _localTag;
    private byte[] _cookie = [];
    private byte[]? _handshakeChunk;
    private uint _peerTag;
    private uint _nextTsn;
    private uint _peerCumulativeTsn;
    private uint _peerWindow = LocalWindow;
    private uint _reconfigSequence;
    private TimeSpan _rto = InitialRto;
    private bool _t3Running;
    private int _handshakeAttempts;

    public SctpAssociation(TimeProvider time, Action<byte[]> send)
    {
        _time = time;
        _send = send;
        _localTag = RandomNonZero();
        _nextTsn = RandomNonZero();
        _reconfigSequence = _nextTsn;
        _t3 = time.CreateTimer(_ => OnT3Expired(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public SctpState State { get; private set; } = SctpState.Closed;

    /// <summary>A message fully reassembled: stream, payload protocol id, bytes.</summary>
    public event Action<ushort, uint, byte[]>? MessageReceived;

    public event Action? Established;

    /// <summary>The peer reset its outgoing side of a stream (a data channel closing).</summary>
    public event Action<ushort>? StreamReset;

    /// <summary>The association ended (ABORT, SHUTDOWN finished, or retransmissions exhausted) with a reason.</summary>
    public event Action<string>? Closed;

    public int OutstandingCount
    {
        get
        {
            lock (_gate)
            {
                return _outstanding.Count + _pending.Count;
            }
        }
    }

    public TimeSpan CurrentRto => _rto;

    /// <summary>Client role: sends INIT and retries it on the T1 timer.</summary>
    public void Connect() => Run(() =>
    {
        State = SctpState.CookieWait;
        _handshakeChunk = new SctpInit(_localTag, LocalWindow, 1024, 1024, _nextTsn, LocalExtensions()).ToChunk(SctpChunkType.Init).Value;
        SendChunks(0, new SctpChunk(SctpChunkType.Init, 0, _handshakeChunk));
        StartT3();
    });

    public void Receive(ReadOnlySpan<byte> datagram)
    {
        var packet = SctpPacket.TryParse(datagram);
        if (packet is null)
        {
            return;
        }

        Run(() => Handle(packet));
    }

    /// <summary>Queues a message on a stream, fragmenting it into DATA chunks.</summary>
    public void Send(ushort streamId, uint ppid, ReadOnlySpan<byte> payload, bool unordered = false)
    {
        var bytes = payload.ToArray();
        Run(() =>
        {
            if (State != SctpState.Established)
            {
                throw new InvalidOperationException("The SCTP association is not established.");
            }

            ushort ssn = 0;
            if (!unordered)
            {
                ssn = _nextSsn.GetValueOrDefault(streamId);
                _nextSsn[streamId] = (ushort)(ssn + 1);
            }

            var count = Math.Max(1, (bytes.Length + MaxFragment - 1) / MaxFragment);
            for (var i = 0; i < count; i++)
            {
                var slice = bytes.AsSpan(i * MaxFragment, Math.Min(MaxFragment, bytes.Length - (i * MaxFragment))).ToArray();
                var flags = (byte)((i == 0 ? SctpData.FlagBegin : 0) | (i == count - 1 ? SctpData.FlagEnd : 0) | (unordered ? SctpData.FlagUnordered : 0));
                _pending.Enqueue(new SctpData(_nextTsn++, streamId, ssn, ppid, flags, slice));
            }

            Flush();
        });
    }

    /// <summary>Resets our outgoing side of a stream (RFC 6525), as closing a data channel does.</summary>
    public void ResetStream(ushort streamId) => Run(() =>
    {
        if (State != SctpState.Established)
        {
            return;
        }

        _nextSsn.Remove(streamId);
        SendChunks(_peerTag, new SctpChunk(SctpChunkType.Reconfig, 0, OutgoingResetParameter(_reconfigSequence++, streamId)));
    });

    public void Shutdown() => Run(() =>
    {
        if (State != SctpState.Established)
        {
            return;
        }

        State = SctpState.ShutdownSent;
        _handshakeAttempts = 0;
        SendShutdown();
        StartT3();
    });

    public void Abort(string reason) => Run(() =>
    {
        if (State is SctpState.Established or SctpState.CookieEchoed or SctpState.CookieWait)
        {
            SendChunks(_peerTag, new SctpChunk(SctpChunkType.Abort, 0, []));
        }

        Close(reason);
    });

    public void Dispose()
    {
        lock (_gate)
        {
            State = SctpState.Closed;
            _t3.Dispose();
        }
    }

    private void Run(Action body)
    {
        Action[] raise;
        lock (_gate)
        {
            body();
            raise = [.. _events];
            _events.Clear();
        }

        foreach (var e in raise)
        {
            e();
        }
    }

    private void Handle(SctpPacket packet)
    {
        var sawData = false;
        foreach (var chunk in packet.Chunks)
        {
            switch (chunk.Type)
            {
                case SctpChunkType.Init:
                    OnInit(SctpInit.Read(chunk));
                    break;
                case SctpChunkType.InitAck:
                    OnInitAck(SctpInit.Read(chunk));
                    break;
                case SctpChunkType.CookieEcho:
                    OnCookieEcho(chunk.Value);
                    break;
                case SctpChunkType.CookieAck when State == SctpState.CookieEchoed:
                    StopT3();
                    BecomeEstablished();
                    break;
                case SctpChunkType.Data when State is SctpState.Established or SctpState.ShutdownSent:
                    OnData(SctpData.Read(chunk));
                    sawData = true;
                    break;
                case SctpChunkType.Sack when State is SctpState.Established or SctpState.ShutdownSent:
                    OnSack(SctpSack.Read(chunk));
                    break;
                case SctpChunkType.Heartbeat:
                    SendChunks(_peerTag, new SctpChunk(SctpChunkType.HeartbeatAck, 0, chunk.Value));
                    break;
                case SctpChunkType.ForwardTsn when State == SctpState.Established:
                    OnForwardTsn(BinaryPrimitives.ReadUInt32BigEndian(chunk.Value));
                    sawData = true;
                    break;
                case SctpChunkType.Reconfig when State == SctpState.Established:
                    OnReconfig(chunk.Value);
                    break;
                case SctpChunkType.Abort:
                    Close("peer aborted");
                    return;
                case SctpChunkType.Shutdown when State is SctpState.Established or SctpState.ShutdownSent:
                    State = SctpState.ShutdownAckSent;
                    SendChunks(_peerTag, new SctpChunk(SctpChunkType.ShutdownAck, 0, []));
                    break;
                case SctpChunkType.ShutdownAck:
                    SendChunks(_peerTag, new SctpChunk(SctpChunkType.ShutdownComplete, 0, []));
                    Close("shutdown");
                    return;
                case SctpChunkType.ShutdownComplete:
                    Close("shutdown");
                    return;
            }
        }

        if (sawData)
        {
            SendChunks(_peerTag, BuildSack());
        }
    }

    private void OnInit(SctpInit init)
    {
        _peerTag = init.InitiateTag;
        _peerCumulativeTsn = init.InitialTsn - 1;
        _peerWindow = init.ReceiverWindow;
        _cookie = RandomNumberGenerator.GetBytes(32);
        var ack = new SctpInit(_localTag, LocalWindow, init.InboundStreams, init.OutboundStreams, _nextTsn,
            [(SctpInit.ParamStateCookie, _cookie), .. LocalExtensions()]);
        SendChunks(_peerTag, ack.ToChunk(SctpChunkType.InitAck));
    }

    private void OnInitAck(SctpInit ack)
    {
        if (State != SctpState.CookieWait)
        {
            return;
        }

        _peerTag = ack.InitiateTag;
        _peerCumulativeTsn = ack.InitialTsn - 1;
        _peerWindow = ack.ReceiverWindow;
        _cookie = ack.Parameters.FirstOrDefault(p => p.Type == SctpInit.ParamStateCookie).Value ?? [];
        State = SctpState.CookieEchoed;
        _handshakeChunk = _cookie;
        SendChunks(_peerTag, new SctpChunk(SctpChunkType.CookieEcho, 0, _cookie));
        _handshakeAttempts = 0;
        StartT3();
    }

    private void OnCookieEcho(byte[] cookie)
    {
        if (_cookie.Length == 0 || !CryptographicOperations.FixedTimeEquals(cookie, _cookie))
        {
            return;
        }

        SendChunks(_peerTag, new SctpChunk(SctpChunkType.CookieAck, 0, []));
        if (State != SctpState.Established)
        {
            BecomeEstablished();
        }
    }

    private void BecomeEstablished()
    {
        State = SctpState.Established;
        _handshakeChunk = null;
        _events.Add(() => Established?.Invoke());
    }

    private void OnData(SctpData data)
    {
        if (!After(data.Tsn, _peerCumulativeTsn) || _outOfOrder.ContainsKey(data.Tsn))
        {
            _duplicates.Add(data.Tsn);
            return;
        }

        _outOfOrder[data.Tsn] = data;
        while (_outOfOrder.Remove(_peerCumulativeTsn + 1, out var next))
        {
            _peerCumulativeTsn++;
            Deliver(next);
        }
    }

    private void Deliver(SctpData data)
    {
        if (data.Begin)
        {
            _fragments[data.StreamId] = [];
        }

        if (!_fragments.TryGetValue(data.StreamId, out var parts))
        {
            return;
        }

        parts.Add(data);
        if (!data.End)
        {
            return;
        }

        _fragments.Remove(data.StreamId);
        var message = parts.Count == 1 ? parts[0].Payload : parts.SelectMany(p => p.Payload).ToArray();
        var (stream, ppid) = (data.StreamId, data.Ppid);
        _events.Add(() => MessageReceived?.Invoke(stream, ppid, message));
    }

    private void OnForwardTsn(uint newCumulative)
    {
        if (!After(newCumulative, _peerCumulativeTsn))
        {
            return;
        }

        // Abandoned messages are dropped whole: partial reassembly is discarded, later buffered chunks stay.
        foreach (var tsn in _outOfOrder.Keys.Where(t => !After(t, newCumulative)).ToList())
        {
            _outOfOrder.Remove(tsn);
        }

        _fragments.Clear();
        _peerCumulativeTsn = newCumulative;
        while (_outOfOrder.Remove(_peerCumulativeTsn + 1, out var next))
        {
            _peerCumulativeTsn++;
            Deliver(next);
        }
    }

    private SctpChunk BuildSack()
    {
        var gaps = new List<(ushort, ushort)>();
        foreach (var offset in _outOfOrder.Keys.Select(t => t - _peerCumulativeTsn).Order())
        {
            if (gaps.Count > 0 && gaps[^1].Item2 + 1 == offset)
            {
                gaps[^1] = (gaps[^1].Item1, (ushort)offset);
            }
            else
            {
                gaps.Add(((ushort)offset, (ushort)offset));
            }
        }

        var buffered = (uint)_outOfOrder.Values.Sum(d => d.Payload.Length);
        var sack = new SctpSack(_peerCumulativeTsn, LocalWindow - Math.Min(buffered, LocalWindow), gaps, [.. _duplicates]);
        _duplicates.Clear();
        return sack.ToChunk();
    }

    private void OnSack(SctpSack sack)
    {
        var advanced = false;
        while (_outstanding.First is { } first && !After(first.Value.Data.Tsn, sack.CumulativeTsn))
        {
            _outstanding.RemoveFirst();
            advanced = true;
        }

        uint highestGapAcked = sack.CumulativeTsn;
        foreach (var (start, end) in sack.Gaps)
        {
            for (var node = _outstanding.First; node is not null; node = node.Next)
            {
                var offset = node.Value.Data.Tsn - sack.CumulativeTsn;
                if (offset >= start && offset <= end)
                {
                    node.Value.GapAcked = true;
                    highestGapAcked = After(node.Value.Data.Tsn, highestGapAcked) ? node.Value.Data.Tsn : highestGapAcked;
                }
            }
        }

        var fastRetransmit = new List<SctpChunk>();
        foreach (var item in _outstanding.Where(i => !i.GapAcked && After(highestGapAcked, i.Data.Tsn)))
        {
            if (++item.MissIndications == 3)
            {
                item.Retransmissions++;
                fastRetransmit.Add(item.Data.ToChunk());
            }
        }

        SendBundled(fastRetransmit);
        var inFlight = (uint)_outstanding.Where(i => !i.GapAcked).Sum(i => i.Data.Payload.Length);
        _peerWindow = sack.ReceiverWindow > inFlight ? sack.ReceiverWindow - inFlight : 0;
        if (advanced)
        {
            _rto = InitialRto;
        }

        if (_outstanding.Count == 0)
        {
            StopT3();
        }
        else if (advanced)
        {
            StartT3();
        }

        Flush();
    }

    private void OnReconfig(byte[] value)
    {
        foreach (var (type, body) in SctpParameters.Read(value))
        {
            if (type != ParamOutgoingReset || body.Length < 12)
            {
                continue;
            }

            var requestSequence = BinaryPrimitives.ReadUInt32BigEndian(body);
            var response = new byte[8];
            BinaryPrimitives.WriteUInt32BigEndian(response, requestSequence);
            BinaryPrimitives.WriteUInt32BigEndian(response.AsSpan(4), 1);
            SendChunks(_peerTag, new SctpChunk(SctpChunkType.Reconfig, 0, SctpParameters.Write([(ParamReconfigResponse, response)])));
            for (var offset = 12; offset + 2 <= body.Length; offset += 2)
            {
                var stream = BinaryPrimitives.ReadUInt16BigEndian(body.AsSpan(offset));
                _fragments.Remove(stream);
                _events.Add(() => StreamReset?.Invoke(stream));
            }
        }
    }

    private byte[] OutgoingResetParameter(uint requestSequence, ushort streamId)
    {
        var body = new byte[14];
        BinaryPrimitives.WriteUInt32BigEndian(body, requestSequence);
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(4), requestSequence);
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(8), _nextTsn - 1);
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(12), streamId);
        return SctpParameters.Write([(ParamOutgoingReset, body)]);
    }

    private void Flush()
    {
        var batch = new List<SctpChunk>();
        while (_pending.TryPeek(out var next) && (_outstanding.Count == 0 || next.Payload.Length <= _peerWindow))
        {
            _pending.Dequeue();
            _outstanding.AddLast(new InFlight(next));
            _peerWindow = _peerWindow > (uint)next.Payload.Length ? _peerWindow - (uint)next.Payload.Length : 0;
            batch.Add(next.ToChunk());
        }

        SendBundled(batch);
        if (batch.Count > 0 && !_t3Running)
        {
            StartT3();
        }
    }

    private void SendBundled(List<SctpChunk> chunks)
    {
        var packet = new List<SctpChunk>();
        var size = 12;
        foreach (var chunk in chunks)
        {
            var chunkSize = (4 + chunk.Value.Length + 3) & ~3;
            if (packet.Count > 0 && size + chunkSize > MaxPacket)
            {
                SendChunks(_peerTag, [.. packet]);
                packet.Clear();
                size = 12;
            }

            packet.Add(chunk);
            size += chunkSize;
        }

        if (packet.Count > 0)
        {
            SendChunks(_peerTag, [.. packet]);
        }
    }

    private void OnT3Expired()
    {
        Run(() =>
        {
            _t3Running = false;
            if (State is SctpState.CookieWait or SctpState.CookieEchoed && _handshakeChunk is not null)
            {
                if (++_handshakeAttempts > MaxRetransmissions)
                {
                    Close("handshake timed out");
                    return;
                }

                var type = State == SctpState.CookieWait ? SctpChunkType.Init : SctpChunkType.CookieEcho;
                SendChunks(type == SctpChunkType.Init ? 0 : _peerTag, new SctpChunk(type, 0, _handshakeChunk));
                BackOff();
                StartT3();
                return;
            }

            if (State == SctpState.ShutdownSent)
            {
                // T2-shutdown: resend SHUTDOWN until the peer acknowledges or the retry budget runs out.
                if (++_handshakeAttempts > MaxRetransmissions)
                {
                    Close("shutdown timed out");
                    return;
                }

                SendShutdown();
                BackOff();
                StartT3();
                return;
            }

            if (State != SctpState.Established || _outstanding.Count == 0)
            {
                return;
            }

            var resend = new List<SctpChunk>();
            foreach (var item in _outstanding.Where(i => !i.GapAcked))
            {
                if (++item.Retransmissions > MaxRetransmissions)
                {
                    SendChunks(_peerTag, new SctpChunk(SctpChunkType.Abort, 0, []));
                    Close("retransmission limit reached");
                    return;
                }

                item.MissIndications = 0;
                resend.Add(item.Data.ToChunk());
            }

            SendBundled(resend);
            BackOff();
            StartT3();
        });
    }

    private void SendShutdown()
    {
        var v = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(v, _peerCumulativeTsn);
        SendChunks(_peerTag, new SctpChunk(SctpChunkType.Shutdown, 0, v));
    }

    private void BackOff() => _rto = TimeSpan.FromTicks(Math.Min(_rto.Ticks * 2, MaxRto.Ticks));

    private void StartT3()
    {
        _t3Running = true;
        _t3.Change(_rto, Timeout.InfiniteTimeSpan);
    }

    private void StopT3()
    {
        _t3Running = false;
        _t3.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    private void Close(string reason)
    {
        if (State == SctpState.Closed)
        {
            return;
        }

        State = SctpState.Closed;
        StopT3();
        _outstanding.Clear();
        _pending.Clear();
        _events.Add(() => Closed?.Invoke(reason));
    }

    private void SendChunks(uint tag, params SctpChunk[] chunks) =>
        _send(new SctpPacket { VerificationTag = tag, Chunks = [.. chunks] }.Build());

    private static List<(ushort, byte[])> LocalExtensions() =>
        [(SctpInit.ParamSupportedExtensions, [(byte)SctpChunkType.Reconfig, (byte)SctpChunkType.ForwardTsn]), (SctpInit.ParamForwardTsnSupported, [])];

    private static bool After(uint a, uint b) => a != b && a - b < 0x80000000u;

    private static uint RandomNonZero()
    {
        uint value;
        do
        {
            value = BinaryPrimitives.ReadUInt32BigEndian(RandomNumberGenerator.GetBytes(4));
        }
        while (value == 0);
        return value;
    }

    private sealed class InFlight(SctpData data)
    {
        public SctpData Data { get; } = data;

        public bool GapAcked { get; set; }

        public int MissIndications { get; set; }

        public int Retransmissions { get; set; }
    }
}
