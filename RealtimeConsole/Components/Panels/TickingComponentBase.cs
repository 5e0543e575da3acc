using Microsoft.AspNetCore.Components;

namespace RealtimeConsole.Components.Panels;

/// <summary>
/// A small component that re-renders itself once a second on the injected clock, so a countdown or a timer ticks
/// without re-rendering the page around it (and without changing the event handlers of the page's buttons).
/// </summary>
public abstract class TickingComponentBase : ComponentBase, IDisposable
{
    private ITimer? _ticker;
    private bool _disposed;

    [Inject] protected TimeProvider Time { get; set; } = null!;

    protected DateTimeOffset Now => Time.GetUtcNow();

    protected override void OnInitialized() =>
        _ticker = Time.CreateTimer(_ => _ = InvokeAsync(Tick), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

    private void Tick()
    {
        if (!_disposed)
        {
            StateHasChanged();
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _ticker?.Dispose();
        OnDisposed();
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what a derived component holds (e.g. a subscription).</summary>
    protected virtual void OnDisposed()
    {
    }
}
