namespace RealtimeConsole.Simulator.Media;

public static class MediaPeerFeature
{
    public static WebApplicationBuilder AddSimulatorMediaPeer(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ISimulatorMediaPeer, UnavailableMediaPeer>();
        return builder;
    }
}
