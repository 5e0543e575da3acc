using System.Collections.ObjectModel;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RealtimeConsole.VoiceSession;

public enum EventDirection
{
    Sent,
    Received,
}

public sealed class VoiceLogEntry(long sequence, DateTimeOffset at, EventDirection direction, string type, string json)
{
    public long Sequence { get; } = sequence;

    public DateTimeOffset At { get; } = at;

    public EventDirection Direction { get; } = direction;

    public string Type { get; } = type;

    public string Json { get; } = json;

    public bool Expanded { get; set; }

    /// <summary>Indented on demand: only the rows someone opens pay for it.</summary>
    public string PrettyJson()
    {
        try
        {
            return JsonNode.Parse(Json)?.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) ?? Json;
        }
        catch (JsonException)
        {
            return Json;
        }
    }
}

/// <summary>Every event that crossed the data channel, with a type filter, pause (holds, never drops) and JSONL export.</summary>
public sealed class VoiceEventLog
{
    /// <summary>Keeps a long session from growing without bound; the oldest events go first.</summary>
    public const int Capacity = 50_000;

    private readonly List<VoiceLogEntry> _entries = [];
    private readonly List<VoiceLogEntry> _held = [];
    private ReadOnlyCollection<VoiceLogEntry>? _view;
    private ReadOnlyCollection<VoiceLogEntry>? _newestFirst;
    private string _filter = "";
    private long _sequence;

    public int Count => _entries.Count;

    public int HeldCount => _held.Count;

    public bool Paused { get; private set; }

    public string Filter
    {
        get => _filter;
        set
        {
            _filter = value?.Trim() ?? "";
            _view = null;
            _newestFirst = null;
        }
    }

    /// <summary>The entries that match the filter, oldest first; cached until the log changes.</summary>
    public ReadOnlyCollection<VoiceLogEntry> View => _view ??= (_filter.Length == 0
        ? [.. _entries]
        : _entries.Where(e => e.Type.Contains(_filter, StringComparison.OrdinalIgnoreCase)).ToList()).AsReadOnly();

    /// <summary>The same entries newest first, for the live view.</summary>
    public ReadOnlyCollection<VoiceLogEntry> NewestFirst => _newestFirst ??= View.Reverse().ToList().AsReadOnly();

    public IEnumerable<string> Types => _entries.Select(e => e.Type).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);

    public VoiceLogEntry Add(DateTimeOffset at, EventDirection direction, string json)
    {
        var entry = new VoiceLogEntry(++_sequence, at, direction, TypeOf(json), json);
        if (Paused)
        {
            _held.Add(entry);
        }
        else
        {
            Append(entry);
        }

        return entry;
    }

    public void Pause() => Paused = true;

    public void Resume()
    {
        Paused = false;
        foreach (var entry in _held)
        {
            Append(entry);
        }

        _held.Clear();
    }

    public void Clear()
    {
        _entries.Clear();
        _held.Clear();
        _view = null;
        _newestFirst = null;
    }

    /// <summary>One JSON object per line: time, direction and the event itself, for the filtered view.</summary>
    public string ToJsonl()
    {
        var builder = new StringBuilder();
        foreach (var entry in View)
        {
            JsonNode? evt;
            try
            {
                evt = JsonNode.Parse(entry.Json);
            }
            catch (JsonException)
            {
                evt = JsonValue.Create(entry.Json);
            }

            var line = new JsonObject
            {
                ["at"] = entry.At.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                ["direction"] = entry.Direction == EventDirection.Sent ? "client" : "server",
                ["event"] = evt,
            };
            builder.Append(line.ToJsonString()).Append('\n');
        }

        return builder.ToString();
    }

    public static string TypeOf(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("type", out var type)
                && type.ValueKind == JsonValueKind.String
                ? type.GetString()!
                : "(no type)";
        }
        catch (JsonException)
        {
            return "(not JSON)";
        }
    }

    private void Append(VoiceLogEntry entry)
    {
        if (_entries.Count >= Capacity)
        {
            _entries.RemoveRange(0, _entries.Count - Capacity + 1);
        }

        _entries.Add(entry);
        _view = null;
        _newestFirst = null;
    }
}
