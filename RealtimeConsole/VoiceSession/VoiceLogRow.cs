using System.Text.Json;

namespace RealtimeConsole.VoiceSession;

/// <summary>
/// One row of the event log: a single event, or every delta of one response (or item) and type folded into one
/// expandable row with a count, so a spoken answer's hundreds of deltas do not bury the events around them.
/// </summary>
public sealed class VoiceLogRow
{
    private readonly List<VoiceLogEntry>? _deltas;

    private VoiceLogRow(VoiceLogEntry first, List<VoiceLogEntry>? deltas)
    {
        First = first;
        _deltas = deltas;
    }

    /// <summary>The event itself, or the group's first delta (the row sits where the stream began).</summary>
    public VoiceLogEntry First { get; }

    public bool IsDeltaGroup => _deltas is not null;

    /// <summary>The group's deltas in arrival order; just the event for a single row.</summary>
    public IReadOnlyList<VoiceLogEntry> Entries => _deltas ?? [First];

    public int Count => _deltas?.Count ?? 1;

    /// <summary>The response (or item) the deltas belong to, when the events name one.</summary>
    public string? Owner => First.DeltaOwner;

    /// <summary>
    /// Folds <paramref name="entries"/> (oldest first) into rows: deltas of the same type and response share the row of
    /// the first of them; every other event is a row of its own. Rows come back oldest first.
    /// </summary>
    public static List<VoiceLogRow> Fold(IEnumerable<VoiceLogEntry> entries)
    {
        var rows = new List<VoiceLogRow>();
        var groups = new Dictionary<(string Type, string? Owner), List<VoiceLogEntry>>();
        foreach (var entry in entries)
        {
            if (!entry.IsDelta)
            {
                rows.Add(new VoiceLogRow(entry, null));
            }
            else if (groups.TryGetValue((entry.Type, entry.DeltaOwner), out var deltas))
            {
                deltas.Add(entry);
            }
            else
            {
                deltas = [entry];
                groups[(entry.Type, entry.DeltaOwner)] = deltas;
                rows.Add(new VoiceLogRow(entry, deltas));
            }
        }

        return rows;
    }

    /// <summary>What the deltas say together when they carry text (a transcript, text output); null for audio or none.</summary>
    public string? JoinedText()
    {
        if (_deltas is null || First.Type.Contains("audio.delta", StringComparison.Ordinal))
        {
            return null;
        }

        var text = new System.Text.StringBuilder();
        foreach (var entry in _deltas)
        {
            try
            {
                using var doc = JsonDocument.Parse(entry.Json);
                if (doc.RootElement.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.String)
                {
                    text.Append(delta.GetString());
                }
            }
            catch (JsonException)
            {
                // A delta that is not JSON adds nothing to the text; its row still counts it.
            }
        }

        return text.Length == 0 ? null : text.ToString();
    }
}
