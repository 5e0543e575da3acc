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

    public IReadOnlyList<Activity> Of(ActivityTraceId traceId)
    {
        lock (_gate)
        {
            return this.Where(span => span.TraceId == traceId).ToList();
        }
    }

    /// <summary>Waits (bounded) until a span of <paramref name="traceId"/> matches: a server span ends just after its response is sent.</summary>
    public async Task<Activity> WaitForAsync(ActivityTraceId traceId, Func<Activity, bool> match, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (Of(traceId).FirstOrDefault(match) is { } span)
            {
                return span;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"No span {what} in trace {traceId} within 30 s; seen: {string.Join(", ", Of(traceId).Select(s => s.Source.Name + ":" + s.DisplayName))}");
    }

    protected override void InsertItem(int index, Activity item)
    {
        lock (_gate)
        {
            base.InsertItem(index, item);
        }
    }

    protected override void ClearItems()
    {
        lock (_gate)
        {
            base.ClearItems();
        }
    }
}
