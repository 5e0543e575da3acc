namespace RealtimeConsole.Simulator;

/// <summary>The kinds of trouble the simulator can be told to make.</summary>
public enum SimulatorFaultKind
{
    RateLimitStorm,
    InsufficientQuota,
    ServerError,
    Latency,
}

/// <summary>An active fault: until <see cref="EndsAt"/> (on the injected clock), for one resource or, when null, all of them.</summary>
public sealed record SimulatorFault(SimulatorFaultKind Kind, DateTimeOffset StartedAt, DateTimeOffset EndsAt, SimulatorResource? Resource, TimeSpan Latency)
{
    public bool Applies(SimulatorResource resource) => Resource is null || Resource == resource;

    public TimeSpan RemainingAt(DateTimeOffset now) => EndsAt > now ? EndsAt - now : TimeSpan.Zero;
}

public static class SimulatorFaultKinds
{
    public static readonly SimulatorFaultKind[] All =
        [SimulatorFaultKind.RateLimitStorm, SimulatorFaultKind.InsufficientQuota, SimulatorFaultKind.ServerError, SimulatorFaultKind.Latency];

    /// <summary>The wire name: <c>rate_limit_storm</c>, <c>insufficient_quota</c>, <c>server_error</c>, <c>latency</c>.</summary>
    public static string Name(this SimulatorFaultKind kind) => kind switch
    {
        SimulatorFaultKind.RateLimitStorm => "rate_limit_storm",
        SimulatorFaultKind.InsufficientQuota => "insufficient_quota",
        SimulatorFaultKind.ServerError => "server_error",
        _ => "latency",
    };

    public static bool TryParse(string? name, out SimulatorFaultKind kind)
    {
        foreach (var candidate in All)
        {
            if (string.Equals(candidate.Name(), name, StringComparison.OrdinalIgnoreCase))
            {
                kind = candidate;
                return true;
            }
        }

        kind = default;
        return false;
    }
}

/// <summary>
/// The faults switched on now (at most one per kind), timed on the injected clock. A DI singleton: the media peer asks
/// <see cref="Find"/> before it admits a response. Reads are lock-free (an immutable array swapped on change).
/// </summary>
public sealed class SimulatorFaults(TimeProvider time)
{
    private readonly Lock _writeGate = new();
    private SimulatorFault[] _faults = [];

    /// <summary>Raised after a fault is switched on or off.</summary>
    public event Action? Changed;

    /// <summary>Switches a fault on for <paramref name="duration"/> from now, replacing one of the same kind.</summary>
    public SimulatorFault Activate(SimulatorFaultKind kind, TimeSpan duration, SimulatorResource? resource = null, TimeSpan latency = default)
    {
        var now = time.GetUtcNow();
        var fault = new SimulatorFault(kind, now, now + duration, resource, kind == SimulatorFaultKind.Latency ? latency : TimeSpan.Zero);
        lock (_writeGate)
        {
            var kept = Array.FindAll(Volatile.Read(ref _faults), f => f.Kind != kind && f.EndsAt > now);
            Volatile.Write(ref _faults, [.. kept, fault]);
        }

        Changed?.Invoke();
        return fault;
    }

    /// <summary>Switches every fault off, or only those of <paramref name="kind"/>.</summary>
    public void Clear(SimulatorFaultKind? kind = null)
    {
        lock (_writeGate)
        {
            Volatile.Write(ref _faults, kind is null ? [] : Array.FindAll(Volatile.Read(ref _faults), f => f.Kind != kind));
        }

        Changed?.Invoke();
    }

    /// <summary>The active fault of <paramref name="kind"/> that applies to <paramref name="resource"/>, or null.</summary>
    public SimulatorFault? Find(SimulatorFaultKind kind, SimulatorResource resource)
    {
        var faults = Volatile.Read(ref _faults);
        if (faults.Length == 0)
        {
            return null;
        }

        var now = time.GetUtcNow();
        foreach (var fault in faults)
        {
            if (fault.Kind == kind && fault.EndsAt > now && fault.Applies(resource))
            {
                return fault;
            }
        }

        return null;
    }

    /// <summary>True when any fault may be active (a cheap check for the hot path).</summary>
    public bool Any => Volatile.Read(ref _faults).Length > 0;

    /// <summary>The faults still active now.</summary>
    public IReadOnlyList<SimulatorFault> Active()
    {
        var now = time.GetUtcNow();
        return Array.FindAll(Volatile.Read(ref _faults), f => f.EndsAt > now);
    }
}
