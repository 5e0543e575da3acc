using System.Collections.ObjectModel;
using System.Diagnostics;

namespace RealtimeConsole.Tests.Infrastructure;

/// <summary>
/// The in-memory exporter's list, safe to read while spans arrive: activity sources are process-wide, so the apps of
/// other tests running at the same time export into it too. Read one trace with <see cref="Of"/>.
/// </summary>
public sealed class RecordedSpans : Collection<Activity>
{
    private readonly Lock _gate = new();

    // Pulsed by every export; hooks nothing, so there is nothing to dispose.
    private readonly ConditionWaiter _exported = new();

    public IReadOnlyList<Activity> Of(ActivityTraceId traceId)
    {
        lock (_gate)
        {
            return this.Where(span => span.TraceId == traceId).ToList();
        }
    }

    /// <summary>Waits until a span of <paramref name="traceId"/> matches, looking again as each span is exported: a server span ends just after its response is sent.</summary>
    public async Task<Activity> WaitForAsync(ActivityTraceId traceId, Func<Activity, bool> match, string what) =>
        (await _exported.UntilAsync(
            () => Task.FromResult(Of(traceId).FirstOrDefault(match)),
            span => span is not null,
            $"a span {what} in trace {traceId}",
            _ => string.Join(", ", Of(traceId).Select(s => s.Source.Name + ":" + s.DisplayName))))!;

    protected override void InsertItem(int index, Activity item)
    {
        lock (_gate)
        {
            base.InsertItem(index, item);
        }

        _exported.Pulse();
    }

    protected override void ClearItems()
    {
        lock (_gate)
        {
            base.ClearItems();
        }
    }
}
