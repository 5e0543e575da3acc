using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using RealtimeConsole.Simulator.Media.Audio;
using RealtimeConsole.Simulator.Media.Dtls;
using RealtimeConsole.Simulator.Media.Realtime;

namespace RealtimeConsole.Simulator.Media;

/// <summary>The simulator's WebRTC peer: one <see cref="WebRtcCall"/> (own UDP socket on 127.0.0.1) per accepted offer.</summary>
public sealed partial class SimulatorMediaPeer : ISimulatorMediaPeer, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, WebRtcCall> _calls = new();
    private readonly Lazy<DtlsCertificate> _certificate;
    private readonly IRealtimeResponseBudget _budget;
    private readonly TimeProvider _time;
    private readonly MediaPeerOptions _options;
    private readonly ILogger<SimulatorMediaPeer> _logger;
    private readonly MediaClock _clock;

    public SimulatorMediaPeer(IRealtimeResponseBudget budget, TimeProvider time, IOptions<MediaPeerOptions> options, ILogger<SimulatorMediaPeer> logger)
    {
        _budget = budget;
        _time = time;
        _options = options.Value;
        _logger = logger;
        _clock = new MediaClock(time);
        _certificate = new Lazy<DtlsCertificate>(() => DtlsCertificate.Create(time));
    }

    public bool IsAvailable => true;

    /// <summary>Calls currently holding a socket (what the no-growth tests watch).</summary>
    public int LiveCalls => _calls.Count;

    public IReadOnlyCollection<string> CallIds => [.. _calls.Keys];

    /// <summary>The live calls themselves, for tests that watch what a call received.</summary>
    internal IReadOnlyCollection<WebRtcCall> Calls => [.. _calls.Values];

    /// <summary>Calls subscribed to the shared audio clock (zero once every call has ended).</summary>
    internal int AudioSubscribers => _clock.Subscribers;

    public Task<AcceptedCall> AcceptAsync(string offerSdp, JsonObject session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        SdpOffer offer;
        try
        {
            offer = SdpOffer.Parse(offerSdp ?? "");
        }
        catch (FormatException ex)
        {
            throw new ArgumentException(ex.Message, nameof(offerSdp), ex);
        }

        if (!offer.Sections.Any(s => s.IsData))
        {
            throw new ArgumentException("The offer has no data channel section: create the 'oai-events' data channel before createOffer().", nameof(offerSdp));
        }

        if (_calls.Count >= _options.MaxConcurrentCalls)
        {
            throw new MediaPeerAtCapacityException($"The simulator already holds {_calls.Count} calls, its limit (Simulator:Media:MaxConcurrentCalls). Hang up a call or raise the limit.");
        }

        var callId = "rtc_" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12)).ToLowerInvariant();
        var call = new WebRtcCall(callId, offer, session, _certificate.Value, _budget, _time, _clock, _options, _logger, OnEnded);
        _calls[callId] = call;
        call.Start();
        LogAccepted(_logger, callId, call.Port, call.Codec ?? "no audio", string.Join(", ", offer.Sections.Where(s => s.Kind == "audio").SelectMany(s => s.OfferedCodecs).Select(c => c.Encoding)));
        return Task.FromResult(new AcceptedCall(callId, call.AnswerSdp));
    }

    public Task<bool> HangUpAsync(string callId, CancellationToken cancellationToken)
    {
        if (!_calls.TryGetValue(callId, out var call))
        {
            return Task.FromResult(false);
        }

        call.End("hangup");
        return Task.FromResult(true);
    }

    /// <summary>The call's state for tests and the console: null when no such call is live.</summary>
    internal WebRtcCall? Find(string callId) => _calls.GetValueOrDefault(callId);

    public bool IsLive(string callId) => _calls.ContainsKey(callId);

    public async ValueTask DisposeAsync()
    {
        foreach (var call in _calls.Values)
        {
            call.End("shutdown");
        }

        try
        {
            await Task.WhenAll(_calls.Values.Select(c => c.Completion)).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A DTLS thread stuck in BouncyCastle is abandoned: its socket and transport are already closed.
        }

        _clock.Dispose();
    }

    private void OnEnded(WebRtcCall call, string reason)
    {
        _calls.TryRemove(call.CallId, out _);
        LogEnded(_logger, call.CallId, reason);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Simulator call {CallId} accepted on 127.0.0.1:{Port}, audio {Codec} (offered: {Offered})")]
    private static partial void LogAccepted(ILogger logger, string callId, int port, string codec, string offered);

    [LoggerMessage(Level = LogLevel.Information, Message = "Simulator call {CallId} ended: {Reason}")]
    private static partial void LogEnded(ILogger logger, string callId, string reason);
}
