namespace RealtimeConsole.Telemetry;

/// <summary>
/// Adds up what several instances counted into one <see cref="DashboardState"/>: requests by status, retries, refusals, mints,
/// hits and the request history are summed; the recent calls are merged newest first; the live state (secret, budget, backoff,
/// store) is this instance's, since in a shared deployment it is the same everywhere.
/// </summary>
public static class DeploymentTotals
{
    public static DashboardState Sum(DashboardState local, IReadOnlyCollection<DashboardState> others)
    {
        if (others.Count == 0)
        {
            return local;
        }

        DashboardState[] all = [local, .. others];
        var snapshots = all.Select(s => s.Snapshot).ToList();
        var snapshot = local.Snapshot with
        {
            Counters = SumCounters(snapshots.Select(s => s.Counters).ToList()),
            Resources = [.. local.Snapshot.Resources.Select(r => SumResource(r, snapshots))],
            RecentCalls = [.. snapshots.SelectMany(s => s.RecentCalls).OrderByDescending(c => c.At).Take(BrokerTelemetry.RecentCallCapacity)],
            Last429 = snapshots.Select(s => s.Last429).OfType<RateLimitEvent>().MaxBy(e => e.At),
            LastUpstream429 = snapshots.Select(s => s.LastUpstream429).OfType<RateLimitEvent>().MaxBy(e => e.At),
        };
        return new DashboardState(snapshot, SumHistory(local.History, all.Select(s => s.History).ToList()));
    }

    /// <summary>Every upstream request one instance made, whatever its answer.</summary>
    public static long UpstreamRequests(BrokerTelemetrySnapshot snapshot) => snapshot.Resources.Sum(r => r.CountsByStatus.Values.Sum());

    /// <summary>Every secret one instance handed out, from its cache or freshly minted.</summary>
    public static long SecretsServed(BrokerTelemetrySnapshot snapshot) => snapshot.Counters.CacheHits + snapshot.Counters.CacheMisses;

    private static SecretCounters SumCounters(IReadOnlyList<SecretCounters> counters)
    {
        var hits = counters.Sum(c => c.CacheHits);
        var misses = counters.Sum(c => c.CacheMisses);
        return counters[0] with
        {
            Mints = counters.Sum(c => c.Mints),
            MintFailures = counters.Sum(c => c.MintFailures),
            CacheHits = hits,
            CacheMisses = misses,
            SingleFlightJoins = counters.Sum(c => c.SingleFlightJoins),
            HitRatio = hits + misses == 0 ? null : (double)hits / (hits + misses),
            ReusedSecretsReplaced = counters.Sum(c => c.ReusedSecretsReplaced),
        };
    }

    private static ResourceSnapshot SumResource(ResourceSnapshot local, IReadOnlyList<BrokerTelemetrySnapshot> snapshots)
    {
        var same = snapshots.SelectMany(s => s.Resources).Where(r => r.Resource == local.Resource).ToList();
        return local with
        {
            CountsByStatus = SumCounts(same.Select(r => r.CountsByStatus)),
            Retries = same.Sum(r => r.Retries),
            RefusedLocally = same.Sum(r => r.RefusedLocally),
        };
    }

    private static RequestHistorySnapshot SumHistory(RequestHistorySnapshot local, IReadOnlyList<RequestHistorySnapshot> histories)
    {
        // Buckets start on the same 10-second boundaries on every instance; this instance's chart sets which ones are shown.
        var byStart = histories.SelectMany(h => h.Buckets).GroupBy(b => b.Start).ToDictionary(g => g.Key, g => g.ToList());
        var buckets = local.Buckets.Select(b =>
        {
            var same = byStart[b.Start];
            return new HistoryBucket(b.Start, same.Sum(x => x.Requests), same.Sum(x => x.RateLimited), same.Sum(x => x.ServerErrors));
        }).ToList();
        var windows = local.Windows.Select(w =>
        {
            var same = histories.SelectMany(h => h.Windows).Where(x => x.Resource == w.Resource).ToList();
            return new ResourceWindow(w.Resource, SumCounts(same.Select(x => x.LastMinute)), SumCounts(same.Select(x => x.LastHour)));
        }).ToList();
        return local with { Buckets = buckets, Windows = windows };
    }

    private static Dictionary<string, long> SumCounts(IEnumerable<IReadOnlyDictionary<string, long>> counts) =>
        counts.SelectMany(c => c).GroupBy(c => c.Key).ToDictionary(g => g.Key, g => g.Sum(c => c.Value));
}
