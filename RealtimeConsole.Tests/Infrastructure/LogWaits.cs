using Microsoft.Extensions.Logging.Testing;

namespace RealtimeConsole.Tests.Infrastructure;

/// <summary>Waiting for a log line another thread writes (start-up lines are written when the host reports it started).</summary>
public static class LogWaits
{
    /// <summary>The first record <paramref name="wanted"/> matches, read as the log grows; fails after <see cref="ConditionWaiter.Patience"/>.</summary>
    public static async Task<FakeLogRecord> FirstAsync(this FakeLogCollector logs, Func<FakeLogRecord, bool> wanted, string what)
    {
        using var patience = new CancellationTokenSource(ConditionWaiter.Patience);
        try
        {
            await foreach (var record in logs.GetLogsAsync(patience.Token))
            {
                if (wanted(record))
                {
                    return record;
                }
            }
        }
        catch (OperationCanceledException) when (patience.IsCancellationRequested)
        {
        }

        throw new TimeoutException($"Waited {ConditionWaiter.Patience.TotalSeconds:0} s for the log line {what}.");
    }
}
