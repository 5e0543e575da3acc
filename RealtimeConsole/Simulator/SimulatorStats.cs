namespace RealtimeConsole.Simulator;

/// <summary>The endpoints the simulator counts.</summary>
public enum SimulatorEndpoint
{
    ClientSecrets,
    Calls,
    Hangup,
    LegacySessions,
    LegacyRealtime,
    Responses,
    TranslationClientSecrets,
    CallControl,
}

/// <summary>One answered request, for the page's "recent requests".</summary>
public sealed record SimulatorRequestRecord(DateTimeOffset At, string Method, string Path, int Status, string RequestId, string? ErrorCode);

/// <summary>
/// Per-endpoint counters by HTTP status and the most recent requests. A DI singleton: the media peer records its
/// <c>responses</c> here. Counting is lock-free (Interlocked on fixed arrays).
/// </summary>
public sealed class SimulatorStats
{
    public const int RecentCapacity = 50;

    private static readonly SimulatorEndpoint[] Endpoints = Enum.GetValues<SimulatorEndpoint>();
    private readonly long[][] _byStatus;
    private readonly long[] _totals;
    private readonly SimulatorRequestRecord?[] _recent = new SimulatorRequestRecord?[RecentCapacity];
    private long _recentNext;

    public SimulatorStats()
    {
        _byStatus = new long[Endpoints.Length][];
        for (var i = 0; i < _byStatus.Length; i++)
        {
            _byStatus[i] = new long[600];
        }

        _totals = new long[Endpoints.Length];
    }

    /// <summary>The wire name used in <c>GET /simulator/admin/stats</c>.</summary>
    public static string Name(SimulatorEndpoint endpoint) => endpoint switch
    {
        SimulatorEndpoint.ClientSecrets => "client_secrets",
        SimulatorEndpoint.Calls => "calls",
        SimulatorEndpoint.Hangup => "calls.hangup",
        SimulatorEndpoint.LegacySessions => "sessions",
        SimulatorEndpoint.LegacyRealtime => "realtime",
        SimulatorEndpoint.TranslationClientSecrets => "translations.client_secrets",
        SimulatorEndpoint.CallControl => "calls.accept_reject_refer",
        _ => "responses",
    };

    /// <summary>Counts one request to <paramref name="endpoint"/> answered with <paramref name="status"/>.</summary>
    public void Record(SimulatorEndpoint endpoint, int status)
    {
        Interlocked.Increment(ref _totals[(int)endpoint]);
        Interlocked.Increment(ref _byStatus[(int)endpoint][status is >= 100 and < 600 ? status : 599]);
    }

    /// <summary>Counts one request and remembers it among the recent ones.</summary>
    public void Record(SimulatorEndpoint endpoint, SimulatorRequestRecord record)
    {
        Record(endpoint, record.Status);
        var slot = (Interlocked.Increment(ref _recentNext) - 1) % RecentCapacity;
        Volatile.Write(ref _recent[slot], record);
    }

    /// <summary>Total requests to <paramref name="endpoint"/>.</summary>
    public long Total(SimulatorEndpoint endpoint) => Volatile.Read(ref _totals[(int)endpoint]);

    /// <summary>Counts by status (only statuses seen) per endpoint, every endpoint listed.</summary>
    public IReadOnlyDictionary<string, EndpointCounts> Snapshot()
    {
        var result = new Dictionary<string, EndpointCounts>(Endpoints.Length);
        foreach (var endpoint in Endpoints)
        {
            var counts = _byStatus[(int)endpoint];
            var byStatus = new SortedDictionary<string, long>(StringComparer.Ordinal);
            for (var status = 0; status < counts.Length; status++)
            {
                var n = Volatile.Read(ref counts[status]);
                if (n > 0)
                {
                    byStatus[status.ToString(System.Globalization.CultureInfo.InvariantCulture)] = n;
                }
            }

            result[Name(endpoint)] = new EndpointCounts(Total(endpoint), byStatus);
        }

        return result;
    }

    /// <summary>The most recent requests, newest first.</summary>
    public IReadOnlyList<SimulatorRequestRecord> Recent()
    {
        var list = new List<SimulatorRequestRecord>(RecentCapacity);
        var next = Volatile.Read(ref _recentNext);
        for (var i = 1; i <= RecentCapacity && next - i >= 0; i++)
        {
            if (Volatile.Read(ref _recent[(next - i) % RecentCapacity]) is { } record)
            {
                list.Add(record);
            }
        }

        return list;
    }

    /// <summary>Zeroes every counter and forgets the recent requests.</summary>
    public void Reset()
    {
        foreach (var counts in _byStatus)
        {
            Array.Clear(counts);
        }

        Array.Clear(_totals);
        Array.Clear(_recent);
        Volatile.Write(ref _recentNext, 0);
    }
}

public sealed record EndpointCounts(long Total, IReadOnlyDictionary<string, long> ByStatus);
