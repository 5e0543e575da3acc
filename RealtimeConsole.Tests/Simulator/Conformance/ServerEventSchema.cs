using System.Text.Json;
using System.Text.Json.Nodes;

namespace RealtimeConsole.Tests.Simulator.Conformance;

/// <summary>
/// The spec's server events (openapi.yaml <c>RealtimeServerEvent*</c>, generated from f85dbe2): each type's required
/// fields, then field-level checks of what they carry (ids are strings, indexes integers, a content part is
/// <c>text</c>|<c>audio</c>, items and responses have their enums). <see cref="Problems"/> lists every deviation.
/// </summary>
public static class ServerEventSchema
{
    public static readonly IReadOnlyDictionary<string, string[]> Required = new Dictionary<string, string[]>
    {
        ["conversation.created"] = ["event_id", "conversation"], // RealtimeServerEventConversationCreated
        ["conversation.item.added"] = ["event_id", "item"], // RealtimeServerEventConversationItemAdded
        ["conversation.item.created"] = ["event_id", "item"], // RealtimeServerEventConversationItemCreated
        ["conversation.item.deleted"] = ["event_id", "item_id"], // RealtimeServerEventConversationItemDeleted
        ["conversation.item.done"] = ["event_id", "item"], // RealtimeServerEventConversationItemDone
        ["conversation.item.input_audio_transcription.completed"] = ["event_id", "item_id", "content_index", "transcript", "usage"], // RealtimeServerEventConversationItemInputAudioTranscriptionCompleted
        ["conversation.item.input_audio_transcription.delta"] = ["event_id", "item_id"], // RealtimeServerEventConversationItemInputAudioTranscriptionDelta
        ["conversation.item.input_audio_transcription.failed"] = ["event_id", "item_id", "content_index", "error"], // RealtimeServerEventConversationItemInputAudioTranscriptionFailed
        ["conversation.item.input_audio_transcription.segment"] = ["event_id", "item_id", "content_index", "text", "id", "speaker", "start", "end"], // RealtimeServerEventConversationItemInputAudioTranscriptionSegment
        ["conversation.item.retrieved"] = ["event_id", "item"], // RealtimeServerEventConversationItemRetrieved
        ["conversation.item.truncated"] = ["event_id", "item_id", "content_index", "audio_end_ms"], // RealtimeServerEventConversationItemTruncated
        ["error"] = ["event_id", "error"], // RealtimeServerEventError
        ["input_audio_buffer.cleared"] = ["event_id"], // RealtimeServerEventInputAudioBufferCleared
        ["input_audio_buffer.committed"] = ["event_id", "item_id"], // RealtimeServerEventInputAudioBufferCommitted
        ["input_audio_buffer.dtmf_event_received"] = ["event", "received_at"], // RealtimeServerEventInputAudioBufferDtmfEventReceived
        ["input_audio_buffer.speech_started"] = ["event_id", "audio_start_ms", "item_id"], // RealtimeServerEventInputAudioBufferSpeechStarted
        ["input_audio_buffer.speech_stopped"] = ["event_id", "audio_end_ms", "item_id"], // RealtimeServerEventInputAudioBufferSpeechStopped
        ["input_audio_buffer.timeout_triggered"] = ["event_id", "audio_start_ms", "audio_end_ms", "item_id"], // RealtimeServerEventInputAudioBufferTimeoutTriggered
        ["mcp_list_tools.completed"] = ["event_id", "item_id"], // RealtimeServerEventMCPListToolsCompleted
        ["mcp_list_tools.failed"] = ["event_id", "item_id"], // RealtimeServerEventMCPListToolsFailed
        ["mcp_list_tools.in_progress"] = ["event_id", "item_id"], // RealtimeServerEventMCPListToolsInProgress
        ["output_audio_buffer.cleared"] = ["event_id", "response_id"], // RealtimeServerEventOutputAudioBufferCleared
        ["output_audio_buffer.started"] = ["event_id", "response_id"], // RealtimeServerEventOutputAudioBufferStarted
        ["output_audio_buffer.stopped"] = ["event_id", "response_id"], // RealtimeServerEventOutputAudioBufferStopped
        ["rate_limits.updated"] = ["event_id", "rate_limits"], // RealtimeServerEventRateLimitsUpdated
        ["response.output_audio.delta"] = ["event_id", "response_id", "item_id", "output_index", "content_index", "delta"], // RealtimeServerEventResponseAudioDelta
        ["response.output_audio.done"] = ["event_id", "response_id", "item_id", "output_index", "content_index"], // RealtimeServerEventResponseAudioDone
        ["response.output_audio_transcript.delta"] = ["event_id", "response_id", "item_id", "output_index", "content_index", "delta"], // RealtimeServerEventResponseAudioTranscriptDelta
        ["response.output_audio_transcript.done"] = ["event_id", "response_id", "item_id", "output_index", "content_index", "transcript"], // RealtimeServerEventResponseAudioTranscriptDone
        ["response.content_part.added"] = ["event_id", "response_id", "item_id", "output_index", "content_index", "part"], // RealtimeServerEventResponseContentPartAdded
        ["response.content_part.done"] = ["event_id", "response_id", "item_id", "output_index", "content_index", "part"], // RealtimeServerEventResponseContentPartDone
        ["response.created"] = ["event_id", "response"], // RealtimeServerEventResponseCreated
        ["response.done"] = ["event_id", "response"], // RealtimeServerEventResponseDone
        ["response.function_call_arguments.delta"] = ["event_id", "response_id", "item_id", "output_index", "call_id", "delta"], // RealtimeServerEventResponseFunctionCallArgumentsDelta
        ["response.function_call_arguments.done"] = ["event_id", "response_id", "item_id", "output_index", "call_id", "name", "arguments"], // RealtimeServerEventResponseFunctionCallArgumentsDone
        ["response.mcp_call_arguments.delta"] = ["event_id", "response_id", "item_id", "output_index", "delta"], // RealtimeServerEventResponseMCPCallArgumentsDelta
        ["response.mcp_call_arguments.done"] = ["event_id", "response_id", "item_id", "output_index", "arguments"], // RealtimeServerEventResponseMCPCallArgumentsDone
        ["response.mcp_call.completed"] = ["event_id", "output_index", "item_id"], // RealtimeServerEventResponseMCPCallCompleted
        ["response.mcp_call.failed"] = ["event_id", "output_index", "item_id"], // RealtimeServerEventResponseMCPCallFailed
        ["response.mcp_call.in_progress"] = ["event_id", "output_index", "item_id"], // RealtimeServerEventResponseMCPCallInProgress
        ["response.output_item.added"] = ["event_id", "response_id", "output_index", "item"], // RealtimeServerEventResponseOutputItemAdded
        ["response.output_item.done"] = ["event_id", "response_id", "output_index", "item"], // RealtimeServerEventResponseOutputItemDone
        ["response.output_text.delta"] = ["event_id", "response_id", "item_id", "output_index", "content_index", "delta"], // RealtimeServerEventResponseTextDelta
        ["response.output_text.done"] = ["event_id", "response_id", "item_id", "output_index", "content_index", "text"], // RealtimeServerEventResponseTextDone
        ["session.created"] = ["event_id", "session"], // RealtimeServerEventSessionCreated
        ["session.updated"] = ["event_id", "session"], // RealtimeServerEventSessionUpdated
        ["transcription_session.updated"] = ["event_id", "session"], // RealtimeServerEventTranscriptionSessionUpdated
    };

    private static readonly string[] StringFields = ["event_id", "response_id", "item_id", "call_id", "delta", "transcript", "text", "name", "arguments"];

    private static readonly string[] IntegerFields = ["output_index", "content_index", "audio_start_ms", "audio_end_ms"];

    /// <summary>Every way <paramref name="serverEvent"/> departs from its schema; empty when it conforms.</summary>
    public static List<string> Problems(JsonObject serverEvent)
    {
        var problems = new List<string>();
        var type = serverEvent["type"]?.GetValueKind() == JsonValueKind.String ? serverEvent["type"]!.GetValue<string>() : null;
        if (type is null || !Required.TryGetValue(type, out var required))
        {
            problems.Add($"unknown server event type '{serverEvent["type"]}'");
            return problems;
        }

        foreach (var field in required)
        {
            if (!serverEvent.ContainsKey(field))
            {
                problems.Add($"{type}: missing required '{field}'");
            }
        }

        foreach (var field in StringFields)
        {
            if (serverEvent.ContainsKey(field) && serverEvent[field]?.GetValueKind() != JsonValueKind.String)
            {
                problems.Add($"{type}: '{field}' is {Kind(serverEvent[field])}, not a string");
            }
        }

        foreach (var field in IntegerFields)
        {
            if (serverEvent.ContainsKey(field) && serverEvent[field]?.GetValueKind() != JsonValueKind.Number)
            {
                problems.Add($"{type}: '{field}' is {Kind(serverEvent[field])}, not an integer");
            }
        }

        if (serverEvent["part"] is { } part)
        {
            // RealtimeServerEventResponseContentPartAdded/Done: part.type is text|audio.
            if (part["type"]?.ToString() is not ("text" or "audio"))
            {
                problems.Add($"{type}: part.type '{part["type"]}' is not text|audio");
            }
        }

        if (serverEvent["item"] is JsonObject item)
        {
            CheckItem(type + ".item", item, problems);
        }

        if (serverEvent["response"] is JsonObject response)
        {
            CheckResponse(type + ".response", response, problems);
        }

        if (serverEvent["session"] is JsonObject session)
        {
            CheckSession(type + ".session", session, problems);
        }

        if (type == "rate_limits.updated")
        {
            foreach (var limit in serverEvent["rate_limits"]!.AsArray())
            {
                if (limit?["name"]?.ToString() is not ("requests" or "tokens") || limit["limit"]?.GetValueKind() != JsonValueKind.Number
                    || limit["remaining"]?.GetValueKind() != JsonValueKind.Number || limit["reset_seconds"]?.GetValueKind() != JsonValueKind.Number)
                {
                    problems.Add($"rate_limits.updated: entry {limit?.ToJsonString()} does not match RealtimeServerEventRateLimitsUpdated");
                }
            }
        }

        if (type == "error" && serverEvent["error"] is JsonObject error)
        {
            foreach (var field in (string[])["type", "message"])
            {
                if (error[field]?.GetValueKind() != JsonValueKind.String)
                {
                    problems.Add($"error.error.{field} is not a string");
                }
            }
        }

        return problems;
    }

    /// <summary>RealtimeConversationItem: type, status, role and content part types by role; transcripts are strings.</summary>
    private static void CheckItem(string at, JsonObject item, List<string> problems)
    {
        var type = item["type"]?.ToString();
        if (type is not ("message" or "function_call" or "function_call_output" or "mcp_call" or "mcp_list_tools" or "mcp_approval_request" or "mcp_approval_response"))
        {
            problems.Add($"{at}.type '{type}' is not a RealtimeConversationItem type");
        }

        if (item["object"] is { } obj && obj.ToString() != "realtime.item")
        {
            problems.Add($"{at}.object '{obj}' is not realtime.item");
        }

        if (item["status"] is { } status && status.ToString() is not ("completed" or "incomplete" or "in_progress"))
        {
            problems.Add($"{at}.status '{status}' is not completed|incomplete|in_progress");
        }

        if (type != "message")
        {
            return;
        }

        string[]? parts = item["role"]?.ToString() switch
        {
            "system" => ["input_text"],
            "user" => ["input_text", "input_audio", "input_image"],
            "assistant" => ["output_text", "output_audio"],
            _ => null,
        };
        if (parts is null)
        {
            problems.Add($"{at}.role '{item["role"]}' is not system|user|assistant");
            return;
        }

        foreach (var part in item["content"]?.AsArray() ?? [])
        {
            if (!parts.Contains(part?["type"]?.ToString()))
            {
                problems.Add($"{at}.content part type '{part?["type"]}' is not allowed for role {item["role"]}");
            }

            if (part is JsonObject p && p.ContainsKey("transcript") && p["transcript"]?.GetValueKind() != JsonValueKind.String)
            {
                problems.Add($"{at}.content transcript is {Kind(p["transcript"])}, not a string");
            }
        }
    }

    /// <summary>RealtimeResponse: object, status enum, output items, output_modalities of text|audio.</summary>
    private static void CheckResponse(string at, JsonObject response, List<string> problems)
    {
        if (response["object"]?.ToString() != "realtime.response")
        {
            problems.Add($"{at}.object is not realtime.response");
        }

        if (response["status"]?.ToString() is not ("completed" or "cancelled" or "failed" or "incomplete" or "in_progress"))
        {
            problems.Add($"{at}.status '{response["status"]}' is not a RealtimeResponse status");
        }

        foreach (var output in response["output"]?.AsArray() ?? [])
        {
            CheckItem(at + ".output", output!.AsObject(), problems);
        }

        foreach (var modality in response["output_modalities"]?.AsArray() ?? [])
        {
            if (modality?.ToString() is not ("text" or "audio"))
            {
                problems.Add($"{at}.output_modalities has '{modality}'");
            }
        }

        if (response["output_modalities"]?.AsArray().Count > 1)
        {
            problems.Add($"{at}.output_modalities has both text and audio");
        }
    }

    /// <summary>RealtimeSessionCreateResponseGA: its identity and the fields the spec's example carries.</summary>
    private static void CheckSession(string at, JsonObject session, List<string> problems)
    {
        if (session["type"]?.ToString() != "realtime" || session["object"]?.ToString() != "realtime.session" || session["id"]?.ToString()?.StartsWith("sess_", StringComparison.Ordinal) != true)
        {
            problems.Add($"{at}: type/object/id are not realtime/realtime.session/sess_…");
        }

        foreach (var field in (string[])["model", "output_modalities", "instructions", "tools", "tool_choice", "max_output_tokens", "expires_at", "audio", "include"])
        {
            if (!session.ContainsKey(field))
            {
                problems.Add($"{at}: missing '{field}'");
            }
        }

        if (session["audio"]?["input"]?["turn_detection"] is JsonObject { } detection && detection["type"]?.ToString() == "semantic_vad"
            && (detection.ContainsKey("threshold") || detection.ContainsKey("silence_duration_ms") || detection.ContainsKey("prefix_padding_ms")))
        {
            problems.Add($"{at}: semantic_vad carries server_vad's fields");
        }
    }

    private static string Kind(JsonNode? node) => node is null ? "null" : node.GetValueKind().ToString().ToLowerInvariant();
}
