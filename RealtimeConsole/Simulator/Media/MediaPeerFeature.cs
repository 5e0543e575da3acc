using RealtimeConsole.Simulator.Media.Realtime;

namespace RealtimeConsole.Simulator.Media;

public static class MediaPeerFeature
{
    public static WebApplicationBuilder AddSimulatorMediaPeer(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<MediaPeerOptions>().BindConfiguration(MediaPeerOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IRealtimeResponseBudget, SimulatorResponseBudget>();
        builder.Services.AddSingleton<SimulatorMediaPeer>();
        builder.Services.AddSingleton<ISimulatorMediaPeer>(sp => sp.GetRequiredService<SimulatorMediaPeer>());
        return builder;
    }
}
