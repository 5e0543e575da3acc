using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Simulator;
using RealtimeConsole.Simulator.Media.Audio;
using RealtimeConsole.Simulator.Media.Realtime;

namespace RealtimeConsole.Tests.Simulator.Conformance;

/// <summary>
/// The data channel against openapi.yaml: the server events a session sends (<c>RealtimeServerEvent*</c>, checked field
/// by field with <see cref="ServerEventSchema"/>) and the answers to client events (<c>RealtimeClientEvent*</c>).
/// </summary>
public sealed class ServerEventsConformanceTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly RecordingChannel _channel = new();

    private RealtimeConversation Start(JsonObject? session = null, IRealtimeResponseBudget? budget = null)
    {
        var conversation = new RealtimeConversation(session ?? [], _channel, budget ?? new FixedWindowResponseBudget(_time, 100), _time, TimeSpan.FromMinutes(60));
        conversation.Start();
        return conversation;
    }

    private static string UserText(string text) => new JsonObject
    {
        ["type"] = "conversation.item.create",
        ["item"] = new JsonObject
        {
            ["type"] = "message",
            ["role"] = "user",
            ["content"] = new JsonArray(new JsonObject { ["type"] = "input_text", ["text"] = text }),
        },
    }.ToJsonString();

    private static JsonObject TextOnly() => new() { ["output_modalities"] = new JsonArray("text") };

    private void PlayToTheEnd()
    {
        for (var step = 0; step < 400 && !_channel.Types.Contains("response.done"); step++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(50));
        }
    }

    private void AssertEveryEventConforms() =>
        Assert.Empty(_channel.Events.SelectMany(ServerEventSchema.Problems));

    [Fact]
    public void Every_event_of_a_scripted_session_matches_its_RealtimeServerEvent_schema()
    {
        var session = new JsonObject
        {
            ["tools"] = JsonNode.Parse("""[{"type":"function","name":"set_theme","parameters":{"type":"object","properties":{"theme":{"type":"string","enum":["light","dark"]}}}}]"""),
        };
        using var conversation = Start(session);
        conversation.HandleClientEvent(UserText("Hello there"));
        conversation.HandleClientEvent("""{"type":"response.create"}""");
        PlayToTheEnd();
        conversation.AudioDrained();
        conversation.HandleClientEvent(UserText("switch to dark mode"));
        conversation.HandleClientEvent("""{"type":"response.create"}""");
        conversation.HandleClientEvent(UserText("Tell me more"));
        conversation.HandleClientEvent("""{"type":"response.create"}""");
        conversation.HandleClientEvent("""{"type":"response.cancel"}""");
        conversation.HandleClientEvent("""{"type":"response.create","response":{"output_modalities":["text"],"conversation":"none","metadata":{"topic":"x"}}}""");
        var loud = Enumerable.Range(0, 160).Select(i => Pcmu.Encode((short)(9000 * Math.Sin(i * 0.4)))).ToArray();
        var silence = Enumerable.Repeat(Pcmu.Encode(0), 160).ToArray();
        foreach (var frame in Enumerable.Repeat(loud, 20).Concat(Enumerable.Repeat(silence, 30)))
        {
            conversation.HandleInputAudio(frame);
        }

        conversation.HandleClientEvent("""{"type":"response.cancel"}""");
        conversation.HandleClientEvent("""{"type":"session.update","session":{"type":"realtime","audio":{"input":{"turn_detection":{"type":"semantic_vad"}}}}}""");
        conversation.HandleClientEvent("""{"type":"no.such.event"}""");

        foreach (var type in (string[])["session.created", "response.content_part.added", "response.content_part.done", "response.output_audio_transcript.done",
                     "response.function_call_arguments.done", "output_audio_buffer.started", "output_audio_buffer.stopped", "output_audio_buffer.cleared",
                     "input_audio_buffer.committed", "rate_limits.updated", "session.updated", "error"])
        {
            Assert.Contains(type, _channel.Types);
        }

        AssertEveryEventConforms();
    }

    /// <summary>The checker itself catches the deviations the issue found, so a green run means something.</summary>
    [Theory]
    [InlineData("""{"type":"response.content_part.added","event_id":"e","response_id":"r","item_id":"i","output_index":0,"content_index":0,"part":{"type":"output_audio","transcript":""}}""", "part.type")]
    [InlineData("""{"type":"output_audio_buffer.cleared","event_id":"e","response_id":null}""", "'response_id' is null")]
    [InlineData("""{"type":"conversation.item.done","event_id":"e","item":{"type":"message","role":"user","content":[{"type":"input_audio","transcript":null}]}}""", "transcript is null")]
    [InlineData("""{"type":"rate_limits.updated","event_id":"e","rate_limits":[{"name":"images","limit":1,"remaining":1,"reset_seconds":1}]}""", "rate_limits.updated")]
    [InlineData("""{"type":"conversation.item.retrieved","event_id":"e"}""", "missing required 'item'")]
    public void ServerEventSchema_flags_what_the_spec_forbids(string serverEvent, string expected)
    {
        var problems = ServerEventSchema.Problems(JsonNode.Parse(serverEvent)!.AsObject());
        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void RealtimeServerEventSessionCreated_session_carries_expires_at_include_and_idle_timeout()
    {
        using var conversation = Start();
        var session = _channel.Events[0]["session"]!;
        Assert.Equal(_time.GetUtcNow().AddMinutes(60).ToUnixTimeSeconds(), session["expires_at"]!.GetValue<long>());
        Assert.True(session.AsObject().ContainsKey("include"));
        Assert.True(session["audio"]!["input"]!["turn_detection"]!.AsObject().ContainsKey("idle_timeout_ms"));
    }

    [Theory]
    [InlineData(true, "audio")]
    [InlineData(false, "text")]
    public void RealtimeServerEventResponseContentPart_part_type_is_text_or_audio_and_the_item_keeps_output_types(bool audio, string partType)
    {
        using var conversation = Start(audio ? null : TextOnly());
        conversation.HandleClientEvent(UserText("Hi"));
        conversation.HandleClientEvent("""{"type":"response.create"}""");
        PlayToTheEnd();

        Assert.Equal(partType, _channel.Last("response.content_part.added")["part"]!["type"]!.ToString());
        Assert.Equal(partType, _channel.Last("response.content_part.done")["part"]!["type"]!.ToString());
        Assert.Equal("output_" + partType, _channel.Last("response.output_item.done")["item"]!["content"]![0]!["type"]!.ToString());
    }

    [Fact]
    public void RealtimeServerEventOutputAudioBufferCleared_always_names_a_response()
    {
        using var conversation = Start();
        conversation.HandleClientEvent("""{"type":"output_audio_buffer.clear","event_id":"evt_clear"}""");
        var nothingPlayed = _channel.Last("error")["error"]!;
        Assert.Equal("output_audio_buffer_empty", nothingPlayed["code"]!.ToString());
        Assert.Equal("evt_clear", nothingPlayed["event_id"]!.ToString());

        conversation.HandleClientEvent(UserText("Hi"));
        conversation.HandleClientEvent("""{"type":"response.create"}""");
        PlayToTheEnd();
        var responseId = _channel.Last("response.done")["response"]!["id"]!.ToString();
        conversation.HandleClientEvent("""{"type":"output_audio_buffer.clear"}""");

        Assert.Equal(responseId, _channel.Last("output_audio_buffer.cleared")["response_id"]!.ToString());
    }

    [Fact]
    public void Items_committed_by_server_vad_carry_a_string_transcript()
    {
        using var conversation = Start(TextOnly());
        var loud = Enumerable.Range(0, 160).Select(i => Pcmu.Encode((short)(9000 * Math.Sin(i * 0.4)))).ToArray();
        var silence = Enumerable.Repeat(Pcmu.Encode(0), 160).ToArray();
        foreach (var frame in Enumerable.Repeat(loud, 20).Concat(Enumerable.Repeat(silence, 30)))
        {
            conversation.HandleInputAudio(frame);
        }

        var item = _channel.Events.First(e => e["type"]!.ToString() == "conversation.item.done")["item"]!;
        Assert.Equal("input_audio", item["content"]![0]!["type"]!.ToString());
        Assert.Equal(System.Text.Json.JsonValueKind.String, item["content"]![0]!["transcript"]!.GetValueKind());
    }

    [Fact]
    public void RealtimeClientEventConversationItemRetrieve_answers_the_item_or_item_not_found()
    {
        using var conversation = Start(TextOnly());
        conversation.HandleClientEvent(UserText("Remember this"));
        var id = _channel.Last("conversation.item.done")["item"]!["id"]!.ToString();

        conversation.HandleClientEvent($$"""{"type":"conversation.item.retrieve","item_id":"{{id}}"}""");
        conversation.HandleClientEvent("""{"type":"conversation.item.retrieve","item_id":"item_nope","event_id":"evt_r"}""");

        var retrieved = _channel.Last("conversation.item.retrieved")["item"]!;
        Assert.Equal(id, retrieved["id"]!.ToString());
        Assert.Equal("Remember this", retrieved["content"]![0]!["text"]!.ToString());
        var error = _channel.Last("error")["error"]!;
        Assert.Equal(["item_not_found", "item_id", "evt_r"], [error["code"]!.ToString(), error["param"]!.ToString(), error["event_id"]!.ToString()]);
        AssertEveryEventConforms();
    }

    [Fact]
    public void RealtimeClientEventConversationItemTruncate_cuts_audio_and_deletes_the_transcript()
    {
        using var conversation = Start();
        conversation.HandleClientEvent(UserText("Tell me a story"));
        conversation.HandleClientEvent("""{"type":"response.create"}""");
        PlayToTheEnd();
        var item = _channel.Last("response.output_item.done")["item"]!;
        var id = item["id"]!.ToString();
        var userId = _channel.Events.First(e => e["type"]!.ToString() == "conversation.item.done")["item"]!["id"]!.ToString();

        conversation.HandleClientEvent($$"""{"type":"conversation.item.truncate","item_id":"{{id}}","content_index":0,"audio_end_ms":600000}""");
        Assert.Equal("audio_end_ms", _channel.Last("error")["error"]!["param"]!.ToString());
        conversation.HandleClientEvent($$"""{"type":"conversation.item.truncate","item_id":"{{userId}}","content_index":0,"audio_end_ms":10}""");
        Assert.Equal("content_index", _channel.Last("error")["error"]!["param"]!.ToString());
        conversation.HandleClientEvent($$"""{"type":"conversation.item.truncate","item_id":"{{id}}","content_index":0,"audio_end_ms":200}""");

        var truncated = _channel.Last("conversation.item.truncated");
        Assert.Equal([id, "0", "200"], [truncated["item_id"]!.ToString(), truncated["content_index"]!.ToString(), truncated["audio_end_ms"]!.ToString()]);
        conversation.HandleClientEvent($$"""{"type":"conversation.item.retrieve","item_id":"{{id}}"}""");
        Assert.Equal("", _channel.Last("conversation.item.retrieved")["item"]!["content"]![0]!["transcript"]!.ToString());
        AssertEveryEventConforms();
    }

    [Fact]
    public void A_barge_in_keeps_the_interrupted_message_incomplete_so_it_can_be_truncated_to_what_was_heard()
    {
        using var conversation = Start();
        conversation.HandleClientEvent(UserText("Tell me a long story about the sea"));
        conversation.HandleClientEvent("""{"type":"response.create"}""");
        _time.Advance(TimeSpan.FromMilliseconds(300));
        var id = _channel.Last("response.output_item.added")["item"]!["id"]!.ToString();

        conversation.HandleClientEvent($$"""{"type":"conversation.item.truncate","item_id":"{{id}}","content_index":0,"audio_end_ms":300}""");

        Assert.Equal("cancelled", _channel.Last("response.done")["response"]!["status"]!.ToString());
        var kept = _channel.Last("conversation.item.done")["item"]!;
        Assert.Equal([id, "incomplete"], [kept["id"]!.ToString(), kept["status"]!.ToString()]);
        Assert.Equal(300, _channel.Last("conversation.item.truncated")["audio_end_ms"]!.GetValue<int>());
        conversation.HandleClientEvent($$"""{"type":"conversation.item.retrieve","item_id":"{{id}}"}""");
        Assert.Equal("", _channel.Last("conversation.item.retrieved")["item"]!["content"]![0]!["transcript"]!.ToString());
        AssertEveryEventConforms();
    }

    [Fact]
    public void RealtimeResponseCreateParams_output_modalities_text_makes_no_audio_in_an_audio_session()
    {
        using var conversation = Start();
        conversation.HandleClientEvent(UserText("Hi"));
        conversation.HandleClientEvent("""{"type":"response.create","response":{"output_modalities":["text"]}}""");

        Assert.Equal(0, _channel.AudioFrames);
        Assert.Contains("response.output_text.done", _channel.Types);
        Assert.DoesNotContain("output_audio_buffer.started", _channel.Types);
        Assert.Equal("""["text"]""", _channel.Last("response.done")["response"]!["output_modalities"]!.ToJsonString());
    }

    [Fact]
    public void RealtimeResponseCreateParams_metadata_is_echoed_and_conversation_none_adds_no_items()
    {
        using var conversation = Start(TextOnly());
        conversation.HandleClientEvent(UserText("Classify this"));
        var before = _channel.Events.Count;

        conversation.HandleClientEvent("""{"type":"response.create","response":{"conversation":"none","metadata":{"purpose":"classification"}}}""");

        var events = _channel.Events.Skip(before).ToList();
        Assert.DoesNotContain(events, e => e["type"]!.ToString().StartsWith("conversation.item.", StringComparison.Ordinal));
        var done = _channel.Last("response.done")["response"]!;
        Assert.Equal("""{"purpose":"classification"}""", done["metadata"]!.ToJsonString());
        Assert.Equal("""{"purpose":"classification"}""", _channel.Last("response.created")["response"]!["metadata"]!.ToJsonString());
        Assert.Null(done["conversation_id"]);
        conversation.HandleClientEvent($$"""{"type":"conversation.item.retrieve","item_id":"{{done["output"]![0]!["id"]}}"}""");
        Assert.Equal("item_not_found", _channel.Last("error")["error"]!["code"]!.ToString());
    }

    [Fact]
    public void RealtimeResponseCreateParams_input_replaces_the_conversation_as_context()
    {
        using var conversation = Start(TextOnly());
        conversation.HandleClientEvent(UserText("in the conversation"));

        conversation.HandleClientEvent("""{"type":"response.create","response":{"conversation":"none","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"only this"}]}]}}""");

        Assert.Contains("\"only this\"", _channel.Last("response.output_text.done")["text"]!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void RealtimeResponseCreateParams_max_output_tokens_ends_the_response_incomplete()
    {
        using var conversation = Start(TextOnly());
        conversation.HandleClientEvent(UserText("Tell me everything you know about the sea"));
        conversation.HandleClientEvent("""{"type":"response.create","response":{"max_output_tokens":3}}""");

        var response = _channel.Last("response.done")["response"]!;
        Assert.Equal("incomplete", response["status"]!.ToString());
        Assert.Equal("max_output_tokens", response["status_details"]!["reason"]!.ToString());
        Assert.True(response["usage"]!["output_tokens"]!.GetValue<int>() <= 3);
        AssertEveryEventConforms();
    }

    /// <summary>The invalid client events, each answered with an error event while the session stays open.</summary>
    [Theory]
    [InlineData("""{"type":"session.update","session":{"type":"realtime","audio":{"output":{"speed":3.0}}}}""", "session.audio.output.speed", "decimal_above_max_value")]
    [InlineData("""{"type":"session.update","session":{"output_modalities":["video"]}}""", "session.output_modalities[0]", "invalid_value")]
    [InlineData("""{"session":{"instructions":"x"}}""", "type", "missing_required_parameter")]
    [InlineData("""{"type":"conversation.item.create","item":{"type":"message","role":"robot","content":[]}}""", "item.role", "invalid_value")]
    [InlineData("""{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"output_text","text":"x"}]}}""", "item.content[0].type", "invalid_value")]
    [InlineData("""{"type":"conversation.item.create"}""", "item", "missing_required_parameter")]
    [InlineData("""{"type":"conversation.item.truncate","item_id":"item_1","content_index":0}""", "audio_end_ms", "missing_required_parameter")]
    [InlineData("""{"type":"input_audio_buffer.append"}""", "audio", "missing_required_parameter")]
    [InlineData("""{"type":"response.create","response":{"output_modalities":["text","audio"]}}""", "response.output_modalities", "invalid_value")]
    [InlineData("""{"type":"response.create","response":{"conversation":"other"}}""", "response.conversation", "invalid_value")]
    [InlineData("""{"type":"response.create","response":{"metadata":{"n":5}}}""", "response.metadata.n", "invalid_type")]
    [InlineData("""{"type":"session.update","session":{"model":"gpt-nonexistent"}}""", "session.model", "model_not_found")]
    public void RealtimeClientEvent_constraint_is_an_error_event_and_the_session_stays_open(string clientEvent, string param, string code)
    {
        using var conversation = Start(TextOnly());
        conversation.HandleClientEvent(clientEvent);

        var error = _channel.Last("error")["error"]!;
        Assert.Equal(code, error["code"]!.ToString());
        Assert.Equal(param, error["param"]!.ToString());
        Assert.Equal("invalid_request_error", error["type"]!.ToString());
        Assert.DoesNotContain("session.updated", _channel.Types);
        Assert.DoesNotContain("conversation.item.added", _channel.Types);

        conversation.HandleClientEvent("""{"type":"response.create"}""");
        Assert.Equal("completed", _channel.Last("response.done")["response"]!["status"]!.ToString());
        Assert.Null(_channel.ClosedWith);
    }

    [Fact]
    public void RealtimeServerEventRateLimitsUpdated_reports_requests_and_tokens_and_tokens_are_settled_per_response()
    {
        var limiter = new SimulatorRateLimiter(_time, Options.Create(new SimulatorOptions { TokensPerMinute = 1000 }));
        using var conversation = Start(TextOnly(), new SimulatorResponseBudget(limiter, new SimulatorFaults(_time)));
        conversation.HandleClientEvent(UserText("Hello"));
        conversation.HandleClientEvent("""{"type":"response.create"}""");

        var limits = _channel.Last("rate_limits.updated")["rate_limits"]!.AsArray();
        Assert.Equal(["requests", "tokens"], limits.Select(l => l!["name"]!.ToString()));
        Assert.Equal(1000, limits[1]!["limit"]!.GetValue<int>());
        var total = _channel.Last("response.done")["response"]!["usage"]!["total_tokens"]!.GetValue<int>();
        // The reservation was the estimate of this very response, so after settling exactly its tokens are spent.
        Assert.Equal(1000 - total, limits[1]!["remaining"]!.GetValue<int>());
        Assert.Equal(1000 - total, limiter.PeekTokens().Remaining);
    }

    [Fact]
    public void A_response_beyond_the_tokens_per_minute_is_refused_with_type_tokens()
    {
        var limiter = new SimulatorRateLimiter(_time, Options.Create(new SimulatorOptions { TokensPerMinute = 20 }));
        using var conversation = Start(TextOnly(), new SimulatorResponseBudget(limiter, new SimulatorFaults(_time)));
        conversation.HandleClientEvent(UserText("A message long enough to need more than twenty tokens of the budget, surely"));
        conversation.HandleClientEvent("""{"type":"response.create"}""");

        var error = _channel.Last("error")["error"]!;
        Assert.Equal(["tokens", "rate_limit_exceeded"], [error["type"]!.ToString(), error["code"]!.ToString()]);
        Assert.Contains("tokens per min (TPM): Limit 20", error["message"]!.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("response.created", _channel.Types);
        Assert.Equal(limiter.Peek(SimulatorResource.Responses).Limit, limiter.Peek(SimulatorResource.Responses).Remaining);
    }

    private sealed class RecordingChannel : IRealtimeChannel
    {
        public List<JsonObject> Events { get; } = [];

        public int AudioFrames { get; private set; }

        public string? ClosedWith { get; private set; }

        public IEnumerable<string> Types => Events.Select(e => e["type"]!.ToString());

        public JsonObject Last(string type) => Events.Last(e => e["type"]!.ToString() == type);

        public void SendEvent(JsonObject serverEvent) => Events.Add(serverEvent);

        public void PlayAudio(int frames) => AudioFrames += frames;

        public void StopAudio() => AudioFrames = 0;

        public void Close(string reason) => ClosedWith = reason;
    }
}
