using System.Collections.Concurrent;

namespace RealtimeConsole.Tokens;

/// <summary>The secrets of one process on its own: a field per configuration and a queue for the pool.</summary>
public sealed class MemorySecretCache : ISecretCache
{
    private static readonly PoolPlace LocalPlace = new(Shared: false);
    private readonly ConcurrentDictionary<string, Entry> _entries = new();

    public ClientSecret? Peek(string key) => EntryFor(key).Current;

    public void Forget(string key) => EntryFor(key).Current = null;

    public async Task<SharedSecretUpdate> UpdateSharedAsync(string key, Func<ClientSecret, bool> keep, Func<CancellationToken, Task<ClientSecret>> mint, CancellationToken cancellationToken)
    {
        var entry = EntryFor(key);
        if (entry.Current is { } current && keep(current))
        {
            return new SharedSecretUpdate(current, Minted: false);
        }

        var secret = await mint(cancellationToken);
        entry.Current = secret;
        return new SharedSecretUpdate(secret, Minted: true);
    }

    public ValueTask<PoolTake> TakeFromPoolAsync(string key, Func<ClientSecret, bool> usable)
    {
        var entry = EntryFor(key);
        lock (entry.Gate)
        {
            while (entry.Pool.TryDequeue(out var candidate))
            {
                if (usable(candidate))
                {
                    return ValueTask.FromResult(new PoolTake(candidate, entry.Pool.Count));
                }
            }

            return ValueTask.FromResult(new PoolTake(null, 0));
        }
    }

    public ValueTask<PoolPlace?> ReservePoolPlaceAsync(string key, int size)
    {
        var entry = EntryFor(key);
        lock (entry.Gate)
        {
            if (entry.Pool.Count + entry.Filling >= size)
            {
                return ValueTask.FromResult<PoolPlace?>(null);
            }

            entry.Filling++;
            return ValueTask.FromResult<PoolPlace?>(LocalPlace);
        }
    }

    public ValueTask<int> AddToPoolAsync(string key, PoolPlace place, ClientSecret secret)
    {
        var entry = EntryFor(key);
        lock (entry.Gate)
        {
            entry.Filling = Math.Max(0, entry.Filling - 1);
            entry.Pool.Enqueue(secret);
            return ValueTask.FromResult(entry.Pool.Count);
        }
    }

    public ValueTask ReleasePoolPlaceAsync(string key, PoolPlace place)
    {
        var entry = EntryFor(key);
        lock (entry.Gate)
        {
            entry.Filling = Math.Max(0, entry.Filling - 1);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask ClearPoolAsync(string key)
    {
        var entry = EntryFor(key);
        lock (entry.Gate)
        {
            entry.Pool.Clear();
        }

        return ValueTask.CompletedTask;
    }

    private Entry EntryFor(string key) => _entries.GetOrAdd(key, static _ => new Entry());

    private sealed class Entry
    {
        private volatile ClientSecret? _current;

        public Lock Gate { get; } = new();

        public ClientSecret? Current
        {
            get => _current;
            set => _current = value;
        }

        public Queue<ClientSecret> Pool { get; } = new();

        public int Filling { get; set; }
    }
}
