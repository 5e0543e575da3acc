using System.Text.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace RealtimeConsole.Deployment;

/// <summary>
/// Every <see cref="DeploymentOptions.HeartbeatInterval"/>: writes this instance's record (and each contribution) to the shared
/// store, reads the records of the instances heard from within <see cref="DeploymentOptions.InstanceTimeout"/> into
/// <see cref="DeploymentMembers"/>, and forgets the others. Leaves on shutdown. An unreachable store keeps the last list.
/// </summary>
public sealed partial class DeploymentHeartbeat : BackgroundService
{
    /// <summary>The hash of instance records (id → JSON) in the deployment's key space.</summary>
    public const string InstancesKey = "instances";

    private const string ForgetScript = """
        if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
        return 0
        """;

    private static readonly JsonSerializerOptions RecordJson = new(JsonSerializerDefaults.Web);

    private readonly RedisStore _store;
    private readonly ConsoleInstance _instance;
    private readonly DeploymentMembers _members;
    private readonly IEnumerable<IHeartbeatContribution> _contributions;
    private readonly DeploymentOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<DeploymentHeartbeat> _logger;
    private readonly SemaphoreSlim _oneBeatAtATime = new(1, 1);
    private bool _joined;

    public DeploymentHeartbeat(RedisStore store, ConsoleInstance instance, DeploymentMembers members, IEnumerable<IHeartbeatContribution> contributions,
        IOptions<DeploymentOptions> options, TimeProvider time, ILogger<DeploymentHeartbeat> logger)
    {
        _store = store;
        _instance = instance;
        _members = members;
        _contributions = contributions;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>Raised after the first heartbeat the store accepted: this instance is now part of the deployment.</summary>
    public event Action<DeploymentMember>? Joined;

    /// <summary>Raised when this instance removed the record of another not heard from within the timeout (it crashed or lost its network): its last record.</summary>
    public event Action<DeploymentMember>? Forgot;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The first record carries the address the server listens on, known once it has started.
        await _instance.Started.WaitAsync(stoppingToken);

        using var timer = new PeriodicTimer(_options.HeartbeatInterval, _time);
        do
        {
            await BeatAsync(stoppingToken);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One heartbeat: write this instance's record and contributions, read the live instances. Never throws for the store's sake.</summary>
    public async Task BeatAsync(CancellationToken cancellationToken = default)
    {
        await _oneBeatAtATime.WaitAsync(cancellationToken);
        try
        {
            var now = _time.GetUtcNow();
            var me = Describe(now);
            var database = _store.Database;
            var batch = database.CreateBatch();
            var writes = new List<Task>
            {
                batch.HashSetAsync(_store.Key(InstancesKey), me.Id, JsonSerializer.SerializeToUtf8Bytes(me, RecordJson)),
            };
            writes.AddRange(_contributions.Select(c => batch.StringSetAsync(ContributionKey(c, me.Id), c.Publish(), _options.InstanceTimeout)));
            var read = batch.HashGetAllAsync(_store.Key(InstancesKey));
            batch.Execute();
            await Task.WhenAll(writes);
            var records = await read;

            var live = new List<DeploymentMember>();
            var unreadable = new List<RedisValue>();
            var silent = new List<(DeploymentMember Member, RedisValue Record)>();
            foreach (var entry in records)
            {
                var member = Parse(entry.Value);
                if (member is not null && (member.Id == me.Id || now - member.LastSeen < _options.InstanceTimeout))
                {
                    live.Add(member.Id == me.Id ? me : member);
                }
                else if (member is not null)
                {
                    silent.Add((member, entry.Value));
                }
                else
                {
                    unreadable.Add(entry.Name);
                }
            }

            if (unreadable.Count > 0)
            {
                await database.HashDeleteAsync(_store.Key(InstancesKey), [.. unreadable]);
            }

            // Each silent record is removed by one instance only (and only if unchanged since read): that one announces it.
            var forgotten = new List<DeploymentMember>();
            foreach (var (member, record) in silent)
            {
                if ((int)await database.ScriptEvaluateAsync(ForgetScript, [_store.Key(InstancesKey)], [member.Id, record]) == 1)
                {
                    forgotten.Add(member);
                }
            }

            if (unreadable.Count + silent.Count > 0)
            {
                LogForgotten(_logger, unreadable.Count + silent.Count);
            }

            live.Sort((a, b) => a.StartedAt != b.StartedAt ? a.StartedAt.CompareTo(b.StartedAt) : string.CompareOrdinal(a.Id, b.Id));
            foreach (var contribution in _contributions)
            {
                var values = await database.StringGetAsync([.. live.Select(m => ContributionKey(contribution, m.Id))]);
                contribution.Receive(live.Zip(values).Where(p => p.Second.HasValue).ToDictionary(p => p.First.Id, p => (byte[])p.Second!));
            }

            _store.ReportSuccess();
            _members.Update(live);
            if (!_joined)
            {
                _joined = true;
                LogJoined(_logger, me.Id, _store.DeploymentName, live.Count);
                Joined?.Invoke(me);
            }

            foreach (var member in forgotten)
            {
                Forgot?.Invoke(member);
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            // The list stays as last seen: the degraded budget divides by it.
            _store.ReportFailure(e);
            LogBeatFailed(_logger, e.Message);
        }
        finally
        {
            _oneBeatAtATime.Release();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        var me = Current;
        try
        {
            var database = _store.Database;
            await database.HashDeleteAsync(_store.Key(InstancesKey), me.Id);
            await database.KeyDeleteAsync([.. _contributions.Select(c => ContributionKey(c, me.Id))]);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            // The others stop counting this instance after InstanceTimeout anyway.
            LogBeatFailed(_logger, e.Message);
        }
    }

    public override void Dispose()
    {
        _oneBeatAtATime.Dispose();
        base.Dispose();
    }

    /// <summary>This instance's record as of now.</summary>
    public DeploymentMember Current => Describe(_time.GetUtcNow());

    private DeploymentMember Describe(DateTimeOffset now) => new(_instance.Id, _instance.Address, _instance.StartedAt, now);

    private RedisKey ContributionKey(IHeartbeatContribution contribution, string instanceId) => _store.Key($"{contribution.Name}:{instanceId}");

    private static DeploymentMember? Parse(RedisValue value)
    {
        try
        {
            return value.HasValue ? JsonSerializer.Deserialize<DeploymentMember>((byte[])value!, RecordJson) : null;
        }
        catch (JsonException)
        {
            // Written by something else (or an older version): not a member this instance can count.
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Instance {InstanceId} joined deployment {Deployment} ({Count} instances alive).")]
    private static partial void LogJoined(ILogger logger, string instanceId, string deployment, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Forgot {Count} instance(s) not heard from within the instance timeout.")]
    private static partial void LogForgotten(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Heartbeat not written to the shared store ({Reason}); keeping the last list of instances.")]
    private static partial void LogBeatFailed(ILogger logger, string reason);
}
