namespace RealtimeConsole.Tokens;

/// <summary>
/// Where the broker keeps the secrets it reuses: the Shared secret per configuration and the Pool minted ahead. The broker
/// decides (usable, due for refresh, refused); the cache keeps, and in a deployment makes one mint serve every instance.
/// <see cref="MemorySecretCache"/> holds them in this process; <see cref="SharedSecretCache"/> shares them through Redis.
/// </summary>
public interface ISecretCache
{
    /// <summary>The Shared secret for <paramref name="key"/> as this instance holds it now: a memory read, never a round trip.</summary>
    ClientSecret? Peek(string key);

    /// <summary>Stops serving <paramref name="key"/>'s Shared secret from this instance's memory (the next caller asks the store).</summary>
    void Forget(string key);

    /// <summary>
    /// Brings <paramref name="key"/>'s Shared secret up to date once for the whole deployment: the stored secret stays if
    /// <paramref name="keep"/> accepts it (another instance may have replaced it already), otherwise <paramref name="mint"/>
    /// runs and its secret replaces it everywhere. Failures of <paramref name="mint"/> reach the caller unchanged.
    /// </summary>
    Task<SharedSecretUpdate> UpdateSharedAsync(string key, Func<ClientSecret, bool> keep, Func<CancellationToken, Task<ClientSecret>> mint, CancellationToken cancellationToken);

    /// <summary>Takes the oldest pooled secret <paramref name="usable"/> accepts (dropping the ones it refuses), with the pool's level after.</summary>
    ValueTask<PoolTake> TakeFromPoolAsync(string key, Func<ClientSecret, bool> usable);

    /// <summary>Claims one place to fill while the pool (secrets plus places being filled) is under <paramref name="size"/>; null when full.</summary>
    ValueTask<PoolPlace?> ReservePoolPlaceAsync(string key, int size);

    /// <summary>Fills a claimed place; returns the pool's level.</summary>
    ValueTask<int> AddToPoolAsync(string key, PoolPlace place, ClientSecret secret);

    /// <summary>Gives a claimed place back unfilled (the mint failed).</summary>
    ValueTask ReleasePoolPlaceAsync(string key, PoolPlace place);

    /// <summary>Empties the pool (a forced refresh).</summary>
    ValueTask ClearPoolAsync(string key);
}

/// <summary>The Shared secret after an update, and whether this update minted it (false: a stored one was kept).</summary>
public sealed record SharedSecretUpdate(ClientSecret Secret, bool Minted);

/// <summary>What a take from the pool found (null: nothing usable) and how many secrets are left.</summary>
public readonly record struct PoolTake(ClientSecret? Secret, int Level);

/// <summary>A place in the pool claimed for one mint; <see cref="Shared"/> says which store holds the claim.</summary>
public sealed record PoolPlace(bool Shared);
