using System.Net.Sockets;
using System.Text;
using StackExchange.Redis;

namespace RealtimeConsole.Tests.Infrastructure;

/// <summary>One command as Redis executed it (MONITOR order): who sent it (the client's name, the console sets its instance id) and its words.</summary>
public sealed record RedisCommand(int Index, string? Client, IReadOnlyList<string> Words)
{
    public string Name => Words.Count > 0 ? Words[0].ToUpperInvariant() : "";

    public bool Has(string word) => Words.Skip(1).Any(w => string.Equals(w, word, StringComparison.OrdinalIgnoreCase));
}

/// <summary>
/// Every command a real redis-server executes, in its order, read through <c>MONITOR</c> on a connection of its own; a test
/// waits on a condition over the log, checked as each command arrives (no polling). Clients are named from <c>CLIENT LIST</c>.
/// </summary>
public sealed class RedisCommandLog : IAsyncDisposable
{
    private readonly TcpClient _tcp = new();
    private readonly ConnectionMultiplexer _admin;
    private readonly Lock _gate = new();
    private readonly List<RedisCommand> _commands = [];
    private readonly List<(Func<IReadOnlyList<RedisCommand>, bool> Condition, TaskCompletionSource Met)> _waiters = [];
    private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private Task _reading = Task.CompletedTask;

    private RedisCommandLog(ConnectionMultiplexer admin) => _admin = admin;

    public static async Task<RedisCommandLog> StartAsync(RedisServer redis)
    {
        var log = new RedisCommandLog(await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true"));
        await log._tcp.ConnectAsync("127.0.0.1", redis.Port);
        var stream = log._tcp.GetStream();
        await stream.WriteAsync("MONITOR\r\n"u8.ToArray());
        var reader = new StreamReader(stream, Encoding.Latin1);
        Assert.Equal("+OK", await reader.ReadLineAsync());
        log._reading = Task.Run(() => log.ReadAsync(reader));
        return log;
    }

    public IReadOnlyList<RedisCommand> Commands
    {
        get { lock (_gate) { return [.. _commands]; } }
    }

    /// <summary>Puts a mark in the log (an ECHO sent from here), and completes once the log has reached it.</summary>
    public async Task<int> MarkAsync(string mark)
    {
        var seen = WaitForAsync(log => log.Any(c => c.Name == "ECHO" && c.Has(mark)));
        await _admin.GetDatabase().ExecuteAsync("ECHO", mark);
        await seen;
        return Commands.First(c => c.Name == "ECHO" && c.Has(mark)).Index;
    }

    /// <summary>Completes when <paramref name="condition"/> holds over the log so far (checked now and after each command), or fails after a minute.</summary>
    public Task WaitForAsync(Func<IReadOnlyList<RedisCommand>, bool> condition)
    {
        var met = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (condition(_commands))
            {
                return Task.CompletedTask;
            }

            _waiters.Add((condition, met));
        }

        return met.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    private async Task ReadAsync(StreamReader reader)
    {
        while (!_stop.IsCancellationRequested && await reader.ReadLineAsync(_stop.Token) is { } line)
        {
            // +1700000000.123456 [0 127.0.0.1:54321] "SET" "key" "value"
            var from = line.IndexOf(" [", StringComparison.Ordinal);
            var to = line.IndexOf("] ", StringComparison.Ordinal);
            if (from < 0 || to < from)
            {
                continue;
            }

            var address = line[(from + 2)..to].Split(' ').Last();
            var client = await NameOfAsync(address);
            lock (_gate)
            {
                _commands.Add(new RedisCommand(_commands.Count, client, Words(line[(to + 2)..])));
                foreach (var waiter in _waiters.Where(w => w.Condition(_commands)).ToList())
                {
                    _waiters.Remove(waiter);
                    waiter.Met.TrySetResult();
                }
            }
        }
    }

    private async Task<string?> NameOfAsync(string address)
    {
        // Commands a script runs show as "lua"; a connection names itself just after its first command, so an unnamed one is asked again.
        if (address == "lua")
        {
            return null;
        }

        if (_names.TryGetValue(address, out var name))
        {
            return name;
        }

        var clients = await _admin.GetServer(_admin.GetEndPoints()[0]).ClientListAsync();
        foreach (var client in clients)
        {
            if (!string.IsNullOrEmpty(client.Name) && client.Address is { } endpoint)
            {
                _names[endpoint.ToString()!] = client.Name;
            }
        }

        return _names.GetValueOrDefault(address);
    }

    /// <summary>The quoted words of one MONITOR line, with Redis's escapes (\" \\ \n \r \t \xHH) undone.</summary>
    private static List<string> Words(string text)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (!quoted)
            {
                quoted = c == '"';
                continue;
            }

            if (c == '"')
            {
                words.Add(word.ToString());
                word.Clear();
                quoted = false;
            }
            else if (c == '\\' && i + 1 < text.Length)
            {
                var next = text[++i];
                word.Append(next switch
                {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'x' when i + 2 < text.Length => (char)Convert.ToInt32(text.Substring(i + 1, 2), 16),
                    _ => next,
                });
                if (next == 'x')
                {
                    i += 2;
                }
            }
            else
            {
                word.Append(c);
            }
        }

        return words;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _tcp.Dispose();
        try
        {
            await _reading;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The log ends with its connection.
        }

        await _admin.DisposeAsync();
        _stop.Dispose();
    }
}
