namespace RealtimeConsole.RateLimits;

/// <summary>
/// After <c>insufficient_quota</c> nothing goes upstream until the re-check time; then exactly one probe
/// request may go while the others keep getting the quota answer.
/// </summary>
public sealed class QuotaExhaustionGate(TimeProvider time)
{
    private readonly Lock _gate = new();
    private DateTimeOffset? _recheckAt;
    private bool _probeInFlight;

    public event Action? Changed;

    /// <summary>The next time a request may go upstream, or null when quota is not known to be exhausted.</summary>
    public DateTimeOffset? RecheckAt
    {
        get { lock (_gate) { return _recheckAt; } }
    }

    /// <summary>True when this request may go upstream; false (with the re-check time) when it must be answered at once.</summary>
    public bool TryEnter(out DateTimeOffset recheckAt, out bool isProbe)
    {
        lock (_gate)
        {
            isProbe = false;
            recheckAt = _recheckAt ?? default;
            if (_recheckAt is null)
            {
                return true;
            }

            if (time.GetUtcNow() < _recheckAt || _probeInFlight)
            {
                return false;
            }

            _probeInFlight = true;
            isProbe = true;
            return true;
        }
    }

    public void QuotaExhausted(TimeSpan recheckInterval)
    {
        lock (_gate)
        {
            _recheckAt = time.GetUtcNow() + recheckInterval;
            _probeInFlight = false;
        }

        Changed?.Invoke();
    }

    /// <summary>A request that was let through answered without insufficient_quota: quota is back.</summary>
    public void QuotaAvailable()
    {
        lock (_gate)
        {
            if (_recheckAt is null)
            {
                return;
            }

            _recheckAt = null;
            _probeInFlight = false;
        }

        Changed?.Invoke();
    }

    /// <summary>The probe ended without telling us anything about quota (e.g. a timeout): allow another.</summary>
    public void ProbeInconclusive()
    {
        lock (_gate)
        {
            _probeInFlight = false;
        }
    }
}
