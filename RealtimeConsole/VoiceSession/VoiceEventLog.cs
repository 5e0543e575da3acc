using System.Collections.ObjectModel;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RealtimeConsole.VoiceSession;

public enum EventDirection
{
    Sent,
    Received,

    /// <summary>Something the page itself did, e.g. an HTTP step of a connect; it never crossed the data channel.</summary>
    Local,
}

public sealed class VoiceLogEntry(long sequence, DateTimeOffset at, EventDirection direction, string type, string json)
{
    public long Sequence { get; } = sequence;

    public DateTimeOffset At { get; } = at;

    public EventDirection Direction { get; } = direction;

    public string Type { get; } = type;

    public string Json { get; } = json;

    public bool Expanded { get; set; }

    /// <summary>What the row says instead of the bare type (an HTTP step: method, path, status, time, request id).</summary>
    public string? Summary { get; init; }

    /// <summary>An <c>error</c> event or a failed step: the row stands out.</summary>
    public bool Failed { get; init; }

    /// <summary>A streamed piece (<c>*.delta</c>): the log folds these into one row per type and response.</summary>
    public bool IsDelta => Type.EndsWith(".delta", StringComparison.Ordinal);

    /// <summary>The <c>response_id</c> (or else <c>item_id</c>) a delta belongs to.</summary>
    public string? DeltaOwner { get; init; }

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
    private ReadOnlyCollection<VoiceLogRow>? _rows;
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
            Invalidate();
        }
    }

    /// <summary>The entries that match the filter, oldest first; cached until the log changes.</summary>
    public ReadOnlyCollection<VoiceLogEntry> View => _view ??= (_filter.Length == 0
        ? [.. _entries]
        : _entries.Where(e => e.Type.Contains(_filter, StringComparison.OrdinalIgnoreCase)).ToList()).AsReadOnly();

    /// <summary>The filtered entries as the panel shows them, newest first, each response's deltas folded into one row.</summary>
    public ReadOnlyCollection<VoiceLogRow> RowsNewestFirst => _rows ??= Enumerable.Reverse(VoiceLogRow.Fold(View)).ToList().AsReadOnly();

    public IEnumerable<string> Types => _entries.Select(e => e.Type).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);

    public VoiceLogEntry Add(DateTimeOffset at, EventDirection direction, string json)
    {
        var (type, owner) = Describe(json);
        return Keep(new VoiceLogEntry(++_sequence, at, direction, type, json) { Failed = type == "error", DeltaOwner = owner });
    }

    /// <summary>Logs one HTTP step of a connect (secret or SDP exchange) as a local entry: status, wait and x-request-id.</summary>
    public VoiceLogEntry AddHttpStep(DateTimeOffset at, string step, PeerStepResult result)
    {
        var http = result.Step;
        var evt = new JsonObject
        {
            ["type"] = HttpStepType,
            ["step"] = step,
            ["method"] = http?.Method,
            ["url"] = http?.Url,
            ["status"] = result.Status,
            ["elapsed_ms"] = http?.ElapsedMs,
            ["x_request_id"] = http?.RequestId,
        };
        if (!result.Ok)
        {
            evt["code"] = result.Code;
            evt["message"] = result.Message;
            evt["retry_after_seconds"] = result.RetryAfterSeconds;
        }

        var status = result.Status == 0 ? "no answer" : result.Status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var summary = string.Join(" · ", new[]
        {
            $"{http?.Method ?? "HTTP"} {http?.Url ?? step} → {status}{(result.Code is null ? "" : $" {result.Code}")}",
            http is null ? null : $"{http.ElapsedMs:0} ms",
            result.RetryAfterSeconds is { } wait ? $"retry after {wait:0.#} s" : null,
            http?.RequestId,
        }.Where(part => part is not null));
        return Keep(new VoiceLogEntry(++_sequence, at, EventDirection.Local, HttpStepType, evt.ToJsonString()) { Summary = summary, Failed = !result.Ok });
    }

    /// <summary>The type of the page's own entries for HTTP steps, so the filter finds them all with "http".</summary>
    public const string HttpStepType = "local.http";

    private VoiceLogEntry Keep(VoiceLogEntry entry)
    {
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
        Invalidate();
    }

    /// <summary>One JSON object per line: time, direction and the event itself, for the filtered view.</summary>
    public string ToJsonl() => ToJsonl(View);

    /// <summary>Every event of the session, whatever the filter, held ones included (what a recording is saved with).</summary>
    public string AllToJsonl() => ToJsonl(_entries.Concat(_held));

    private static string ToJsonl(IEnumerable<VoiceLogEntry> entries)
    {
        var builder = new StringBuilder();
        foreach (var entry in entries)
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
                ["direction"] = entry.Direction switch { EventDirection.Sent => "client", EventDirection.Received => "server", _ => "local" },
                ["event"] = evt,
            };
            builder.Append(line.ToJsonString()).Append('\n');
        }

        return builder.ToString();
    }

    public static string TypeOf(string json) => Describe(json).Type;

    /// <summary>The event's type and, for a delta, the response (or item) it belongs to.</summary>
    private static (string Type, string? DeltaOwner) Describe(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                return ("(no type)", null);
            }

            var name = type.GetString()!;
            return (name, name.EndsWith(".delta", StringComparison.Ordinal) ? StringProperty(root, "response_id") ?? StringProperty(root, "item_id") : null);
        }
        catch (JsonException)
        {
            return ("(not JSON)", null);
        }
    }

    private static string? StringProperty(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private void Append(VoiceLogEntry entry)
    {
        if (_entries.Count >= Capacity)
        {
            _entries.RemoveRange(0, _entries.Count - Capacity + 1);
        }

        _entries.Add(entry);
        Invalidate();
    }

    private void Invalidate()
    {
        _view = null;
        _rows = null;
    }
}
