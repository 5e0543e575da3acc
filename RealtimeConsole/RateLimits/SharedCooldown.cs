namespace RealtimeConsole.RateLimits;

/// <summary>
/// One cooldown window shared by every caller after upstream answered 429: nobody sends until it ends,
/// and waiters are released spread over a small random jitter instead of as a herd.
/// </summary>
public sealed class SharedCooldown(TimeProvider time) : IUpstreamCooldown
{
    private readonly Lock _gate = new();
    private DateTimeOffset _until;
    private string _reason = "";

    public event Action? Changed;

    public (DateTimeOffset Until, string Reason) State
    {
        get { lock (_gate) { return (_until, _reason); } }
    }

    public bool IsCoolingDown(DateTimeOffset now) => State.Until > now;

    public void CoolDownUntil(DateTimeOffset until, string reason)
    {
        lock (_gate)
        {
            if (until <= _until)
            {
                return;
            }

            _until = until;
            _reason = reason;
        }

        Changed?.Invoke();
    }

    /// <summary>How long this caller must still wait, including its own share of the release jitter; zero when open.</summary>
    public TimeSpan RemainingFor(DateTimeOffset now, TimeSpan maxJitter)
    {
        var until = State.Until;
        if (until <= now)
        {
            return TimeSpan.Zero;
        }

        var jitter = maxJitter > TimeSpan.Zero ? maxJitter * Random.Shared.NextDouble() : TimeSpan.Zero;
        return until - now + jitter;
    }

    public void Reset()
    {
        lock (_gate)
        {
            _until = time.GetUtcNow();
            _reason = "";
        }

        Changed?.Invoke();
    }
}

/// <summary>The cooldown after a 429 that every caller waits out: <see cref="SharedCooldown"/> in one process, or one key in the shared store.</summary>
public interface IUpstreamCooldown
{
    (DateTimeOffset Until, string Reason) State { get; }

    event Action? Changed;

    bool IsCoolingDown(DateTimeOffset now);

    void CoolDownUntil(DateTimeOffset until, string reason);

    TimeSpan RemainingFor(DateTimeOffset now, TimeSpan maxJitter);

    void Reset();
}
