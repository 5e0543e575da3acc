using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace RealtimeConsole.Simulator;

/// <summary>An issued ephemeral key and the session configuration it opens.</summary>
public sealed record IssuedClientSecret(string Value, DateTimeOffset ExpiresAt, SimulatorSession Configuration)
{
    private int _sessionsOpened;

    /// <summary>A fresh copy of the session configuration bound to the key.</summary>
    public JsonObject Session() => Configuration.ToJsonObject();

    /// <summary>Counts a session opened with this key; true for the first (atomic, so two racing calls cannot both be first).</summary>
    public bool OpenSession() => Interlocked.Increment(ref _sessionsOpened) == 1;
}

public enum ClientSecretState
{
    Active,
    Expired,
    Unknown,
}

/// <summary>
/// The <c>ek_</c> keys the simulator has issued, kept until they expire. A DI singleton: the media peer looks a key up
/// with <see cref="Find"/>.
/// </summary>
public sealed class SimulatorClientSecrets(TimeProvider time)
{
    private const int SweepEvery = 4096;
    private const int KeyBytes = 16;

    // Many lock stripes and room for a few seconds of minting at bench rates: inserts neither queue nor resize often.
    private readonly ConcurrentDictionary<string, IssuedClientSecret> _secrets = new(concurrencyLevel: 64, capacity: 1 << 16, StringComparer.Ordinal);

    // Cryptographic randomness fetched 4 KiB at a time per thread: one RNG call per 256 keys instead of one per key.
    [ThreadStatic]
    private static byte[]? t_random;

    [ThreadStatic]
    private static int t_randomUsed;
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(5);
    private int _issuedSinceSweep;
    private long _lastSweepTicks;

    /// <summary>Issues a new <c>ek_</c> key for <paramref name="session"/>, valid for <paramref name="lifetime"/>.</summary>
    public IssuedClientSecret Issue(SimulatorSession session, TimeSpan lifetime) => Issue(session, time.GetUtcNow() + lifetime);

    /// <summary>Issues a new <c>ek_</c> key for <paramref name="session"/>, valid until <paramref name="expiresAt"/>.</summary>
    public IssuedClientSecret Issue(SimulatorSession session, DateTimeOffset expiresAt)
    {
        var secret = new IssuedClientSecret("ek_" + Convert.ToHexStringLower(NextRandom()), expiresAt, session);
        _secrets[secret.Value] = secret;
        // Expired keys are dropped in passes at most every few seconds, so minting stays O(1) under load.
        if (Interlocked.Increment(ref _issuedSinceSweep) >= SweepEvery)
        {
            Volatile.Write(ref _issuedSinceSweep, 0);
            var now = time.GetUtcNow().UtcTicks;
            var last = Volatile.Read(ref _lastSweepTicks);
            if (now - last >= SweepInterval.Ticks && Interlocked.CompareExchange(ref _lastSweepTicks, now, last) == last)
            {
                SweepExpired();
            }
        }

        return secret;
    }

    private static ReadOnlySpan<byte> NextRandom()
    {
        var pool = t_random;
        if (pool is null || t_randomUsed >= pool.Length)
        {
            pool = t_random ??= new byte[256 * KeyBytes];
            RandomNumberGenerator.Fill(pool);
            t_randomUsed = 0;
        }

        var slice = pool.AsSpan(t_randomUsed, KeyBytes);
        t_randomUsed += KeyBytes;
        return slice;
    }

    /// <summary>Looks up <paramref name="value"/>: active, expired (kept until the next sweep) or unknown.</summary>
    public ClientSecretState Find(string value, out IssuedClientSecret? secret)
    {
        if (!_secrets.TryGetValue(value, out secret))
        {
            return ClientSecretState.Unknown;
        }

        return secret.ExpiresAt <= time.GetUtcNow() ? ClientSecretState.Expired : ClientSecretState.Active;
    }

    /// <summary>Keys currently held (active or not yet swept).</summary>
    public int Count => _secrets.Count;

    /// <summary>Forgets every key.</summary>
    public void Clear() => _secrets.Clear();

    private void SweepExpired()
    {
        var now = time.GetUtcNow();
        foreach (var (value, secret) in _secrets)
        {
            if (secret.ExpiresAt <= now)
            {
                _secrets.TryRemove(value, out _);
            }
        }
    }
}
