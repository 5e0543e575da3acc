using System.Text.Json;

namespace RealtimeConsole.Simulator.Validation;

/// <summary>
/// The spec's constraints on each client event (openapi.yaml <c>RealtimeClientEvent*</c>): its <c>type</c>, its required
/// fields, their types, and the session or item it carries. The first failure is what the <c>error</c> event reports;
/// the session stays open.
/// </summary>
public static class RealtimeClientEventRules
{
    public static readonly string[] EventTypes =
    [
        "session.update", "input_audio_buffer.append", "input_audio_buffer.commit", "input_audio_buffer.clear", "output_audio_buffer.clear",
        "conversation.item.create", "conversation.item.retrieve", "conversation.item.truncate", "conversation.item.delete",
        "response.create", "response.cancel",
    ];

    private static readonly string[] ItemTypes =
        ["message", "function_call", "function_call_output", "mcp_approval_response", "mcp_list_tools", "mcp_call", "mcp_approval_request"];

    /// <summary>The first problem with <paramref name="clientEvent"/>, or null when the conversation may handle it.</summary>
    public static OpenAiError? Check(JsonElement clientEvent)
    {
        var rules = new JsonRules();
        if (clientEvent.ValueKind != JsonValueKind.Object)
        {
            rules.WrongType(clientEvent, "", "an object");
            return rules.Error;
        }

        if (!rules.Required(clientEvent, "type", "", out var type) || !rules.Enum(type, "type", EventTypes)
            || !rules.Optional(clientEvent, "event_id", "", rules.String))
        {
            return rules.Error;
        }

        switch (type.GetString())
        {
            case "session.update":
                if (rules.Object(clientEvent, "", "type", "event_id", "session") && rules.Required(clientEvent, "session", "", out var session))
                {
                    return RealtimeSessionRules.Check(session, "session", update: true) ?? RealtimeSessionRules.ModelProblem(session, "session");
                }

                break;
            case "input_audio_buffer.append":
                _ = rules.Object(clientEvent, "", "type", "event_id", "audio") && rules.Required(clientEvent, "audio", "", out var audio) && rules.String(audio, "audio");
                break;
            case "input_audio_buffer.commit" or "input_audio_buffer.clear" or "output_audio_buffer.clear":
                rules.Object(clientEvent, "", "type", "event_id");
                break;
            case "conversation.item.create":
                _ = rules.Object(clientEvent, "", "type", "event_id", "previous_item_id", "item")
                    && rules.Nullable(clientEvent, "previous_item_id", "", rules.String)
                    && rules.Required(clientEvent, "item", "", out var item)
                    && Item(rules, item, "item");
                break;
            case "conversation.item.retrieve" or "conversation.item.delete":
                _ = rules.Object(clientEvent, "", "type", "event_id", "item_id") && rules.Required(clientEvent, "item_id", "", out var id) && rules.String(id, "item_id");
                break;
            case "conversation.item.truncate":
                _ = rules.Object(clientEvent, "", "type", "event_id", "item_id", "content_index", "audio_end_ms")
                    && rules.Required(clientEvent, "item_id", "", out var truncated) && rules.String(truncated, "item_id")
                    && rules.Required(clientEvent, "content_index", "", out var index) && rules.Integer(index, "content_index", 0)
                    && rules.Required(clientEvent, "audio_end_ms", "", out var end) && rules.Integer(end, "audio_end_ms", 0);
                break;
            case "response.create":
                if (rules.Object(clientEvent, "", "type", "event_id", "response") && clientEvent.TryGetProperty("response", out var response) && response.ValueKind != JsonValueKind.Null)
                {
                    return RealtimeSessionRules.CheckResponse(response, "response");
                }

                break;
            default:
                _ = rules.Object(clientEvent, "", "type", "event_id", "response_id") && rules.Optional(clientEvent, "response_id", "", rules.String);
                break;
        }

        return rules.Error;
    }

    /// <summary><c>RealtimeConversationItem</c>: its type, and for messages the role and each content part's type for that role.</summary>
    public static bool Item(JsonRules rules, JsonElement item, string param)
    {
        if (!rules.Object(item, param, RealtimeSessionRules.ConversationItemFields)
            || !rules.Required(item, "type", param, out var type) || !rules.Enum(type, param + ".type", ItemTypes)
            || !rules.Optional(item, "id", param, rules.String)
            || !rules.Optional(item, "object", param, (v, p) => rules.Enum(v, p, "realtime.item"))
            || !rules.Optional(item, "status", param, (v, p) => rules.Enum(v, p, "completed", "incomplete", "in_progress")))
        {
            return false;
        }

        switch (type.GetString())
        {
            case "message":
                if (!rules.Required(item, "role", param, out var role) || !rules.Enum(role, param + ".role", "system", "user", "assistant")
                    || !rules.Required(item, "content", param, out var content))
                {
                    return false;
                }

                string[] parts = role.GetString() switch
                {
                    "system" => ["input_text"],
                    "user" => ["input_text", "input_audio", "input_image"],
                    _ => ["output_text", "output_audio"],
                };
                return rules.Array(content, param + ".content", (part, p) =>
                    rules.Object(part, p, "type", "text", "audio", "transcript", "image_url", "detail")
                    && rules.Required(part, "type", p, out var partType) && rules.Enum(partType, p + ".type", parts)
                    && rules.Optional(part, "text", p, rules.String)
                    && rules.Optional(part, "audio", p, rules.String)
                    && rules.Nullable(part, "transcript", p, rules.String)
                    && rules.Optional(part, "image_url", p, rules.String)
                    && rules.Optional(part, "detail", p, (d, dp) => rules.Enum(d, dp, "auto", "low", "high")));
            case "function_call":
                return rules.Required(item, "name", param, out var name) && rules.String(name, param + ".name")
                    && rules.Required(item, "arguments", param, out var arguments) && rules.String(arguments, param + ".arguments")
                    && rules.Optional(item, "call_id", param, rules.String);
            case "function_call_output":
                return rules.Required(item, "call_id", param, out var callId) && rules.String(callId, param + ".call_id")
                    && rules.Required(item, "output", param, out var output) && rules.String(output, param + ".output");
            default:
                return true;
        }
    }
}
