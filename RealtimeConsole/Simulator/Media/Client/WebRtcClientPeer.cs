using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Org.BouncyCastle.Tls;
using RealtimeConsole.Simulator.Media.Dtls;
using RealtimeConsole.Simulator.Media.Ice;
using RealtimeConsole.Simulator.Media.Sctp;
using RealtimeConsole.Simulator.Media.Srtp;

namespace RealtimeConsole.Simulator.Media.Client;

/// <summary>
/// A browser stand-in in C#: offers audio plus a data channel, runs ICE as the controlling agent, DTLS as client,
/// opens <c>oai-events</c> over SCTP and counts the SRTP audio it receives (losses by sequence gaps).
/// Used by the media benchmark and the lifecycle tests so neither needs a browser.
/// </summary>
internal sealed class WebRtcClientPeer : IAsyncDisposable
{
    private readonly DtlsCertificate _certificate;
    private readonly TimeProvider _time;
    private readonly Socket _socket;
    private readonly string _ufrag = Token(8);
    private readonly string _password = Token(24);
    private readonly CancellationTokenSource _closed = new();
    private readonly QueuedDatagramTransport _transport;
    private readonly SctpAssociation _sctp;
    private readonly Lock _sendGate = new();
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stunAnswered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<JsonObject> _events = Channel.CreateUnbounded<JsonObject>();
    private IPEndPoint? _remote;
    private DtlsTransport? _dtls;
    private SrtpContext? _srtpIn;
    private SrtpContext? _srtpOut;
    private ITimer? _microphone;
    private ushort _micSequence;
    private Task _receiveLoop = Task.CompletedTask;
    private Task _dtlsLoop = Task.CompletedTask;
    private int _lastSequence = -1;
    private int _disposed;

    public WebRtcClientPeer(DtlsCertificate certificate, TimeProvider time)
    {
        _certificate = certificate;
        _time = time;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _transport = new QueuedDatagramTransport(d => Send(d));
        _sctp = new SctpAssociation(time, SendSctp);
        _sctp.MessageReceived += OnMessage;
    }

    public long AudioPacketsReceived { get; private set; }

    public long AudioPacketsLost { get; private set; }

    public ChannelReader<JsonObject> Events => _events.Reader;

    /// <summary>Send a silent PCMU microphone track (50 packets a second) like a browser with a muted mic.</summary>
    public bool SendMicrophone { get; init; }

    public string CreateOffer() => string.Join("\r\n",
        "v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0 1",
        "m=audio 9 UDP/TLS/RTP/SAVPF 0 8", "c=IN IP4 0.0.0.0", "a=mid:0", $"a=ice-ufrag:{_ufrag}", $"a=ice-pwd:{_password}",
        $"a=fingerprint:sha-256 {_certificate.Fingerprint}", "a=setup:actpass", "a=rtcp-mux", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=sendrecv",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 0.0.0.0", "a=mid:1", $"a=ice-ufrag:{_ufrag}", $"a=ice-pwd:{_password}",
        $"a=fingerprint:sha-256 {_certificate.Fingerprint}", "a=setup:actpass", "a=sctp-port:5000", "") ;

    /// <summary>Connects to the answer's candidate and returns once the data channel is acknowledged.</summary>
    public async Task ConnectAsync(string answerSdp, CancellationToken cancellationToken)
    {
        var lines = answerSdp.Split("\r\n");
        var candidate = lines.First(l => l.StartsWith("a=candidate:", StringComparison.Ordinal)).Split(' ');
        _remote = new IPEndPoint(IPAddress.Parse(candidate[4]), int.Parse(candidate[5], System.Globalization.CultureInfo.InvariantCulture));
        var remoteUfrag = lines.First(l => l.StartsWith("a=ice-ufrag:", StringComparison.Ordinal))[12..];
        var remotePassword = lines.First(l => l.StartsWith("a=ice-pwd:", StringComparison.Ordinal))[10..];
        var remoteFingerprint = lines.First(l => l.StartsWith("a=fingerprint:sha-256 ", StringComparison.Ordinal))[22..];
        _receiveLoop = Task.Run(ReceiveLoopAsync, CancellationToken.None);

        var request = new StunMessage { Type = StunMessage.BindingRequest, TransactionId = RandomNumberGenerator.GetBytes(12) };
        request.Attributes.Add((StunMessage.AttrUsername, Encoding.UTF8.GetBytes($"{remoteUfrag}:{_ufrag}")));
        request.Attributes.Add((StunMessage.AttrUseCandidate, []));
        request.Attributes.Add((StunMessage.AttrIceControlling, RandomNumberGenerator.GetBytes(8)));
        var bytes = request.Build(remotePassword);
        for (var attempt = 0; attempt < 50 && !_stunAnswered.Task.IsCompleted; attempt++)
        {
            Send(bytes);
            await Task.WhenAny(_stunAnswered.Task, Task.Delay(TimeSpan.FromMilliseconds(50), _time, cancellationToken)).ConfigureAwait(false);
        }

        await _stunAnswered.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        var client = new SimulatorDtlsClient(_certificate, remoteFingerprint);
        _dtlsLoop = Task.Factory.StartNew(() => RunDtls(client), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await _open.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public void SendEvent(JsonObject clientEvent) => _sctp.Send(0, 51, Encoding.UTF8.GetBytes(clientEvent.ToJsonString()));

    public async Task<JsonObject> WaitForAsync(string type, CancellationToken cancellationToken)
    {
        await foreach (var e in _events.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (e["type"]?.ToString() == type)
            {
                return e;
            }
        }

        throw new IOException($"The call closed before {type} arrived.");
    }

    /// <summary>Leaves like a closing browser tab: SCTP ABORT, then the socket goes away.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_sctp.State == SctpState.Established)
        {
            _sctp.Abort("client closed");
        }

        _microphone?.Dispose();
        _sctp.Dispose();
        _transport.Close();
        await _closed.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        _open.TrySetCanceled();
        _events.Writer.TryComplete();

        // The receive loop may be unprotecting a packet right now: the SRTP keys go only once it has stopped.
        await Task.WhenAll(_receiveLoop, _dtlsLoop).ConfigureAwait(false);
        lock (_sendGate)
        {
            _srtpIn?.Dispose();
            _srtpOut?.Dispose();
        }
    }

    private void RunDtls(SimulatorDtlsClient client)
    {
        try
        {
            var transport = new DtlsClientProtocol().Connect(client, _transport);
            _dtls = transport;
            if (client.SrtpKeying is { Length: 60 } keys)
            {
                _srtpIn = new SrtpContext(keys.AsSpan(16, 16), keys.AsSpan(46, 14));
                _srtpOut = new SrtpContext(keys.AsSpan(0, 16), keys.AsSpan(32, 14));
                if (SendMicrophone)
                {
                    _microphone = _time.CreateTimer(_ => SendMicrophoneFrame(), null, TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(20));
                }
            }

            _sctp.Established += () => _sctp.Send(0, 50, DcepOpen("oai-events"));
            _sctp.Connect();
            var buffer = new byte[transport.GetReceiveLimit()];
            while (_disposed == 0)
            {
                var length = transport.Receive(buffer, 0, buffer.Length, 1000);
                if (length > 0)
                {
                    _sctp.Receive(buffer.AsSpan(0, length));
                }
            }
        }
        catch (Exception ex) when (ex is IOException or TlsException or ObjectDisposedException or InvalidOperationException)
        {
            _open.TrySetException(ex);
            _events.Writer.TryComplete();
        }
    }

    private static byte[] DcepOpen(string label)
    {
        var labelBytes = Encoding.UTF8.GetBytes(label);
        var open = new byte[12 + labelBytes.Length];
        open[0] = 0x03;
        BinaryPrimitives.WriteUInt16BigEndian(open.AsSpan(8), (ushort)labelBytes.Length);
        labelBytes.CopyTo(open, 12);
        return open;
    }

    private void OnMessage(ushort stream, uint ppid, byte[] payload)
    {
        if (ppid == 50 && payload is [0x02, ..])
        {
            _open.TrySetResult();
        }
        else if (ppid == 51 && JsonNode.Parse(payload) is JsonObject e)
        {
            _events.Writer.TryWrite(e);
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[2048];
        while (!_closed.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await _socket.ReceiveAsync(buffer, SocketFlags.None, _closed.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (ex is SocketException { SocketErrorCode: SocketError.ConnectionReset })
                {
                    continue;
                }

                return;
            }

            var first = buffer[0];
            if (first < 4 && StunMessage.TryParse(buffer.AsSpan(0, length)) is { Type: StunMessage.BindingSuccess })
            {
                _stunAnswered.TrySetResult();
            }
            else if (first is >= 20 and <= 63)
            {
                _transport.Deliver(buffer.AsSpan(0, length).ToArray());
            }
            else if (first is >= 128 and <= 191 && _srtpIn?.Unprotect(buffer.AsSpan(0, length)) is { } rtp)
            {
                var sequence = BinaryPrimitives.ReadUInt16BigEndian(rtp.AsSpan(2));
                if (_lastSequence >= 0)
                {
                    var gap = (ushort)(sequence - _lastSequence);
                    AudioPacketsLost += gap is > 1 and < 0x8000 ? gap - 1 : 0;
                }

                _lastSequence = sequence;
                AudioPacketsReceived++;
            }
        }
    }

    private void SendMicrophoneFrame()
    {
        var packet = new byte[12 + 160];
        packet[0] = 0x80;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), _micSequence);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(4), (uint)_micSequence * 160);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(8), 0x5EED);
        packet.AsSpan(12).Fill(0xFF);
        _micSequence++;
        lock (_sendGate)
        {
            if (_disposed == 0 && _srtpOut is { } srtp)
            {
                Send(srtp.Protect(packet));
            }
        }
    }

    private void SendSctp(byte[] packet)
    {
        lock (_sendGate)
        {
            try
            {
                _dtls?.Send(packet, 0, packet.Length);
            }
            catch (IOException)
            {
                // Closing: nothing more to deliver.
            }
        }
    }

    private void Send(byte[] datagram)
    {
        try
        {
            _socket.SendTo(datagram, _remote!);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // The client is closing.
        }
    }

    private static string Token(int length) => Convert.ToHexString(RandomNumberGenerator.GetBytes(length)).ToLowerInvariant()[..length];
}
