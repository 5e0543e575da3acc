using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RealtimeConsole.Simulator.Media.Audio;
using RealtimeConsole.Simulator.Validation;

namespace RealtimeConsole.Simulator.Media.Realtime;

/// <summary>
/// The Realtime session behind one call, free of transport: client events (JSON) in, server events (JSON),
/// reply audio and hang-ups out through <see cref="IRealtimeChannel"/>. Replies are scripted and deterministic:
/// they quote the user's last message, call a declared tool when the text asks for it, or use a tool's output.
/// </summary>
internal sealed class RealtimeConversation : IDisposable
{
    public const int FrameMilliseconds = 20;

    /// <summary>Reply audio lasts this long per character of transcript, so its length follows the reply.</summary>
    public const int MillisecondsPerCharacter = 20;

    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly IRealtimeChannel _channel;
    private readonly IRealtimeResponseBudget _budget;
    private readonly List<JsonObject> _items = [];
    private readonly ManualInputAudio _manualInput = new();
    private readonly ITimer _expiry;
    private readonly ITimer _pacer;
    private readonly TimeSpan _maxDuration;
    private JsonObject _session;
    private ActiveResponse? _response;
    private int _ids;
    private bool _started;
    private bool _ended;

    // Server VAD state, counted in 20 ms frames so it does not depend on the wall clock.
    private int _inputFrames;
    private int _speechFrames;
    private int _silenceFrames;
    private bool _inSpeech;
    private int _speechStartMs;
    private string? _speechItemId;
    private string? _lastAudioResponseId;

    // How long each assistant audio item lasts, for conversation.item.truncate's bounds.
    private readonly Dictionary<string, int> _audioMsByItem = [];

    public RealtimeConversation(JsonObject session, IRealtimeChannel channel, IRealtimeResponseBudget budget, TimeProvider time, TimeSpan maxDuration)
    {
        _time = time;
        _channel = channel;
        _budget = budget;
        _maxDuration = maxDuration;
        _session = BuildSession(session);
        _expiry = time.CreateTimer(_ => Expire(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _pacer = time.CreateTimer(_ => Pace(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public string SessionId => (string)_session["id"]!;

    public JsonObject Session
    {
        get
        {
            lock (_gate)
            {
                return (JsonObject)_session.DeepClone();
            }
        }
    }

    /// <summary>The data channel opened: announce the session and start the clock on its maximum duration.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_started)
            {
                return;
            }

            _started = true;
            Emit("session.created", new JsonObject { ["session"] = _session.DeepClone() });
            _expiry.Change(_maxDuration, Timeout.InfiniteTimeSpan);
        }
    }

    public void HandleClientEvent(string json)
    {
        lock (_gate)
        {
            if (_ended)
            {
                return;
            }

            JsonObject? message;
            try
            {
                message = JsonNode.Parse(json) as JsonObject;
            }
            catch (JsonException ex)
            {
                Error("invalid_request_error", "invalid_json", $"The event is not valid JSON: {ex.Message}", null, null);
                return;
            }

            var clientEventId = message?["event_id"]?.GetValueKind() == JsonValueKind.String ? message["event_id"]!.GetValue<string>() : null;
            using (var document = JsonDocument.Parse(json))
            {
                if (RealtimeClientEventRules.Check(document.RootElement) is { } problem)
                {
                    Error(problem.Type, problem.Code ?? "invalid_value", problem.Message, problem.Param, clientEventId);
                    return;
                }
            }

            switch ((string)message!["type"]!)
            {
                case "session.update":
                    UpdateSession(message, clientEventId);
                    break;
                case "conversation.item.create":
                    CreateItem(message, clientEventId);
                    break;
                case "conversation.item.delete":
                    DeleteItem(message, clientEventId);
                    break;
                case "conversation.item.retrieve":
                    RetrieveItem(message, clientEventId);
                    break;
                case "conversation.item.truncate":
                    TruncateItem(message, clientEventId);
                    break;
                case "response.create":
                    StartResponse(clientEventId, ResponseRequest.From(message["response"]));
                    break;
                case "response.cancel":
                    if (_response is null)
                    {
                        Error("invalid_request_error", "response_cancel_not_active", "Cancellation failed: no active response found.", null, clientEventId);
                    }
                    else
                    {
                        CancelResponse();
                    }

                    break;
                case "input_audio_buffer.commit":
                    CommitAudio(clientEventId);
                    break;
                case "input_audio_buffer.clear":
                    ResetVad();
                    _manualInput.Clear();
                    Emit("input_audio_buffer.cleared", []);
                    break;
                case "input_audio_buffer.append":
                    break;
                case "output_audio_buffer.clear":
                    ClearOutputAudio(clientEventId);
                    break;
                default:
                    Error("invalid_request_error", "invalid_value", $"Invalid value: '{message["type"]}'. Supported values are the Realtime client events.", "type", clientEventId);
                    break;
            }
        }
    }

    /// <summary>Energy-based server VAD over one 20 ms PCMU frame of the caller's microphone.</summary>
    public void HandleInputAudio(ReadOnlySpan<byte> pcmuFrame)
    {
        var energy = Pcmu.Energy(pcmuFrame);
        lock (_gate)
        {
            if (_ended || !_started)
            {
                return;
            }

            if (_session["audio"]?["input"]?["turn_detection"] is not JsonObject detection)
            {
                _manualInput.Append();
                return;
            }

            _inputFrames++;
            var threshold = detection["threshold"]?.GetValue<double>() ?? 0.5;
            var silenceMs = detection["silence_duration_ms"]?.GetValue<int>() ?? 500;
            var loud = energy > 400 + (threshold * 2000);
            if (!_inSpeech)
            {
                _speechFrames = loud ? _speechFrames + 1 : 0;
                if (_speechFrames >= 3)
                {
                    _inSpeech = true;
                    _silenceFrames = 0;
                    _speechStartMs = (_inputFrames - _speechFrames) * FrameMilliseconds;
                    _speechItemId = NewId("item");
                    if (_response is not null && (detection["interrupt_response"]?.GetValue<bool>() ?? true))
                    {
                        CancelResponse();
                    }

                    Emit("input_audio_buffer.speech_started", new JsonObject { ["audio_start_ms"] = _speechStartMs, ["item_id"] = _speechItemId });
                }

                return;
            }

            _silenceFrames = loud ? 0 : _silenceFrames + 1;
            if (_silenceFrames * FrameMilliseconds < silenceMs)
            {
                return;
            }

            var itemId = _speechItemId!;
            var spokenMs = (_inputFrames * FrameMilliseconds) - _speechStartMs;
            Emit("input_audio_buffer.speech_stopped", new JsonObject { ["audio_end_ms"] = _inputFrames * FrameMilliseconds, ["item_id"] = itemId });
            ResetVad();
            CommitUserAudio(itemId, spokenMs);
            if (detection["create_response"]?.GetValue<bool>() ?? true)
            {
                StartResponse(null, ResponseRequest.Default);
            }
        }
    }

    /// <summary>The transport finished playing the queued reply audio.</summary>
    public void AudioDrained()
    {
        lock (_gate)
        {
            if (!_ended)
            {
                Emit("output_audio_buffer.stopped", new JsonObject { ["response_id"] = _lastAudioResponseId });
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _ended = true;
            _expiry.Dispose();
            _pacer.Dispose();
        }
    }

    private void UpdateSession(JsonObject message, string? clientEventId)
    {
        if (message["session"] is not JsonObject update)
        {
            Error("invalid_request_error", "missing_required_parameter", "Missing required parameter: 'session'.", "session", clientEventId);
            return;
        }

        if (update["type"] is JsonNode type && type.ToString() != "realtime")
        {
            Error("invalid_request_error", "invalid_value", $"Invalid value: '{type}'. Supported values are: 'realtime'.", "session.type", clientEventId);
            return;
        }

        SimulatorSessions.MergeInto(_session, update);
        Emit("session.updated", new JsonObject { ["session"] = _session.DeepClone() });
    }

    /// <summary><c>conversation.item.retrieve</c>: the item as the server holds it, or <c>item_not_found</c>.</summary>
    private void RetrieveItem(JsonObject message, string? clientEventId)
    {
        var id = message["item_id"]!.GetValue<string>();
        if (FindItem(id) is not { } item)
        {
            Error("invalid_request_error", "item_not_found", $"Item with item_id not found: {id}", "item_id", clientEventId);
            return;
        }

        Emit("conversation.item.retrieved", new JsonObject { ["item"] = item.DeepClone() });
    }

    /// <summary>
    /// <c>conversation.item.truncate</c>: cuts an assistant audio item at what the user heard and, as the spec says,
    /// deletes its transcript so no text the user did not hear stays in the context.
    /// </summary>
    private void TruncateItem(JsonObject message, string? clientEventId)
    {
        var id = message["item_id"]!.GetValue<string>();
        var contentIndex = message["content_index"]!.GetValue<int>();
        var audioEndMs = message["audio_end_ms"]!.GetValue<int>();
        if (_response is { } playing && playing.Item?["id"]?.ToString() == id)
        {
            // Truncating what is still playing interrupts it first, as a barge-in does.
            CancelResponse();
        }

        if (FindItem(id) is not { } item)
        {
            Error("invalid_request_error", "item_not_found", $"Item with item_id not found: {id}", "item_id", clientEventId);
            return;
        }

        if (item["role"]?.ToString() != "assistant" || item["content"] is not JsonArray content || contentIndex >= content.Count
            || content[contentIndex]?["type"]?.ToString() != "output_audio" || !_audioMsByItem.TryGetValue(id, out var durationMs))
        {
            Error("invalid_request_error", "invalid_value", $"Only assistant messages with audio can be truncated; item {id} has no audio at content_index {contentIndex}.", "content_index", clientEventId);
            return;
        }

        if (audioEndMs > durationMs)
        {
            Error("invalid_request_error", "invalid_value", string.Create(CultureInfo.InvariantCulture, $"Audio content of {durationMs}ms is already shorter than {audioEndMs}ms"), "audio_end_ms", clientEventId);
            return;
        }

        content[contentIndex]!["transcript"] = "";
        _audioMsByItem[id] = audioEndMs;
        Emit("conversation.item.truncated", new JsonObject { ["item_id"] = id, ["content_index"] = contentIndex, ["audio_end_ms"] = audioEndMs });
    }

    private JsonObject? FindItem(string id) =>
        _items.Find(i => i["id"]?.ToString() == id) ?? (_response?.Item is { } current && current["id"]?.ToString() == id && !_response.OutOfBand ? current : null);

    /// <summary><c>output_audio_buffer.clear</c>: cut the audio off; <c>cleared</c> names the response whose audio it was (a required string).</summary>
    private void ClearOutputAudio(string? clientEventId)
    {
        var responseId = _response is { Audio: true } playing ? playing.Id : _lastAudioResponseId;
        if (responseId is null)
        {
            Error("invalid_request_error", "output_audio_buffer_empty", "There is no output audio to clear: no response has produced audio in this session.", null, clientEventId);
            return;
        }

        _channel.StopAudio();
        Emit("output_audio_buffer.cleared", new JsonObject { ["response_id"] = responseId });
    }

    private void CreateItem(JsonObject message, string? clientEventId)
    {
        if (message["item"] is not JsonObject item || item["type"] is null)
        {
            Error("invalid_request_error", "missing_required_parameter", "Missing required parameter: 'item.type'.", "item", clientEventId);
            return;
        }

        item = (JsonObject)item.DeepClone();
        item["id"] ??= NewId("item");
        item["object"] = "realtime.item";
        item["status"] = "completed";
        AddItem(item);
    }

    private void DeleteItem(JsonObject message, string? clientEventId)
    {
        var id = message["item_id"]?.ToString();
        var removed = _items.RemoveAll(i => i["id"]?.ToString() == id);
        if (removed == 0)
        {
            Error("invalid_request_error", "item_not_found", $"Item with item_id not found: {id}", "item_id", clientEventId);
            return;
        }

        Emit("conversation.item.deleted", new JsonObject { ["item_id"] = id });
    }

    private void AddItem(JsonObject item)
    {
        var previous = _items.Count > 0 ? _items[^1]["id"]?.ToString() : null;
        _items.Add(item);
        Emit("conversation.item.added", new JsonObject { ["previous_item_id"] = previous, ["item"] = item.DeepClone() });
        Emit("conversation.item.done", new JsonObject { ["previous_item_id"] = previous, ["item"] = item.DeepClone() });
    }

    private void CommitAudio(string? clientEventId)
    {
        var bufferedMs = _session["audio"]?["input"]?["turn_detection"] is JsonObject ? _inputFrames * FrameMilliseconds : _manualInput.BufferedMs;
        if (bufferedMs < ManualInputAudio.MinimumCommitMs)
        {
            Error("invalid_request_error", "input_audio_buffer_commit_empty", ManualInputAudio.TooSmall(bufferedMs), null, clientEventId);
            return;
        }

        var itemId = _speechItemId ?? NewId("item");
        ResetVad();
        _manualInput.Clear();
        CommitUserAudio(itemId, bufferedMs);
    }

    private void CommitUserAudio(string itemId, int audioMs)
    {
        var transcribed = SimulatedInputTranscription.IsRequested(_session);
        Emit("input_audio_buffer.committed", new JsonObject { ["previous_item_id"] = _items.Count > 0 ? _items[^1]["id"]?.ToString() : null, ["item_id"] = itemId });
        AddItem(new JsonObject
        {
            ["id"] = itemId,
            ["object"] = "realtime.item",
            ["type"] = "message",
            ["status"] = "completed",
            ["role"] = "user",
            ["content"] = new JsonArray(new JsonObject { ["type"] = "input_audio", ["transcript"] = transcribed ? SimulatedInputTranscription.Phrase : "" }),
        });
        foreach (var (type, body) in transcribed ? SimulatedInputTranscription.Events(itemId, audioMs) : [])
        {
            Emit(type, body);
        }
    }

    private void ResetVad()
    {
        _inSpeech = false;
        _speechFrames = 0;
        _silenceFrames = 0;
        _inputFrames = 0;
        _speechItemId = null;
    }

    private void StartResponse(string? clientEventId, ResponseRequest request)
    {
        if (_response is not null && !request.OutOfBand)
        {
            Error("invalid_request_error", "conversation_already_has_active_response", $"Conversation already has an active response in progress: {_response.Id}. Wait until the response is finished before creating a new one.", null, clientEventId);
            return;
        }

        if (_response is not null)
        {
            Error("invalid_request_error", "response_already_active", $"The simulator runs one response at a time; {_response.Id} is still in progress.", null, clientEventId);
            return;
        }

        // A response's own input replaces the conversation as its context (RealtimeResponseCreateParams.input).
        List<JsonObject> context = request.Input is { } input ? [.. input.OfType<JsonObject>().Select(i => (JsonObject)i.DeepClone())] : [.. _items];
        var (call, reply) = PlanReply(context);
        var incomplete = false;
        if (request.MaxOutputTokens is { } cap && call is null && Tokens(reply) > cap)
        {
            reply = reply[..Math.Min(reply.Length, cap * 4)].TrimEnd();
            incomplete = true;
        }

        var inputTokens = context.Sum(i => Tokens(i.ToJsonString()));
        var reserved = inputTokens + (call is { } c ? Tokens(c.Arguments) : Tokens(reply));
        var decision = _budget.TryAcquire(reserved);
        Emit("rate_limits.updated", new JsonObject
        {
            ["rate_limits"] = new JsonArray([.. decision.Limits.Select(l => (JsonNode)new JsonObject
            {
                ["name"] = l.Name,
                ["limit"] = l.Limit,
                ["remaining"] = l.Remaining,
                ["reset_seconds"] = Math.Round(l.ResetSeconds, 3),
            })]),
        });
        if (!decision.Allowed)
        {
            var code = decision.Code ?? "rate_limit_exceeded";
            Error(decision.ErrorType ?? (code is "insufficient_quota" or "server_error" ? code : "requests"), code, decision.Message ?? "Rate limit reached.", null, clientEventId);
            return;
        }

        var response = new ActiveResponse(NewId("resp"), request.Audio ?? AudioOut)
        {
            Metadata = request.Metadata,
            OutOfBand = request.OutOfBand,
            Context = context,
            ReservedTokens = reserved,
            Incomplete = incomplete,
        };
        _response = response;
        Emit("response.created", new JsonObject { ["response"] = ResponseJson(response, "in_progress", null) });
        if (call is not null)
        {
            EmitFunctionCall(response, call.Value);
            FinishResponse(response, "completed");
            return;
        }

        response.Item = new JsonObject
        {
            ["id"] = NewId("item"),
            ["object"] = "realtime.item",
            ["type"] = "message",
            ["status"] = "in_progress",
            ["role"] = "assistant",
            ["content"] = new JsonArray(),
        };
        Emit("response.output_item.added", new JsonObject { ["response_id"] = response.Id, ["output_index"] = 0, ["item"] = response.Item.DeepClone() });
        if (!response.OutOfBand)
        {
            Emit("conversation.item.added", new JsonObject { ["previous_item_id"] = _items.Count > 0 ? _items[^1]["id"]?.ToString() : null, ["item"] = response.Item.DeepClone() });
        }

        Emit("response.content_part.added", PartEvent(response, EmptyPart(response)));
        response.Words = reply.Split(' ');
        if (!response.Audio)
        {
            foreach (var word in response.Words)
            {
                EmitDelta(response, word);
            }

            CompleteMessage(response);
            return;
        }

        var frames = (reply.Length * MillisecondsPerCharacter + FrameMilliseconds - 1) / FrameMilliseconds;
        response.AudioFrames = frames;
        _audioMsByItem[response.Item["id"]!.GetValue<string>()] = frames * FrameMilliseconds;
        _lastAudioResponseId = response.Id;
        _channel.PlayAudio(frames);
        Emit("output_audio_buffer.started", new JsonObject { ["response_id"] = response.Id });
        EmitDelta(response, response.Words[0]);
        response.NextWord = 1;
        _pacer.Change(WordDelay(response.Words[0]), Timeout.InfiniteTimeSpan);
    }

    private static TimeSpan WordDelay(string word) => TimeSpan.FromMilliseconds((word.Length + 1) * MillisecondsPerCharacter);

    private void Pace()
    {
        lock (_gate)
        {
            if (_response is not { Audio: true } response || _ended)
            {
                return;
            }

            if (response.NextWord < response.Words.Length)
            {
                var word = response.Words[response.NextWord++];
                EmitDelta(response, word);
                _pacer.Change(WordDelay(word), Timeout.InfiniteTimeSpan);
                return;
            }

            CompleteMessage(response);
        }
    }

    private void EmitDelta(ActiveResponse response, string word)
    {
        var delta = response.Spoken.Length == 0 ? word : " " + word;
        response.Spoken.Append(delta);
        Emit(response.Audio ? "response.output_audio_transcript.delta" : "response.output_text.delta", new JsonObject
        {
            ["response_id"] = response.Id,
            ["item_id"] = response.Item!["id"]?.ToString(),
            ["output_index"] = 0,
            ["content_index"] = 0,
            ["delta"] = delta,
        });
    }

    private void CompleteMessage(ActiveResponse response)
    {
        var text = response.Spoken.ToString();
        Emit(response.Audio ? "response.output_audio_transcript.done" : "response.output_text.done", new JsonObject
        {
            ["response_id"] = response.Id,
            ["item_id"] = response.Item!["id"]?.ToString(),
            ["output_index"] = 0,
            ["content_index"] = 0,
            [response.Audio ? "transcript" : "text"] = text,
        });
        // The event's part is a RealtimeResponseContentPart (text|audio); the item's content keeps the item's types (output_text|output_audio).
        var part = response.Audio
            ? new JsonObject { ["type"] = "audio", ["transcript"] = text }
            : new JsonObject { ["type"] = "text", ["text"] = text };
        Emit("response.content_part.done", PartEvent(response, part));
        response.Item["status"] = response.Incomplete ? "incomplete" : "completed";
        response.Item["content"] = new JsonArray(response.Audio
            ? new JsonObject { ["type"] = "output_audio", ["transcript"] = text }
            : new JsonObject { ["type"] = "output_text", ["text"] = text });
        if (!response.OutOfBand)
        {
            _items.Add(response.Item);
        }

        Emit("response.output_item.done", new JsonObject { ["response_id"] = response.Id, ["output_index"] = 0, ["item"] = response.Item.DeepClone() });
        if (!response.OutOfBand)
        {
            Emit("conversation.item.done", new JsonObject { ["item"] = response.Item.DeepClone() });
        }

        response.Output.Add(response.Item.DeepClone());
        FinishResponse(response, response.Incomplete ? "incomplete" : "completed");
    }

    private void CancelResponse()
    {
        var response = _response!;
        _pacer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        if (response.Audio && response.AudioFrames > 0)
        {
            _channel.StopAudio();
            Emit("output_audio_buffer.cleared", new JsonObject { ["response_id"] = response.Id });
        }

        if (response.Item is { } item)
        {
            // The interrupted message stays, incomplete, with what was said so far: clients truncate it to what was heard.
            item["status"] = "incomplete";
            item["content"] = new JsonArray(response.Audio
                ? new JsonObject { ["type"] = "output_audio", ["transcript"] = response.Spoken.ToString() }
                : new JsonObject { ["type"] = "output_text", ["text"] = response.Spoken.ToString() });
            Emit("response.output_item.done", new JsonObject { ["response_id"] = response.Id, ["output_index"] = 0, ["item"] = item.DeepClone() });
            if (!response.OutOfBand)
            {
                _items.Add(item);
                Emit("conversation.item.done", new JsonObject { ["item"] = item.DeepClone() });
            }

            response.Output.Add(item.DeepClone());
        }

        FinishResponse(response, "cancelled");
    }

    private void FinishResponse(ActiveResponse response, string status)
    {
        _response = null;
        var inputTokens = response.Context.Sum(i => Tokens(i.ToJsonString()));
        var outputTokens = Tokens(response.Spoken.ToString()) + response.Output.Sum(o => Tokens(o["arguments"]?.ToString() ?? ""));
        _budget.Settle(response.ReservedTokens, inputTokens + outputTokens);
        var usage = new JsonObject
        {
            ["total_tokens"] = inputTokens + outputTokens,
            ["input_tokens"] = inputTokens,
            ["output_tokens"] = outputTokens,
            ["input_token_details"] = new JsonObject { ["cached_tokens"] = 0, ["text_tokens"] = inputTokens, ["audio_tokens"] = 0 },
            ["output_token_details"] = new JsonObject { ["text_tokens"] = outputTokens, ["audio_tokens"] = response.Audio ? response.AudioFrames : 0 },
        };
        Emit("response.done", new JsonObject { ["response"] = ResponseJson(response, status, usage) });
    }

    private static int Tokens(string text) => (text.Length + 3) / 4;

    private JsonObject ResponseJson(ActiveResponse response, string status, JsonObject? usage) => new()
    {
        ["id"] = response.Id,
        ["object"] = "realtime.response",
        ["status"] = status,
        ["status_details"] = status switch
        {
            "cancelled" => new JsonObject { ["type"] = "cancelled", ["reason"] = "client_cancelled" },
            "incomplete" => new JsonObject { ["type"] = "incomplete", ["reason"] = "max_output_tokens" },
            _ => null,
        },
        ["output"] = new JsonArray([.. response.Output.Select(o => o.DeepClone())]),
        ["conversation_id"] = response.OutOfBand ? null : "conv_" + SessionId[5..],
        ["output_modalities"] = new JsonArray(response.Audio ? "audio" : "text"),
        ["metadata"] = response.Metadata?.DeepClone(),
        ["usage"] = usage,
    };

    private JsonObject PartEvent(ActiveResponse response, JsonObject part) => new()
    {
        ["response_id"] = response.Id,
        ["item_id"] = response.Item!["id"]?.ToString(),
        ["output_index"] = 0,
        ["content_index"] = 0,
        ["part"] = part,
    };

    private static JsonObject EmptyPart(ActiveResponse response) => response.Audio
        ? new JsonObject { ["type"] = "audio", ["transcript"] = "" }
        : new JsonObject { ["type"] = "text", ["text"] = "" };

    private void EmitFunctionCall(ActiveResponse response, (string Name, string Arguments) call)
    {
        var item = new JsonObject
        {
            ["id"] = NewId("item"),
            ["object"] = "realtime.item",
            ["type"] = "function_call",
            ["status"] = "in_progress",
            ["name"] = call.Name,
            ["call_id"] = NewId("call"),
            ["arguments"] = "",
        };
        response.Item = item;
        Emit("response.output_item.added", new JsonObject { ["response_id"] = response.Id, ["output_index"] = 0, ["item"] = item.DeepClone() });
        if (!response.OutOfBand)
        {
            Emit("conversation.item.added", new JsonObject { ["item"] = item.DeepClone() });
        }

        var common = new JsonObject { ["response_id"] = response.Id, ["item_id"] = item["id"]?.ToString(), ["output_index"] = 0, ["call_id"] = item["call_id"]?.ToString() };
        var delta = (JsonObject)common.DeepClone();
        delta["delta"] = call.Arguments;
        Emit("response.function_call_arguments.delta", delta);
        var done = (JsonObject)common.DeepClone();
        done["name"] = call.Name;
        done["arguments"] = call.Arguments;
        Emit("response.function_call_arguments.done", done);
        item["status"] = "completed";
        item["arguments"] = call.Arguments;
        if (!response.OutOfBand)
        {
            _items.Add(item);
        }

        Emit("response.output_item.done", new JsonObject { ["response_id"] = response.Id, ["output_index"] = 0, ["item"] = item.DeepClone() });
        if (!response.OutOfBand)
        {
            Emit("conversation.item.done", new JsonObject { ["item"] = item.DeepClone() });
        }

        response.Output.Add(item.DeepClone());
    }

    /// <summary>Decides the scripted reply: a tool call the user's words ask for, a sentence using a tool's output, or a quote.</summary>
    private ((string Name, string Arguments)? Call, string Reply) PlanReply(List<JsonObject> items)
    {
        var last = items.LastOrDefault(i => i["role"]?.ToString() != "assistant" && i["type"]?.ToString() != "function_call");
        if (last?["type"]?.ToString() == "function_call_output")
        {
            var callId = last["call_id"]?.ToString();
            var name = items.LastOrDefault(i => i["type"]?.ToString() == "function_call" && i["call_id"]?.ToString() == callId)?["name"]?.ToString() ?? "the tool";
            return (null, $"Done. {name} returned {last["output"]}.");
        }

        var text = last is null ? null : UserText(last);
        if (text is null)
        {
            return (null, last is null ? "Hello from the simulator. Say something and I will answer." : "I heard you speak. This is the simulator's scripted reply.");
        }

        if (MatchTool(text) is { } call)
        {
            return (call, "");
        }

        return (null, $"You said: \"{text}\". This is the simulator's scripted reply.");
    }

    private static string? UserText(JsonObject item) =>
        item["content"] is JsonArray content
            ? content.OfType<JsonObject>().Select(c => c["text"]?.ToString() ?? c["transcript"]?.ToString()).FirstOrDefault(t => !string.IsNullOrEmpty(t))
            : null;

    private (string Name, string Arguments)? MatchTool(string text)
    {
        if (_session["tools"] is not JsonArray tools || (_session["tool_choice"]?.ToString() == "none"))
        {
            return null;
        }

        var lower = text.ToLowerInvariant();
        foreach (var tool in tools.OfType<JsonObject>().Where(t => t["type"]?.ToString() == "function"))
        {
            var name = tool["name"]?.ToString();
            if (string.IsNullOrEmpty(name))
            {
                continue;
            }

            var properties = tool["parameters"]?["properties"] as JsonObject;
            var arguments = new JsonObject();
            var mentioned = name.Split('_').Any(w => w.Length >= 4 && WholeWords.Contains(lower, w));
            foreach (var (key, schema) in properties ?? [])
            {
                if (schema?["enum"] is JsonArray options)
                {
                    var hit = options.Select(o => o?.ToString()).FirstOrDefault(o => o is not null && WholeWords.Contains(lower, o));
                    mentioned |= hit is not null;
                    arguments[key] = hit ?? options.FirstOrDefault()?.ToString();
                }
                else
                {
                    arguments[key] = schema?["type"]?.ToString() switch
                    {
                        "boolean" => true,
                        "number" or "integer" => 1,
                        _ => text,
                    };
                }
            }

            if (mentioned)
            {
                return (name, arguments.ToJsonString());
            }
        }

        return null;
    }

    private bool AudioOut => _session["output_modalities"] is not JsonArray modalities || modalities.Any(m => m?.ToString() == "audio");

    private void Expire()
    {
        lock (_gate)
        {
            if (_ended)
            {
                return;
            }

            Error("invalid_request_error", "session_expired", $"Your session hit the maximum duration of {_maxDuration.TotalMinutes.ToString("0.##", CultureInfo.InvariantCulture)} minutes.", null, null);
            _ended = true;
        }

        _channel.Close("session_expired");
    }

    private void Error(string type, string code, string message, string? param, string? clientEventId) =>
        Emit("error", new JsonObject
        {
            ["error"] = new JsonObject { ["type"] = type, ["code"] = code, ["message"] = message, ["param"] = param, ["event_id"] = clientEventId },
        });

    private void Emit(string type, JsonObject body)
    {
        var message = new JsonObject { ["type"] = type, ["event_id"] = NewId("event") };
        foreach (var (key, value) in body.ToList())
        {
            body.Remove(key);
            message[key] = value;
        }

        _channel.SendEvent(message);
    }

    private string NewId(string prefix) =>
        $"{prefix}_{Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6)).ToLowerInvariant()}{Interlocked.Increment(ref _ids):x2}";

    private JsonObject BuildSession(JsonObject configured)
    {
        var session = new JsonObject
        {
            ["type"] = "realtime",
            ["object"] = "realtime.session",
            ["id"] = "sess_" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(10)).ToLowerInvariant(),
            ["expires_at"] = (_time.GetUtcNow() + _maxDuration).ToUnixTimeSeconds(),
            ["model"] = "gpt-realtime",
            ["output_modalities"] = new JsonArray("audio"),
            ["instructions"] = "",
            ["tools"] = new JsonArray(),
            ["tool_choice"] = "auto",
            ["max_output_tokens"] = "inf",
            ["audio"] = new JsonObject
            {
                ["input"] = new JsonObject
                {
                    ["format"] = new JsonObject { ["type"] = "audio/pcmu" },
                    ["turn_detection"] = new JsonObject
                    {
                        ["type"] = "server_vad",
                        ["threshold"] = 0.5,
                        ["prefix_padding_ms"] = 300,
                        ["silence_duration_ms"] = 500,
                        ["idle_timeout_ms"] = null,
                        ["create_response"] = true,
                        ["interrupt_response"] = true,
                    },
                },
                ["output"] = new JsonObject { ["format"] = new JsonObject { ["type"] = "audio/pcmu" }, ["voice"] = "marin", ["speed"] = 1.0 },
            },
            ["include"] = null,
        };
        SimulatorSessions.MergeInto(session, configured);
        return session;
    }

    private sealed class ActiveResponse(string id, bool audio)
    {
        public string Id { get; } = id;

        public bool Audio { get; } = audio;

        public string[] Words { get; set; } = [];

        public int NextWord { get; set; }

        public int AudioFrames { get; set; }

        public JsonObject? Item { get; set; }

        public StringBuilder Spoken { get; } = new();

        public List<JsonNode> Output { get; } = [];

        public JsonObject? Metadata { get; init; }

        /// <summary><c>conversation: "none"</c>: the response's items stay out of the conversation.</summary>
        public bool OutOfBand { get; init; }

        /// <summary>The items the reply was planned from (the conversation, or the response's own input).</summary>
        public List<JsonObject> Context { get; init; } = [];

        public int ReservedTokens { get; init; }

        /// <summary>Cut short by <c>max_output_tokens</c>.</summary>
        public bool Incomplete { get; init; }
    }
}
