using System.Security.Cryptography;

namespace RealtimeConsole.Deployment;

/// <summary>This running instance of the console: the id every shared record, <c>/limits</c> row and trace names it by.</summary>
public sealed class ConsoleInstance
{
    public ConsoleInstance(string? configuredId, DateTimeOffset startedAt)
    {
        Id = string.IsNullOrWhiteSpace(configuredId)
            ? $"{Environment.MachineName.ToLowerInvariant()}-{Environment.ProcessId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(2))}"
            : configuredId;
        StartedAt = startedAt;
    }

    public string Id { get; }

    public DateTimeOffset StartedAt { get; }

    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Where this instance listens (its first server address), known once the server has started.</summary>
    public string? Address { get; set; }

    /// <summary>Completes once the server has started and <see cref="Address"/> is as known as it will be.</summary>
    public Task Started => _started.Task;

    /// <summary>The server has started, listening at <paramref name="address"/> (null when it has no network address, as in tests).</summary>
    public void MarkStarted(string? address)
    {
        Address = address;
        _started.TrySetResult();
    }
}
