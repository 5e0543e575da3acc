namespace RealtimeConsole.Telemetry;

/// <summary>A subscription that undoes itself once, however often it is disposed.</summary>
internal sealed class DisposeOnce(Action dispose) : IDisposable
{
    private int _disposed;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            dispose();
        }
    }
}
