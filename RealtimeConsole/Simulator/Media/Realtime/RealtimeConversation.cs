using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RealtimeConsole.Simulator.Media.Audio;

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

            if (message is null || message["type"]?.GetValueKind() != JsonValueKind.String)
            {
                Error("invalid_request_error", "invalid_event", "Each client event must be a JSON object with a string 'type'.", "type", null);
                return;
            }

            var clientEventId = message["event_id"]?.ToString();
            switch ((string)message["type"]!)
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
                case "response.create":
                    StartResponse(clientEventId);
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
                    _channel.StopAudio();
                    Emit("output_audio_buffer.cleared", new JsonObject { ["response_id"] = _response?.Id });
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
                StartResponse(null);
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

        Merge(_session, update);
        Emit("session.updated", new JsonObject { ["session"] = _session.DeepClone() });
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
            ["content"] = new JsonArray(new JsonObject { ["type"] = "input_audio", ["transcript"] = transcribed ? SimulatedInputTranscription.Phrase : null }),
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

    private void StartResponse(string? clientEventId)
    {
        if (_response is not null)
        {
            Error("invalid_request_error", "conversation_already_has_active_response", $"Conversation already has an active response in progress: {_response.Id}. Wait until the response is finished before creating a new one.", null, clientEventId);
            return;
        }

        var decision = _budget.TryAcquire();
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
            Error(code is "insufficient_quota" or "server_error" ? code : "requests", code, decision.Message ?? "Rate limit reached.", null, clientEventId);
            return;
        }

        var response = new ActiveResponse(NewId("resp"), AudioOut);
        _response = response;
        Emit("response.created", new JsonObject { ["response"] = ResponseJson(response, "in_progress", null) });
        var (call, reply) = PlanReply();
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
        Emit("conversation.item.added", new JsonObject { ["previous_item_id"] = _items.Count > 0 ? _items[^1]["id"]?.ToString() : null, ["item"] = response.Item.DeepClone() });
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
        var part = response.Audio
            ? new JsonObject { ["type"] = "output_audio", ["transcript"] = text }
            : new JsonObject { ["type"] = "output_text", ["text"] = text };
        Emit("response.content_part.done", PartEvent(response, part));
        response.Item["status"] = "completed";
        response.Item["content"] = new JsonArray(part.DeepClone());
        _items.Add(response.Item);
        Emit("response.output_item.done", new JsonObject { ["response_id"] = response.Id, ["output_index"] = 0, ["item"] = response.Item.DeepClone() });
        Emit("conversation.item.done", new JsonObject { ["item"] = response.Item.DeepClone() });
        response.Output.Add(response.Item.DeepClone());
        FinishResponse(response, "completed");
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

        FinishResponse(response, "cancelled");
    }

    private void FinishResponse(ActiveResponse response, string status)
    {
        _response = null;
        var inputTokens = _items.Sum(i => Tokens(i.ToJsonString()));
        var outputTokens = Tokens(response.Spoken.ToString()) + response.Output.Sum(o => Tokens(o["arguments"]?.ToString() ?? ""));
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
        ["status_details"] = status == "cancelled" ? new JsonObject { ["type"] = "cancelled", ["reason"] = "client_cancelled" } : null,
        ["output"] = new JsonArray([.. response.Output.Select(o => o.DeepClone())]),
        ["conversation_id"] = "conv_" + SessionId[5..],
        ["output_modalities"] = new JsonArray(response.Audio ? "audio" : "text"),
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
        ? new JsonObject { ["type"] = "output_audio", ["transcript"] = "" }
        : new JsonObject { ["type"] = "output_text", ["text"] = "" };

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
        Emit("conversation.item.added", new JsonObject { ["item"] = item.DeepClone() });
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
        _items.Add(item);
        Emit("response.output_item.done", new JsonObject { ["response_id"] = response.Id, ["output_index"] = 0, ["item"] = item.DeepClone() });
        Emit("conversation.item.done", new JsonObject { ["item"] = item.DeepClone() });
        response.Output.Add(item.DeepClone());
    }

    /// <summary>Decides the scripted reply: a tool call the user's words ask for, a sentence using a tool's output, or a quote.</summary>
    private ((string Name, string Arguments)? Call, string Reply) PlanReply()
    {
        var last = _items.LastOrDefault(i => i["role"]?.ToString() != "assistant" && i["type"]?.ToString() != "function_call");
        if (last?["type"]?.ToString() == "function_call_output")
        {
            var callId = last["call_id"]?.ToString();
            var name = _items.LastOrDefault(i => i["type"]?.ToString() == "function_call" && i["call_id"]?.ToString() == callId)?["name"]?.ToString() ?? "the tool";
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

    private static JsonObject BuildSession(JsonObject configured)
    {
        var session = new JsonObject
        {
            ["type"] = "realtime",
            ["object"] = "realtime.session",
            ["id"] = "sess_" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(10)).ToLowerInvariant(),
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
                        ["create_response"] = true,
                        ["interrupt_response"] = true,
                    },
                },
                ["output"] = new JsonObject { ["format"] = new JsonObject { ["type"] = "audio/pcmu" }, ["voice"] = "marin", ["speed"] = 1.0 },
            },
        };
        Merge(session, configured);
        return session;
    }

    /// <summary>Deep-merges objects; any other value (null included) replaces what was there.</summary>
    private static void Merge(JsonObject target, JsonObject update)
    {
        foreach (var (key, value) in update)
        {
            if (key is "id" or "object")
            {
                continue;
            }

            if (value is JsonObject child && target[key] is JsonObject existing)
            {
                Merge(existing, child);
            }
            else
            {
                target[key] = value?.DeepClone();
            }
        }
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
    }
}
