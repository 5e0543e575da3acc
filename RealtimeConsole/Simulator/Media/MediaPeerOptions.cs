using System.ComponentModel.DataAnnotations;

namespace RealtimeConsole.Simulator.Media;

/// <summary>Configuration section <c>Simulator:Media</c>.</summary>
public sealed class MediaPeerOptions
{
    public const string Section = "Simulator:Media";

    /// <summary>A call whose data channel is not open by then (ICE or DTLS never completed) is released.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>No datagram from the browser for this long (it closed or vanished) ends the call.</summary>
    [Range(typeof(TimeSpan), "00:00:02", "01:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>OpenAI caps a Realtime session at 60 minutes, then sends <c>session_expired</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "24:00:00")]
    public TimeSpan MaxSessionDuration { get; set; } = TimeSpan.FromMinutes(60);

    [Range(1, 10_000)]
    public int MaxConcurrentCalls { get; set; } = 200;
}
