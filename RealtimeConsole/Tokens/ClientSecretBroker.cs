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
/// Hands out client secrets by <see cref="SecretMode"/>, keyed by session configuration, keeping the reusable ones in an
/// <see cref="ISecretCache"/> (this process's memory, or Redis shared by the deployment). Single-flight per key: any number
/// of concurrent callers cause at most one mint and share its result or error; a caller cancelling only stops its own wait.
/// Shared secrets are refreshed in the background from <see cref="ClientSecret.RefreshOn"/>; a failed refresh keeps serving
/// the still-valid secret and tries again after <see cref="SecretOptions.FailedRefreshRetryDelay"/>.
/// </summary>
public sealed class ClientSecretBroker : IDisposable
{
    private readonly IClientSecretMinter _minter;
    private readonly ISecretCache _cache;
    private readonly SecretOptions _options;
    private readonly TimeProvider _time;
    private readonly SecretSignals _signals;
    private readonly ILogger<ClientSecretBroker> _logger;
    private readonly ConcurrentDictionary<string, SecretSlot> _slots = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly string _defaultKey;
    private volatile SecretMode _mode;

    public ClientSecretBroker(IClientSecretMinter minter, ISecretCache cache, IOptions<SecretOptions> options, TimeProvider time, SecretSignals signals, ILogger<ClientSecretBroker> logger)
    {
        _minter = minter;
        _cache = cache;
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
            var key = KeyOf(session);
            var slot = SlotFor(key);
            var dropped = false;
            lock (slot.Gate)
            {
                if (_cache.Peek(key) is { } current && string.Equals(current.Value, refusedValue, StringComparison.Ordinal))
                {
                    // Remembered so that the shared store, which may still hold it, cannot hand it back.
                    slot.Refused = refusedValue;
                    _cache.Forget(key);
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
            _ = StartPoolRefill(SlotFor(_defaultKey), _defaultKey, DefaultSession);
        }
    }

    /// <summary>
    /// Mints a new secret for the default configuration now (Shared: replaces the cached one on every instance; Pool: refills
    /// from empty). Pressed on several instances within <see cref="MinimumForcedRefreshInterval"/>, the deployment mints once.
    /// </summary>
    public async Task ForceRefreshAsync(CancellationToken cancellationToken)
    {
        var slot = SlotFor(_defaultKey);
        if (_mode == SecretMode.Pool)
        {
            await _cache.ClearPoolAsync(_defaultKey);
            _signals.OnPoolLevelChanged(0);
            await StartPoolRefill(slot, _defaultKey, DefaultSession).WaitAsync(cancellationToken);
            return;
        }

        Task<SharedSecretUpdate> update;
        lock (slot.Gate)
        {
            if (slot.InFlight is null && _cache.Peek(_defaultKey) is { } current && MintedLately(current))
            {
                // Pressed again and again, "Force refresh" must not drain the organization's budget: one mint per interval.
                return;
            }

            update = slot.InFlight ?? StartSharedUpdate(slot, _defaultKey, DefaultSession, MintedLately);
        }

        await update.WaitAsync(cancellationToken);
    }

    /// <summary>A forced refresh within this long of the last mint reuses it.</summary>
    public static readonly TimeSpan MinimumForcedRefreshInterval = TimeSpan.FromSeconds(10);

    private bool MintedLately(ClientSecret secret) => _time.GetUtcNow() - secret.MintedOn < MinimumForcedRefreshInterval;

    private async Task<IssuedSecret> GetSharedAsync(SessionConfiguration session, CancellationToken cancellationToken)
    {
        var key = KeyOf(session);
        var now = _time.GetUtcNow();

        // The hot path takes no lock: a usable secret that is not due for refresh is all most callers need.
        if (_cache.Peek(key) is { } held && held.IsUsable(now, _options.MinimumSecretLife) && !held.NeedsBackgroundRefresh(now))
        {
            return new IssuedSecret(held, SecretMode.Shared, SecretSource.Cache);
        }

        var slot = SlotFor(key);
        Task<SharedSecretUpdate> update;
        bool joined;
        lock (slot.Gate)
        {
            if (_cache.Peek(key) is { } current && current.IsUsable(now, _options.MinimumSecretLife))
            {
                if (current.NeedsBackgroundRefresh(now) && slot.InFlight is null && now >= slot.NextRefreshAttempt)
                {
                    BrokerLog.BackgroundRefresh(_logger, session.Key, current.ExpiresOn);
                    _ = ObserveBackgroundAsync(StartSharedUpdate(slot, key, session, NeedsNoRefresh));
                }

                return new IssuedSecret(current, SecretMode.Shared, SecretSource.Cache);
            }

            joined = slot.InFlight is not null;
            var refused = slot.Refused;
            update = slot.InFlight ?? StartSharedUpdate(slot, key, session, stored => IsServable(stored) && !string.Equals(stored.Value, refused, StringComparison.Ordinal));
        }

        // The update runs on the broker's own token: this caller giving up does not cancel it for the others.
        var result = await update.WaitAsync(cancellationToken);
        var source = !result.Minted ? SecretSource.Cache : joined ? SecretSource.JoinedMint : SecretSource.Minted;
        return new IssuedSecret(result.Secret, SecretMode.Shared, source);
    }

    private bool IsServable(ClientSecret secret) => secret.IsUsable(_time.GetUtcNow(), _options.MinimumSecretLife);

    private bool NeedsNoRefresh(ClientSecret secret) => IsServable(secret) && !secret.NeedsBackgroundRefresh(_time.GetUtcNow());

    private async Task<IssuedSecret> TakeFromPoolAsync(SessionConfiguration session, CancellationToken cancellationToken)
    {
        var key = KeyOf(session);
        if (key != _defaultKey)
        {
            // Only the default configuration is pooled: a pool per caller-chosen configuration would mint ahead for nobody.
            return new IssuedSecret(await MintAsync(session, cancellationToken), SecretMode.Pool, SecretSource.Minted);
        }

        var taken = await _cache.TakeFromPoolAsync(key, IsServable);
        _signals.OnPoolLevelChanged(taken.Level);
        _ = StartPoolRefill(SlotFor(key), key, session);
        return taken.Secret is { } secret
            ? new IssuedSecret(secret, SecretMode.Pool, SecretSource.Pool)
            : new IssuedSecret(await MintAsync(session, cancellationToken), SecretMode.Pool, SecretSource.Minted);
    }

    private Task StartPoolRefill(SecretSlot slot, string key, SessionConfiguration session)
    {
        lock (slot.Gate)
        {
            if (slot.Refill is { IsCompleted: false } running)
            {
                // The running refill may already have found the pool full before this take: it looks once more before it ends.
                slot.RefillAgain = true;
                return running;
            }

            if (_time.GetUtcNow() < slot.NextRefreshAttempt)
            {
                return Task.CompletedTask;
            }

            slot.Refill = Task.Run(() => RefillPoolAsync(slot, key, session));
            return slot.Refill;
        }
    }

    private async Task RefillPoolAsync(SecretSlot slot, string key, SessionConfiguration session)
    {
        while (await FillPoolAsync(slot, key, session))
        {
            lock (slot.Gate)
            {
                if (!slot.RefillAgain || _stopping.IsCancellationRequested)
                {
                    return;
                }

                slot.RefillAgain = false;
            }
        }
    }

    /// <summary>Mints until the pool is full (true) or a mint is refused (false: stop until the retry delay has passed).</summary>
    private async Task<bool> FillPoolAsync(SecretSlot slot, string key, SessionConfiguration session)
    {
        // Each mint claims its place first, so instances filling one shared pool together never overfill it.
        while (!_stopping.IsCancellationRequested && await _cache.ReservePoolPlaceAsync(key, _options.PoolSize) is { } place)
        {
            ClientSecret secret;
            try
            {
                secret = await MintAsync(session, _stopping.Token, forPool: true);
            }
            catch (Exception ex) when (ex is UpstreamRefusal or OperationCanceledException)
            {
                // Out of budget or upstream trouble: stop filling; the next take tries again after the delay.
                await _cache.ReleasePoolPlaceAsync(key, place);
                lock (slot.Gate)
                {
                    slot.NextRefreshAttempt = _time.GetUtcNow() + _options.FailedRefreshRetryDelay;
                    slot.RefillAgain = false;
                }

                return false;
            }

            _signals.OnPoolLevelChanged(await _cache.AddToPoolAsync(key, place, secret));
        }

        return true;
    }

    private Task<SharedSecretUpdate> StartSharedUpdate(SecretSlot slot, string key, SessionConfiguration session, Func<ClientSecret, bool> keep)
    {
        // Called under slot.Gate: the update clears InFlight under the same lock, so it cannot finish before it is published.
        var update = Task.Run(() => UpdateSharedAsync(slot, key, session, keep));
        slot.InFlight = update;
        return update;
    }

    /// <summary>
    /// One update of a Shared secret. The cache holds the outcome (and the slot the time of the next attempt) before telemetry
    /// reports it, so anyone who sees the report also sees the broker's new state.
    /// </summary>
    private async Task<SharedSecretUpdate> UpdateSharedAsync(SecretSlot slot, string key, SessionConfiguration session, Func<ClientSecret, bool> keep)
    {
        var started = Stopwatch.GetTimestamp();
        var minting = false;
        SharedSecretUpdate update;
        try
        {
            update = await _cache.UpdateSharedAsync(key, keep, cancellationToken =>
            {
                minting = true;
                return MintSecretAsync(session, cancellationToken);
            }, _stopping.Token);
        }
        catch
        {
            lock (slot.Gate)
            {
                slot.InFlight = null;
                slot.NextRefreshAttempt = _time.GetUtcNow() + _options.FailedRefreshRetryDelay;
            }

            if (minting)
            {
                _signals.OnMintFinished(false, Stopwatch.GetElapsedTime(started), null);
            }

            throw;
        }

        lock (slot.Gate)
        {
            slot.InFlight = null;
            if (update.Minted)
            {
                slot.Refused = null;
            }
        }

        if (update.Minted)
        {
            _signals.OnMintFinished(true, Stopwatch.GetElapsedTime(started), update.Secret);
        }

        return update;
    }

    private async Task ObserveBackgroundAsync(Task<SharedSecretUpdate> refresh)
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

    /// <summary>Mints one secret that is not cached as the Shared one (PerSession, Pool, or a configuration outside the pool).</summary>
    private async Task<ClientSecret> MintAsync(SessionConfiguration session, CancellationToken cancellationToken, bool forPool = false)
    {
        var started = Stopwatch.GetTimestamp();
        ClientSecret secret;
        try
        {
            secret = await MintSecretAsync(session, cancellationToken);
        }
        catch
        {
            _signals.OnMintFinished(false, Stopwatch.GetElapsedTime(started), null);
            throw;
        }

        _signals.OnMintFinished(true, Stopwatch.GetElapsedTime(started), forPool ? null : secret);
        return secret;
    }

    /// <summary>Mints upstream and reads the answer into a <see cref="ClientSecret"/> with its refresh point; refuses one too short-lived to hand out.</summary>
    private async Task<ClientSecret> MintSecretAsync(SessionConfiguration session, CancellationToken cancellationToken)
    {
        var minted = await _minter.MintClientSecretAsync(session, cancellationToken);
        var secret = ClientSecret.FromUpstream(
            minted.Value, minted.ReceivedAt, minted.ExpiresAt, session.Key,
            _options.RefreshMarginFraction, _options.RefreshJitterFraction, Random.Shared.NextDouble(), _options.MinimumSecretLife);
        if (!secret.IsUsable(minted.ReceivedAt, _options.MinimumSecretLife))
        {
            throw UpstreamRefusal.Failed(
                $"Upstream issued a secret that expires at {minted.ExpiresAt:O}, less than the minimum life of {_options.MinimumSecretLife.TotalSeconds:0} s away.", null);
        }

        return secret;
    }

    // The default configuration's key is hashed once: it is the one nearly every request asks for.
    private string KeyOf(SessionConfiguration session) => ReferenceEquals(session, DefaultSession) ? _defaultKey : session.Key;

    private SecretSlot SlotFor(string key) => _slots.GetOrAdd(key, static _ => new SecretSlot());

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    /// <summary>This instance's work on one configuration: the update in flight, when to try again, the pool refill.</summary>
    private sealed class SecretSlot
    {
        public Lock Gate { get; } = new();

        public Task<SharedSecretUpdate>? InFlight { get; set; }

        public DateTimeOffset NextRefreshAttempt { get; set; }

        /// <summary>A value a browser reported refused, never to be kept again (cleared by the next mint).</summary>
        public string? Refused { get; set; }

        public Task? Refill { get; set; }

        /// <summary>A take came while <see cref="Refill"/> ran: it checks the pool once more before ending.</summary>
        public bool RefillAgain { get; set; }
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
