using RealtimeConsole.RateLimits;
using RealtimeConsole.Tokens;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Telemetry;

/// <summary>What the dashboard, the hub and the watcher show: the broker snapshot plus the 10-second request history.</summary>
public sealed record DashboardState(BrokerTelemetrySnapshot Snapshot, RequestHistorySnapshot History);

/// <summary>A live source of <see cref="DashboardState"/>: this process's broker, or another instance followed over SignalR.</summary>
public interface ITelemetryFeed
{
    DashboardState Current { get; }

    /// <summary>Calls <paramref name="onChange"/> whenever <see cref="Current"/> would change; dispose to stop.</summary>
    IDisposable Subscribe(Func<Task> onChange);
}

/// <summary>The buttons on the dashboard: force a refresh, switch mode, reset the counters.</summary>
public interface ITelemetryActions
{
    Task ForceRefreshAsync(CancellationToken cancellationToken);

    void SwitchMode(SecretMode mode);

    void ResetCounters();
}

/// <summary>This process's broker telemetry as a feed, with where its state lives.</summary>
public sealed class LocalTelemetryFeed(BrokerTelemetry telemetry, RequestHistory history, SharedStoreWatch store) : ITelemetryFeed
{
    public DashboardState Current => new(telemetry.GetSnapshot() with { Store = store.Current }, history.GetSnapshot());

    public IDisposable Subscribe(Func<Task> onChange)
    {
        var broker = telemetry.Subscribe(onChange);
        void OnStoreChanged() => _ = onChange();
        store.Changed += OnStoreChanged;
        return new DisposeOnce(() =>
        {
            store.Changed -= OnStoreChanged;
            broker.Dispose();
        });
    }
}

/// <summary>The dashboard's actions on this process's broker.</summary>
public sealed class LocalTelemetryActions(ClientSecretBroker broker, BrokerTelemetry telemetry, RequestHistory history) : ITelemetryActions
{
    public Task ForceRefreshAsync(CancellationToken cancellationToken) => broker.ForceRefreshAsync(cancellationToken);

    public void SwitchMode(SecretMode mode) => broker.SwitchMode(mode);

    public void ResetCounters()
    {
        history.Reset();
        telemetry.ResetCounters();
    }
}

/// <summary>Upstream calls counted in 10-second buckets for the last hour, per resource and HTTP status.</summary>
public sealed class RequestHistory
{
    public static readonly TimeSpan BucketLength = TimeSpan.FromSeconds(10);

    /// <summary>Buckets kept: one hour.</summary>
    public const int BucketsKept = 360;

    /// <summary>Buckets charted: ten minutes.</summary>
    public const int BucketsCharted = 60;

    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<long, Dictionary<(UpstreamResource Resource, int Status), long>> _buckets = [];

    public RequestHistory(TimeProvider time, BrokerTelemetry telemetry)
    {
        _time = time;
        telemetry.UpstreamCallRecorded += Record;
    }

    public void Record(UpstreamCallRecord call)
    {
        var index = IndexOf(call.At);
        lock (_gate)
        {
            if (!_buckets.TryGetValue(index, out var bucket))
            {
                bucket = [];
                _buckets[index] = bucket;
                _buckets.Keys.Where(k => k <= index - BucketsKept).ToList().ForEach(k => _buckets.Remove(k));
            }

            bucket[(call.Resource, call.Status)] = bucket.GetValueOrDefault((call.Resource, call.Status)) + 1;
        }
    }

    public void Reset()
    {
        lock (_gate)
        {
            _buckets.Clear();
        }
    }

    public RequestHistorySnapshot GetSnapshot()
    {
        var now = _time.GetUtcNow();
        var current = IndexOf(now);
        lock (_gate)
        {
            var chart = new List<HistoryBucket>(BucketsCharted);
            for (var index = current - BucketsCharted + 1; index <= current; index++)
            {
                var bucket = _buckets.GetValueOrDefault(index);
                chart.Add(new HistoryBucket(
                    DateTimeOffset.FromUnixTimeSeconds(index * (long)BucketLength.TotalSeconds),
                    bucket?.Values.Sum() ?? 0,
                    bucket?.Where(e => e.Key.Status == 429).Sum(e => e.Value) ?? 0,
                    bucket?.Where(e => e.Key.Status >= 500).Sum(e => e.Value) ?? 0));
            }

            var windows = Enum.GetValues<UpstreamResource>().Select(resource => new ResourceWindow(
                resource.ToWireName(),
                CountByStatus(resource, current - 5, current),
                CountByStatus(resource, current - BucketsKept + 1, current))).ToList();
            return new RequestHistorySnapshot((int)BucketLength.TotalSeconds, chart, windows);
        }
    }

    private Dictionary<string, long> CountByStatus(UpstreamResource resource, long from, long to) => _buckets
        .Where(b => b.Key >= from && b.Key <= to)
        .SelectMany(b => b.Value)
        .Where(e => e.Key.Resource == resource)
        .GroupBy(e => e.Key.Status.ToString(System.Globalization.CultureInfo.InvariantCulture))
        .ToDictionary(g => g.Key, g => g.Sum(e => e.Value));

    private static long IndexOf(DateTimeOffset at) => at.ToUnixTimeSeconds() / (long)BucketLength.TotalSeconds;
}

/// <summary>The request history: the last ten minutes in 10-second buckets, and per-resource counts for the last minute and hour.</summary>
public sealed record RequestHistorySnapshot(int BucketSeconds, IReadOnlyList<HistoryBucket> Buckets, IReadOnlyList<ResourceWindow> Windows)
{
    public static readonly RequestHistorySnapshot Empty = new(10, [], []);
}

/// <summary>Requests that started in one 10-second bucket: all of them, the 429s and the 5xx answers.</summary>
public sealed record HistoryBucket(DateTimeOffset Start, long Requests, long RateLimited, long ServerErrors);

/// <summary>One resource's answers by HTTP status (0 = no answer) in the last minute and the last hour.</summary>
public sealed record ResourceWindow(string Resource, IReadOnlyDictionary<string, long> LastMinute, IReadOnlyDictionary<string, long> LastHour);
