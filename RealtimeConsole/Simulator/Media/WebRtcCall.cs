using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Org.BouncyCastle.Tls;
using RealtimeConsole.Simulator.Media.Audio;
using RealtimeConsole.Simulator.Media.Dtls;
using RealtimeConsole.Simulator.Media.Ice;
using RealtimeConsole.Simulator.Media.Realtime;
using RealtimeConsole.Simulator.Media.Sctp;
using RealtimeConsole.Simulator.Media.Srtp;

namespace RealtimeConsole.Simulator.Media;

/// <summary>
/// One browser call: a UDP socket on 127.0.0.1 demultiplexed into STUN (answered ICE-lite style), DTLS (a
/// BouncyCastle server on its own thread, carrying SCTP and the data channel) and SRTP (PCMU or PCMA both ways, as the
/// offer prefers).
/// Everything it owns is released by <see cref="End"/>, whatever the cause.
/// </summary>
internal sealed partial class WebRtcCall : IRealtimeChannel
{
    private const uint PpidDcep = 50;
    private const uint PpidString = 51;
    private const uint PpidStringEmpty = 56;
    private const int FrameBytes = 160;

    private readonly SdpOffer _offer;
    private readonly G711Codec _codec;
    private readonly byte _payloadType;
    private readonly DtlsCertificate _certificate;
    private readonly TimeProvider _time;
    private readonly MediaPeerOptions _options;
    private readonly ILogger _logger;
    private readonly Action<WebRtcCall, string> _onEnded;
    private readonly Socket _socket;
    private readonly CancellationTokenSource _ended = new();
    private readonly QueuedDatagramTransport _transport;
    private readonly SctpAssociation _sctp;
    private readonly RealtimeConversation _conversation;
    private readonly Lock _sendGate = new();
    private readonly Lock _audioGate = new();
    private readonly string _ufrag = RandomToken(8);
    private readonly string _password = RandomToken(24);
    private readonly uint _ssrc = BinaryPrimitives.ReadUInt32BigEndian(RandomNumberGenerator.GetBytes(4));
    private readonly ITimer _connectTimer;
    private readonly ITimer _idleTimer;
    private readonly MediaClock _clock;
    private readonly Action _audioTick;
    private readonly TaskCompletionSource _channelOpen = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private static int s_openSockets;
    private IPEndPoint? _remote;
    private DtlsTransport? _dtls;
    private SrtpContext? _srtpOut;
    private SrtpContext? _srtpIn;
    private Task _receiveLoop = Task.CompletedTask;
    private Task _dtlsLoop = Task.CompletedTask;
    private long _lastHeard;
    private int _eventsStream = -1;
    private int _endedFlag;
    private ushort _sequence;
    private uint _timestamp;
    private int _audioFramesQueued;
    private bool _talking;
    private double _phase;

    public WebRtcCall(string callId, SdpOffer offer, JsonObject session, DtlsCertificate certificate, IRealtimeResponseBudget budget,
        TimeProvider time, MediaClock clock, MediaPeerOptions options, ILogger logger, Action<WebRtcCall, string> onEnded)
    {
        CallId = callId;
        _offer = offer;
        (_codec, _payloadType) = offer.Sections.Select(s => s.ChooseCodec()).FirstOrDefault(c => c is not null) ?? (G711Codec.Pcmu, G711Codec.Pcmu.StaticPayloadType);
        _certificate = certificate;
        _time = time;
        _options = options;
        _logger = logger;
        _onEnded = onEnded;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Interlocked.Increment(ref s_openSockets);
        Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
        _transport = new QueuedDatagramTransport(SendDatagram);
        _sctp = new SctpAssociation(time, SendSctp);
        _sctp.MessageReceived += OnSctpMessage;
        _sctp.StreamReset += OnStreamReset;
        _sctp.Closed += reason => End($"SCTP closed ({reason})");
        _conversation = new RealtimeConversation(session, this, budget, time, options.MaxSessionDuration);
        _connectTimer = time.CreateTimer(_ => { if (!_channelOpen.Task.IsCompleted) End("ICE/DTLS did not complete in time"); }, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _idleTimer = time.CreateTimer(_ => CheckIdle(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _clock = clock;
        _audioTick = SendAudioFrame;
        AnswerSdp = SdpAnswer.Build(offer, _ufrag, _password, certificate.Fingerprint, Port, _ssrc);
    }

    /// <summary>UDP sockets held by calls in this process (the lifecycle tests expect it back at zero).</summary>
    public static int OpenSockets => Volatile.Read(ref s_openSockets);

    public string CallId { get; }

    public int Port { get; }

    public string AnswerSdp { get; }

    /// <summary>The audio codec the answer chose from the offer, e.g. <c>PCMA/8000</c>; null when the call has no audio.</summary>
    public string? Codec => _offer.Sections.Any(s => s.IsAudio) ? _codec.ToString() : null;

    /// <summary>Completes when the call has released everything it held.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    /// <summary>Completes when the <c>oai-events</c> channel is open (used by the benchmark's connect time).</summary>
    public Task ChannelOpen => _channelOpen.Task;

    public RealtimeConversation Conversation => _conversation;

    public long AudioPacketsSent { get; private set; }

    public long AudioPacketsReceived { get; private set; }

    /// <summary>Raised after each audio packet from the caller went into the conversation (tests wait on it instead of a clock).</summary>
    internal event Action? AudioHandled;

    public void Start()
    {
        _lastHeard = _time.GetTimestamp();
        _connectTimer.Change(_options.ConnectTimeout, Timeout.InfiniteTimeSpan);
        var idleCheck = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(1).Ticks, _options.IdleTimeout.Ticks / 4));
        _idleTimer.Change(idleCheck, idleCheck);
        _receiveLoop = Task.Run(ReceiveLoopAsync);
        _dtlsLoop = Task.Factory.StartNew(RunDtls, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Completion = Task.WhenAll(_receiveLoop, _dtlsLoop);
    }

    public void End(string reason)
    {
        if (Interlocked.Exchange(ref _endedFlag, 1) != 0)
        {
            return;
        }

        _connectTimer.Dispose();
        _idleTimer.Dispose();
        lock (_audioGate)
        {
            _clock.Unsubscribe(_audioTick);
        }
        _conversation.Dispose();
        if (_sctp.State == SctpState.Established)
        {
            _sctp.Abort(reason);
        }

        _sctp.Dispose();
        try
        {
            _dtls?.Close();
        }
        catch (IOException)
        {
            // The peer may already be gone; close_notify is best effort.
        }

        _transport.Close();
        _ended.Cancel();
        _socket.Dispose();
        Interlocked.Decrement(ref s_openSockets);
        lock (_audioGate)
        {
            _srtpOut?.Dispose();
        }
        _channelOpen.TrySetException(new IOException($"The call ended before its data channel opened: {reason}"));
        _ = _channelOpen.Task.Exception;
        _onEnded(this, reason);
    }

    void IRealtimeChannel.SendEvent(JsonObject serverEvent)
    {
        if (_eventsStream < 0 || _sctp.State != SctpState.Established)
        {
            return;
        }

        var bytes = Encoding.UTF8.GetBytes(serverEvent.ToJsonString());
        try
        {
            _sctp.Send((ushort)_eventsStream, bytes.Length == 0 ? PpidStringEmpty : PpidString, bytes.Length == 0 ? [0] : bytes);
        }
        catch (InvalidOperationException)
        {
            // The association closed between the check and the send (timer threads race the hang-up); the call is ending.
        }
    }

    void IRealtimeChannel.PlayAudio(int frames)
    {
        lock (_audioGate)
        {
            _audioFramesQueued += frames;
        }
    }

    void IRealtimeChannel.StopAudio()
    {
        lock (_audioGate)
        {
            _audioFramesQueued = 0;
            _talking = false;
        }
    }

    void IRealtimeChannel.Close(string reason) => End(reason);

    private async Task ReceiveLoopAsync()
    {
        try
        {
            await ReceiveDatagramsAsync().ConfigureAwait(false);
        }
        finally
        {
            // The receive loop is the only user of the inbound SRTP context, so it releases it.
            _srtpIn?.Dispose();
        }
    }

    private async Task ReceiveDatagramsAsync()
    {
        var buffer = new byte[2048];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_ended.IsCancellationRequested)
        {
            SocketReceiveFromResult result;
            try
            {
                result = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _ended.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (ex is SocketException { SocketErrorCode: SocketError.ConnectionReset })
                {
                    continue;
                }

                return;
            }

            _lastHeard = _time.GetTimestamp();
            var datagram = buffer.AsSpan(0, result.ReceivedBytes);
            var first = datagram.Length > 0 ? datagram[0] : (byte)255;
            if (first < 4)
            {
                HandleStun(datagram, (IPEndPoint)result.RemoteEndPoint);
            }
            else if (first is >= 20 and <= 63)
            {
                _transport.Deliver(datagram.ToArray());
            }
            else if (first is >= 128 and <= 191)
            {
                HandleRtp(datagram);
            }
        }
    }

    private void HandleStun(ReadOnlySpan<byte> datagram, IPEndPoint from)
    {
        var request = StunMessage.TryParse(datagram);
        if (request is null || request.Type != StunMessage.BindingRequest || !StunMessage.VerifyFingerprint(datagram))
        {
            return;
        }

        if (request.Username != $"{_ufrag}:{_offer.IceUfrag}" || !StunMessage.VerifyIntegrity(datagram, request, _password))
        {
            LogStunRejected(_logger, CallId, request.Username ?? "(none)");
            return;
        }

        _remote ??= from;
        if (request.Find(StunMessage.AttrUseCandidate) is not null)
        {
            _remote = from;
        }

        var response = new StunMessage { Type = StunMessage.BindingSuccess, TransactionId = request.TransactionId };
        response.Attributes.Add((StunMessage.AttrXorMappedAddress, StunMessage.XorMappedAddress(from, request.TransactionId)));
        SendTo(response.Build(_password), from);
    }

    private void HandleRtp(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length < 12 || datagram[1] is >= 192 and <= 223 || _srtpIn is not { } srtp)
        {
            return;
        }

        var rtp = srtp.Unprotect(datagram);
        if (rtp is null || (rtp[1] & 0x7F) != _payloadType)
        {
            return;
        }

        AudioPacketsReceived++;
        var payload = rtp.AsSpan(SrtpContext.RtpHeaderLength(rtp));
        Span<byte> pcmu = stackalloc byte[FrameBytes];
        for (var offset = 0; offset + FrameBytes <= payload.Length; offset += FrameBytes)
        {
            var frame = payload.Slice(offset, FrameBytes);
            for (var i = 0; i < FrameBytes; i++)
            {
                pcmu[i] = _codec.ToPcmu(frame[i]);
            }

            _conversation.HandleInputAudio(pcmu);
        }

        AudioHandled?.Invoke();
    }

    private void RunDtls()
    {
        var server = new SimulatorDtlsServer(_certificate, _offer.Fingerprint);
        try
        {
            var transport = new DtlsServerProtocol().Accept(server, _transport);
            _dtls = transport;
            if (_endedFlag != 0)
            {
                return;
            }

            if (server.SrtpKeying is { Length: 60 } keys)
            {
                // Under the gate End() disposes them under, so a call ending right now never leaves keys behind.
                lock (_audioGate)
                {
                    if (_endedFlag != 0)
                    {
                        return;
                    }

                    _srtpIn = new SrtpContext(keys.AsSpan(0, 16), keys.AsSpan(32, 14));
                    _srtpOut = new SrtpContext(keys.AsSpan(16, 16), keys.AsSpan(46, 14));
                    if (_offer.Sections.Any(s => s.IsAudio))
                    {
                        _clock.Subscribe(_audioTick);
                    }
                }
            }

            var buffer = new byte[transport.GetReceiveLimit()];
            var immediateEmpty = 0;
            while (_endedFlag == 0)
            {
                var asked = _time.GetTimestamp();
                var length = transport.Receive(buffer, 0, buffer.Length, 1000);
                if (length > 0)
                {
                    immediateEmpty = 0;
                    _sctp.Receive(buffer.AsSpan(0, length));
                }
                else if (_time.GetElapsedTime(asked) < TimeSpan.FromMilliseconds(100) && ++immediateEmpty >= 10)
                {
                    // BouncyCastle answers at once with nothing after the peer's close_notify: the browser left.
                    End("the browser closed DTLS");
                }
            }
        }
        catch (Exception ex) when (ex is IOException or TlsException or ObjectDisposedException or InvalidOperationException)
        {
            if (_endedFlag == 0)
            {
                LogDtlsFailed(_logger, CallId, ex.Message);
                End($"DTLS ended: {ex.Message}");
            }
        }
    }

    private void OnSctpMessage(ushort stream, uint ppid, byte[] payload)
    {
        if (ppid == PpidDcep && payload.Length >= 12 && payload[0] == 0x03)
        {
            var labelLength = BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(8));
            var label = Encoding.UTF8.GetString(payload, 12, Math.Min(labelLength, payload.Length - 12));
            _sctp.Send(stream, PpidDcep, [0x02]);
            if (label == "oai-events" && _eventsStream < 0)
            {
                _eventsStream = stream;
                _connectTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                _conversation.Start();
                _channelOpen.TrySetResult();
            }

            return;
        }

        if (stream == _eventsStream && ppid == PpidString)
        {
            _conversation.HandleClientEvent(Encoding.UTF8.GetString(payload));
        }
    }

    private void OnStreamReset(ushort stream)
    {
        _sctp.ResetStream(stream);
        if (stream == _eventsStream)
        {
            End("the data channel was closed");
        }
    }

    private void CheckIdle()
    {
        if (_time.GetElapsedTime(_lastHeard) > _options.IdleTimeout)
        {
            End("the browser went silent (no consent checks)");
        }
    }

    private void SendAudioFrame()
    {
        if (_endedFlag != 0 || _srtpOut is not { } srtp || _remote is null)
        {
            return;
        }

        var packet = new byte[12 + FrameBytes];
        var drained = false;
        lock (_audioGate)
        {
            if (_endedFlag != 0)
            {
                return;
            }

            var speaking = _audioFramesQueued > 0;
            packet[0] = 0x80;
            packet[1] = (byte)((speaking && !_talking ? 0x80 : 0x00) | _payloadType);
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), _sequence++);
            BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(4), _timestamp);
            BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(8), _ssrc);
            _timestamp += FrameBytes;
            for (var i = 0; i < FrameBytes; i++)
            {
                // A 440 Hz tone while the reply plays, silence otherwise: the track is live for the whole call.
                var sample = speaking ? (short)(6000 * Math.Sin(_phase)) : (short)0;
                _phase = (_phase + (2 * Math.PI * 440 / 8000)) % (2 * Math.PI);
                packet[12 + i] = _codec.Encode(sample);
            }

            if (speaking)
            {
                _audioFramesQueued--;
                drained = _audioFramesQueued == 0;
            }

            _talking = speaking && !drained;
            try
            {
                SendTo(srtp.Protect(packet), _remote);
                AudioPacketsSent++;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
        }

        if (drained)
        {
            _conversation.AudioDrained();
        }
    }

    private void SendSctp(byte[] packet)
    {
        lock (_sendGate)
        {
            if (_dtls is { } dtls && _endedFlag == 0)
            {
                try
                {
                    dtls.Send(packet, 0, packet.Length);
                }
                catch (IOException)
                {
                    // The transport is closing; SCTP retransmission or the call's end takes over.
                }
            }
        }
    }

    private void SendDatagram(byte[] datagram)
    {
        if (_remote is { } remote)
        {
            SendTo(datagram, remote);
        }
    }

    private void SendTo(byte[] datagram, IPEndPoint remote)
    {
        try
        {
            _socket.SendTo(datagram, remote);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // UDP is fire and forget; a closed socket means the call is ending.
        }
    }

    private static string RandomToken(int length)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        return string.Create(length, alphabet, (span, a) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = a[RandomNumberGenerator.GetInt32(a.Length)];
            }
        });
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Call {CallId}: STUN check with username {Username} rejected")]
    private static partial void LogStunRejected(ILogger logger, string callId, string username);

    [LoggerMessage(Level = LogLevel.Information, Message = "Call {CallId}: DTLS failed: {Reason}")]
    private static partial void LogDtlsFailed(ILogger logger, string callId, string reason);
}
