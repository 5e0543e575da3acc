using System.Diagnostics.Metrics;
using RealtimeConsole.RateLimits;
using RealtimeConsole.Tokens;

namespace RealtimeConsole.Telemetry;

/// <summary>
/// The broker's System.Diagnostics.Metrics instruments (meter <c>RealtimeConsole.Broker</c>), exported at <c>/metrics</c>.
/// Counters are cumulative (Prometheus style); <see cref="BrokerTelemetry"/> adds the gauges that read the live state.
/// </summary>
public sealed class BrokerMetrics
{
    public const string MeterName = "RealtimeConsole.Broker";

    private static readonly InstrumentAdvice<double> SecondsBuckets = new() { HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120] };

    private readonly Counter<long> _mints;
    private readonly Counter<long> _cacheHits;
    private readonly Counter<long> _cacheMisses;
    private readonly Counter<long> _joins;
    private readonly Counter<long> _upstreamRequests;
    private readonly Counter<long> _rateLimited;
    private readonly Counter<long> _retries;
    private readonly Histogram<double> _backoffDelay;
    private readonly Histogram<double> _mintLatency;

    public BrokerMetrics(IMeterFactory meterFactory)
    {
        Meter = meterFactory.Create(MeterName);
        _mints = Meter.CreateCounter<long>("realtime.broker.mints", description: "Client secrets minted upstream, by outcome.");
        _cacheHits = Meter.CreateCounter<long>("realtime.broker.cache_hits", description: "Secrets served without going upstream.");
        _cacheMisses = Meter.CreateCounter<long>("realtime.broker.cache_misses", description: "Requests that needed a mint.");
        _joins = Meter.CreateCounter<long>("realtime.broker.singleflight_joins", description: "Callers that joined a mint already in flight.");
        _upstreamRequests = Meter.CreateCounter<long>("realtime.upstream.requests", description: "HTTP exchanges with upstream, by resource and status (0 = no answer).");
        _rateLimited = Meter.CreateCounter<long>("realtime.upstream.rate_limited", description: "429 answers, by code and source (upstream or local).");
        _retries = Meter.CreateCounter<long>("realtime.upstream.retries", description: "Retries scheduled by the one retry loop.");
        _backoffDelay = Meter.CreateHistogram("realtime.upstream.backoff_delay", unit: "s", description: "Delay before each retry.", advice: SecondsBuckets);
        _mintLatency = Meter.CreateHistogram("realtime.broker.mint_latency", unit: "s", description: "Time to mint one client secret.", advice: SecondsBuckets);
    }

    public Meter Meter { get; }

    public void Mint(bool succeeded, TimeSpan latency)
    {
        _mints.Add(1, new KeyValuePair<string, object?>("outcome", succeeded ? "ok" : "failed"));
        _mintLatency.Record(latency.TotalSeconds);
    }

    public void CacheHit(SecretMode mode) => _cacheHits.Add(1, new KeyValuePair<string, object?>("mode", mode.ToString()));

    public void CacheMiss(SecretMode mode) => _cacheMisses.Add(1, new KeyValuePair<string, object?>("mode", mode.ToString()));

    public void Joined() => _joins.Add(1);

    public void UpstreamRequest(UpstreamResource resource, int status) => _upstreamRequests.Add(
        1, new KeyValuePair<string, object?>("resource", resource.ToWireName()), new KeyValuePair<string, object?>("status", status));

    public void RateLimited(string code, bool fromUpstream) => _rateLimited.Add(
        1, new KeyValuePair<string, object?>("code", code), new KeyValuePair<string, object?>("source", fromUpstream ? "upstream" : "local"));

    public void Retry(UpstreamResource resource, TimeSpan delay)
    {
        _retries.Add(1, new KeyValuePair<string, object?>("resource", resource.ToWireName()));
        _backoffDelay.Record(delay.TotalSeconds, new KeyValuePair<string, object?>("resource", resource.ToWireName()));
    }
}
