namespace RealtimeConsole.RateLimits;

/// <summary>
/// Keeps requests away from an account that is out of quota. Until some upstream answer has shown quota is there (at
/// start-up, and again once the re-check time after <c>insufficient_quota</c> has passed), exactly one probe request
/// goes upstream and the others wait for its answer; after <c>insufficient_quota</c> nothing is sent until the re-check.
/// </summary>
public sealed class QuotaExhaustionGate(TimeProvider time) : IQuotaGate
{
    private readonly Lock _gate = new();
    private DateTimeOffset? _recheckAt;
    private bool _verified;
    private bool _probeInFlight;
    private string? _lastRequestId;
    private TaskCompletionSource _probeAnswered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public event Action? Changed;

    /// <summary>When quota was last found exhausted: the time after which one probe may go; null when quota is not known to be out.</summary>
    public DateTimeOffset? RecheckAt
    {
        get { lock (_gate) { return _recheckAt; } }
    }

    /// <summary>Decides whether this request may go upstream, waiting at most <paramref name="maxWait"/> for a probe already in flight.</summary>
    public async ValueTask<QuotaAdmission> EnterAsync(TimeSpan maxWait, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + maxWait;
        for (var round = 0; round < 1000; round++)
        {
            Task probeAnswered;
            lock (_gate)
            {
                var now = time.GetUtcNow();
                if (_recheckAt is { } recheck && now < recheck)
                {
                    return QuotaAdmission.Refused(recheck - now);
                }

                if (_verified)
                {
                    return QuotaAdmission.Go;
                }

                if (!_probeInFlight)
                {
                    _probeInFlight = true;
                    _probeAnswered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    return QuotaAdmission.Probe;
                }

                probeAnswered = _probeAnswered.Task;
                if (now >= deadline)
                {
                    // The probe is slow, not refused: let this caller go rather than answer 429 for nothing.
                    return QuotaAdmission.Go;
                }
            }

            try
            {
                await probeAnswered.WaitAsync(deadline - time.GetUtcNow(), time, cancellationToken);
            }
            catch (TimeoutException)
            {
                return QuotaAdmission.Go;
            }
        }

        return QuotaAdmission.Go;
    }

    /// <summary>The <c>x-request-id</c> of the last insufficient_quota answer, quoted when callers are refused without asking again.</summary>
    public string? LastRequestId
    {
        get { lock (_gate) { return _lastRequestId; } }
    }

    public void QuotaExhausted(TimeSpan recheckInterval, string? requestId = null) => QuotaExhaustedUntil(time.GetUtcNow() + recheckInterval, requestId);

    /// <summary>Quota is out until <paramref name="recheckAt"/> (another instance found out and said until when).</summary>
    public void QuotaExhaustedUntil(DateTimeOffset recheckAt, string? requestId)
    {
        lock (_gate)
        {
            _lastRequestId = requestId ?? _lastRequestId;
            _recheckAt = recheckAt;
            _verified = false;
            EndProbe();
        }

        Changed?.Invoke();
    }

    /// <summary>Upstream answered with anything but insufficient_quota: quota is there.</summary>
    public void QuotaAvailable()
    {
        lock (_gate)
        {
            if (_verified && _recheckAt is null)
            {
                return;
            }

            _verified = true;
            _recheckAt = null;
            EndProbe();
        }

        Changed?.Invoke();
    }

    /// <summary>The probe ended without an answer about quota (timeout, connection error, our own budget): let another try.</summary>
    public void ProbeFinished()
    {
        lock (_gate)
        {
            EndProbe();
        }
    }

    private void EndProbe()
    {
        _probeInFlight = false;
        _probeAnswered.TrySetResult();
    }
}

/// <summary>Keeps requests away from an account out of quota: <see cref="QuotaExhaustionGate"/> in one process, or one gate for the whole deployment.</summary>
public interface IQuotaGate
{
    DateTimeOffset? RecheckAt { get; }

    string? LastRequestId { get; }

    event Action? Changed;

    ValueTask<QuotaAdmission> EnterAsync(TimeSpan maxWait, CancellationToken cancellationToken);

    void QuotaExhausted(TimeSpan recheckInterval, string? requestId = null);

    void QuotaAvailable();

    void ProbeFinished();
}

/// <summary>The quota gate's answer for one request.</summary>
public readonly record struct QuotaAdmission(bool MayGo, bool IsProbe, TimeSpan RecheckIn)
{
    public static QuotaAdmission Go => new(true, false, TimeSpan.Zero);

    public static QuotaAdmission Probe => new(true, true, TimeSpan.Zero);

    public static QuotaAdmission Refused(TimeSpan recheckIn) => new(false, false, recheckIn);
}
