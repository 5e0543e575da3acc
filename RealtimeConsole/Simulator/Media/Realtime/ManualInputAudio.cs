namespace RealtimeConsole.Simulator.Media.Realtime;

/// <summary>
/// The caller's audio while turn detection is off (push-to-talk, manual turns): kept until
/// <c>input_audio_buffer.commit</c> or <c>.clear</c>, as OpenAI keeps it. The simulator recognises no words,
/// so it keeps only how much audio there is.
/// </summary>
internal sealed class ManualInputAudio
{
    /// <summary>OpenAI refuses to commit less audio than this.</summary>
    public const int MinimumCommitMs = 100;

    private int _frames;

    public int BufferedMs => _frames * RealtimeConversation.FrameMilliseconds;

    public void Append() => _frames++;

    public void Clear() => _frames = 0;

    /// <summary>OpenAI's words for a commit of too little audio.</summary>
    public static string TooSmall(int bufferedMs) => string.Create(
        System.Globalization.CultureInfo.InvariantCulture,
        $"Error committing input audio buffer: buffer too small. Expected at least {MinimumCommitMs}ms of audio, but buffer only has {bufferedMs:0.00}ms of audio.");
}
