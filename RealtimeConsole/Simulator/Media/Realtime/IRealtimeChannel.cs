using System.Text.Json.Nodes;

namespace RealtimeConsole.Simulator.Media.Realtime;

/// <summary>What a conversation drives on its call: the data channel, the outgoing audio track, and the call itself.</summary>
internal interface IRealtimeChannel
{
    void SendEvent(JsonObject serverEvent);

    /// <summary>Queues <paramref name="frames"/> 20 ms frames of reply audio on the track.</summary>
    void PlayAudio(int frames);

    void StopAudio();

    void Close(string reason);
}
