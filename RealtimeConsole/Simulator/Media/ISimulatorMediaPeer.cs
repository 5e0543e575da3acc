using System.Text.Json.Nodes;

namespace RealtimeConsole.Simulator.Media;

/// <summary>The WebRTC side of the simulator: turns a browser's offer into a live call with an answer SDP.</summary>
public interface ISimulatorMediaPeer
{
    /// <summary>False while no media peer is built in; the calls endpoint then answers with an honest error.</summary>
    bool IsAvailable { get; }

    /// <summary>Starts a call for <paramref name="offer"/>; the session configuration is the merged one from the key or the <c>session</c> part.</summary>
    Task<AcceptedCall> AcceptAsync(string offerSdp, JsonObject session, CancellationToken cancellationToken);

    /// <summary>Ends a call; false when no such call is live.</summary>
    Task<bool> HangUpAsync(string callId, CancellationToken cancellationToken);

    /// <summary>Whether <paramref name="callId"/> names a live call.</summary>
    bool IsLive(string callId);
}

public sealed record AcceptedCall(string CallId, string AnswerSdp);

/// <summary>Stands in until the real peer exists: says so, never fakes an answer.</summary>
public sealed class UnavailableMediaPeer : ISimulatorMediaPeer
{
    public bool IsAvailable => false;

    public Task<AcceptedCall> AcceptAsync(string offerSdp, JsonObject session, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The simulator's WebRTC media peer is not available in this build.");

    public Task<bool> HangUpAsync(string callId, CancellationToken cancellationToken) => Task.FromResult(false);

    public bool IsLive(string callId) => false;
}

/// <summary>The peer holds as many calls as it is allowed (<c>Simulator:Media:MaxConcurrentCalls</c>); the caller may retry later.</summary>
public sealed class MediaPeerAtCapacityException(string message) : Exception(message);
