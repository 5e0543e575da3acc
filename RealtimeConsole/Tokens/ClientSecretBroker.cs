using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Options;
using RealtimeConsole.Upstream;

namespace RealtimeConsole.Tokens;

/// <summary>Mints client secrets upstream; <see cref="RealtimeUpstreamClient"/> in the app, a fake in tests.</summary>
public interface IClientSecretMinter
{
    Task<MintedSecret> MintClientSecretAsync(SessionConfiguration session, CancellationToken cancellationToken);
}

/// <summary>A secret handed to one browser session, with how it was obtained.</summary>
public sealed record IssuedSecret(ClientSecret Secret, SecretMode Mode, SecretSource Source);

/// <summary>
/// Hands out client secrets by <see cref="SecretMode"/>, keyed by session configuration. Single-flight per key: any number
/// of concurrent callers cause at most one mint and share its result or error; a caller cancelling only stops its own wait.
/// Shared secrets are refreshed in the background from <see cref="ClientSecret.RefreshOn"/>; a failed refresh keeps serving
/// the still-valid secret and tries again after <see cref="SecretOptions.FailedRefreshRetryDelay"/>.
/// </summary>
public sealed class ClientSecretBroker : IDisposable
{
    private readonly IClientSecretMinter _minter;
    private readonly SecretOptions _options;
    private readonly TimeProvider _time;
    private readonly SecretSignals _signals;
    private readonly ILogger<ClientSecretBroker> _logger;
    private readonly ConcurrentDictionary<string, SecretSlot> _slots = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly string _defaultKey;
    private volatile SecretMode _mode;

    public ClientSecretBroker(IClientSecretMinter minter, IOptions<SecretOptions> options, TimeProvider time, SecretSignals signals, ILogger<ClientSecretBroker> logger)
    {
        _minter = minter;
        _options = options.Value;
        _time = time;
        _signals = signals;
        _logger = logger;
        _mode = _options.SecretMode;
        DefaultSession = new SessionConfiguration(_options.Model, _options.Voice, _options.Instructions);
        _defaultKey = DefaultSession.Key;
        signals.OnModeChanged(_mode, _options.PoolSize);
    }

    public SecretMode Mode => _mode;

    public SessionConfiguration DefaultSession { get; }

    public async Task<IssuedSecret> GetSecretAsync(SessionConfiguration? session, CancellationToken cancellationToken)
    {
        session ??= DefaultSession;
        var mode = _mode;
        var issued = mode switch
        {
            SecretMode.Shared => await GetSharedAsync(session, cancellationToken),
            SecretMode.Pool => await TakeFromPoolAsync(session, cancellationToken),
            _ => new IssuedSecret(await MintAsync(session, cancellationToken), mode, SecretSource.Minted),
        };
        _signals.OnServed(mode, issued.Secret, issued.Source);
        return issued;
    }

    /// <summary>
    /// A browser's SDP exchange was refused (401) with <paramref name="refusedValue"/>: upstream treats keys as single-use
    /// (users report this live; the simulator's <c>Simulator:SecretReuse=SingleUse</c>). In Shared mode the cached secret is
    /// dropped only if it is still that value, so a hundred browsers reporting the same key cost one mint, and a stale
    /// report just gets the secret already cached. The browser retries once with the answer: never a loop.
    /// </summary>
    public async Task<IssuedSecret> ReplaceRefusedAsync(SessionConfiguration? session, string refusedValue, CancellationToken cancellationToken)
    {
        session ??= DefaultSession;
        if (_mode == SecretMode.Shared)
        {
            var slot = SlotFor(session);
            var dropped = false;
            lock (slot.Gate)
            {
                if (slot.Current is { } current && string.Equals(current.Value, refusedValue, StringComparison.Ordinal))
                {
                    slot.Current = null;
                    dropped = true;
                }
            }

            if (dropped)
            {
                BrokerLog.ReusedSecretRefused(_logger, session.Key);
                _signals.OnReusedSecretReplaced();
            }
        }

        return await GetSecretAsync(session, cancellationToken);
    }

    /// <summary>Switches mode for the next callers (also from the dashboard); Pool starts filling at once.</summary>
    public void SwitchMode(SecretMode mode)
    {
        _mode = mode;
        BrokerLog.ModeSwitched(_logger, mode);
        _signals.OnModeChanged(mode, _options.PoolSize);
        if (mode == SecretMode.Pool)
        {
            _ = StartPoolRefill(SlotFor(DefaultSession), DefaultSession);
        }
    }

    /// <summary>Mints a new secret for the default configuration now (Shared: replaces the cached one; Pool: refills from empty).</summary>
    public async Task ForceRefreshAsync(CancellationToken cancellationToken)
    {
        var slot = SlotFor(DefaultSession);
        if (_mode == SecretMode.Pool)
        {
            lock (slot.Gate)
            {
                slot.Pool.Clear();
            }

            _signals.OnPoolLevelChanged(0);
            await StartPoolRefill(slot, DefaultSession).WaitAsync(cancellationToken);
            return;
        }

        Task<ClientSecret> mint;
        lock (slot.Gate)
        {
            if (slot.InFlight is null && slot.Current is { } current && _time.GetUtcNow() - current.MintedOn < MinimumForcedRefreshInterval)
            {
                // Pressed again and again, "Force refresh" must not drain the organization's budget: one mint per interval.
                return;
            }

            mint = slot.InFlight ?? StartMint(slot, DefaultSession);
        }

        await mint.WaitAsync(cancellationToken);
    }

    /// <summary>A forced refresh within this long of the last mint reuses it.</summary>
    public static readonly TimeSpan MinimumForcedRefreshInterval = TimeSpan.FromSeconds(10);

    private async Task<IssuedSecret> GetSharedAsync(SessionConfiguration session, CancellationToken cancellationToken)
    {
        var slot = SlotFor(session);
        var now = _time.GetUtcNow();
        Task<ClientSecret> mint;
        bool joined;
        lock (slot.Gate)
        {
            if (slot.Current is { } current && current.IsUsable(now, _options.MinimumSecretLife))
            {
                if (current.NeedsBackgroundRefresh(now) && slot.InFlight is null && now >= slot.NextRefreshAttempt)
                {
                    BrokerLog.BackgroundRefresh(_logger, session.Key, current.ExpiresOn);
                    _ = ObserveBackgroundAsync(StartMint(slot, session));
                }

                return new IssuedSecret(current, SecretMode.Shared, SecretSource.Cache);
            }

            joined = slot.InFlight is not null;
            mint = slot.InFlight ?? StartMint(slot, session);
        }

        // The mint runs on the broker's own token: this caller giving up does not cancel it for the others.
        var secret = await mint.WaitAsync(cancellationToken);
        return new IssuedSecret(secret, SecretMode.Shared, joined ? SecretSource.JoinedMint : SecretSource.Minted);
    }

    private async Task<IssuedSecret> TakeFromPoolAsync(SessionConfiguration session, CancellationToken cancellationToken)
    {
        if (session.Key != _defaultKey)
        {
            // Only the default configuration is pooled: a pool per caller-chosen configuration would mint ahead for nobody.
            return new IssuedSecret(await MintAsync(session, cancellationToken), SecretMode.Pool, SecretSource.Minted);
        }

        var slot = SlotFor(session);
        var now = _time.GetUtcNow();
        ClientSecret? taken = null;
        int level;
        lock (slot.Gate)
        {
            while (slot.Pool.TryDequeue(out var candidate))
            {
                if (candidate.IsUsable(now, _options.MinimumSecretLife))
                {
                    taken = candidate;
                    break;
                }
            }

            level = slot.Pool.Count;
        }

        _signals.OnPoolLevelChanged(level);
        _ = StartPoolRefill(slot, session);
        return taken is not null
            ? new IssuedSecret(taken, SecretMode.Pool, SecretSource.Pool)
            : new IssuedSecret(await MintAsync(session, cancellationToken), SecretMode.Pool, SecretSource.Minted);
    }

    private Task StartPoolRefill(SecretSlot slot, SessionConfiguration session)
    {
        lock (slot.Gate)
        {
            if (slot.Refill is { IsCompleted: false } running)
            {
                return running;
            }

            if (_time.GetUtcNow() < slot.NextRefreshAttempt)
            {
                return Task.CompletedTask;
            }

            slot.Refill = Task.Run(() => RefillPoolAsync(slot, session));
            return slot.Refill;
        }
    }

    private async Task RefillPoolAsync(SecretSlot slot, SessionConfiguration session)
    {
        while (!_stopping.IsCancellationRequested)
        {
            lock (slot.Gate)
            {
                if (slot.Pool.Count >= _options.PoolSize)
                {
                    return;
                }
            }

            try
            {
                var secret = await MintAsync(session, _stopping.Token, forPool: true);
                int level;
                lock (slot.Gate)
                {
                    slot.Pool.Enqueue(secret);
                    level = slot.Pool.Count;
                }

                _signals.OnPoolLevelChanged(level);
            }
            catch (Exception ex) when (ex is UpstreamRefusal or OperationCanceledException)
            {
                // Out of budget or upstream trouble: stop filling; the next take tries again after the delay.
                lock (slot.Gate)
                {
                    slot.NextRefreshAttempt = _time.GetUtcNow() + _options.FailedRefreshRetryDelay;
                }

                return;
            }
        }
    }

    private Task<ClientSecret> StartMint(SecretSlot slot, SessionConfiguration session)
    {
        // Called under slot.Gate: the mint clears InFlight under the same lock, so it cannot finish before it is published.
        var mint = Task.Run(() => MintAsync(session, _stopping.Token, slot));
        slot.InFlight = mint;
        return mint;
    }

    private async Task ObserveBackgroundAsync(Task<ClientSecret> refresh)
    {
        try
        {
            await refresh;
        }
        catch (Exception ex) when (ex is UpstreamRefusal or OperationCanceledException)
        {
            BrokerLog.BackgroundRefreshFailed(_logger, ex.Message);
        }
    }

    /// <summary>
    /// Mints one secret. With a <paramref name="sharedSlot"/>, the slot is updated (new secret, or the time of the next
    /// attempt) before telemetry reports the outcome, so anyone who sees the report also sees the broker's new state.
    /// </summary>
    private async Task<ClientSecret> MintAsync(SessionConfiguration session, CancellationToken cancellationToken, SecretSlot? sharedSlot = null, bool forPool = false)
    {
        var started = Stopwatch.GetTimestamp();
        ClientSecret secret;
        try
        {
            var minted = await _minter.MintClientSecretAsync(session, cancellationToken);
            secret = ClientSecret.FromUpstream(
                minted.Value, minted.ReceivedAt, minted.ExpiresAt, session.Key,
                _options.RefreshMarginFraction, _options.RefreshJitterFraction, Random.Shared.NextDouble(), _options.MinimumSecretLife);
            if (!secret.IsUsable(minted.ReceivedAt, _options.MinimumSecretLife))
            {
                throw UpstreamRefusal.Failed(
                    $"Upstream issued a secret that expires at {minted.ExpiresAt:O}, less than the minimum life of {_options.MinimumSecretLife.TotalSeconds:0} s away.", null);
            }
        }
        catch
        {
            if (sharedSlot is not null)
            {
                lock (sharedSlot.Gate)
                {
                    sharedSlot.InFlight = null;
                    sharedSlot.NextRefreshAttempt = _time.GetUtcNow() + _options.FailedRefreshRetryDelay;
                }
            }

            _signals.OnMintFinished(false, Stopwatch.GetElapsedTime(started), null);
            throw;
        }

        if (sharedSlot is not null)
        {
            lock (sharedSlot.Gate)
            {
                sharedSlot.Current = secret;
                sharedSlot.InFlight = null;
            }
        }

        _signals.OnMintFinished(true, Stopwatch.GetElapsedTime(started), forPool ? null : secret);
        return secret;
    }

    // The default configuration's key is hashed once: it is the one nearly every request asks for.
    private SecretSlot SlotFor(SessionConfiguration session) =>
        _slots.GetOrAdd(ReferenceEquals(session, DefaultSession) ? _defaultKey : session.Key, static _ => new SecretSlot());

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private sealed class SecretSlot
    {
        public Lock Gate { get; } = new();

        public ClientSecret? Current { get; set; }

        public Task<ClientSecret>? InFlight { get; set; }

        public DateTimeOffset NextRefreshAttempt { get; set; }

        public Queue<ClientSecret> Pool { get; } = new();

        public Task? Refill { get; set; }
    }
}

internal static partial class BrokerLog
{
    [LoggerMessage(EventId = 3201, Level = LogLevel.Information, Message = "Secret mode switched to {Mode}")]
    public static partial void ModeSwitched(ILogger logger, SecretMode mode);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Information, Message = "Refreshing the shared secret for {Key} in the background (it expires at {ExpiresOn:O})")]
    public static partial void BackgroundRefresh(ILogger logger, string key, DateTimeOffset expiresOn);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Warning, Message = "Background refresh failed, still serving the current secret: {Reason}")]
    public static partial void BackgroundRefreshFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 3204, Level = LogLevel.Warning, Message = "Upstream refused the shared secret for {Key} as already used (401 on reuse); minting a fresh one once")]
    public static partial void ReusedSecretRefused(ILogger logger, string key);
}
