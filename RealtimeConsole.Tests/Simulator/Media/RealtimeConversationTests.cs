using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Simulator.Media.Audio;
using RealtimeConsole.Simulator.Media.Realtime;

namespace RealtimeConsole.Tests.Simulator.Media;

public sealed class RealtimeConversationTests
{
    private sealed class FakeChannel : IRealtimeChannel
    {
        public List<JsonObject> Events { get; } = [];

        public int AudioFrames { get; set; }

        public string? ClosedWith { get; private set; }

        public IEnumerable<string> Types => Events.Select(e => e["type"]!.ToString());

        public JsonObject Last(string type) => Events.Last(e => e["type"]!.ToString() == type);

        public void SendEvent(JsonObject serverEvent) => Events.Add(serverEvent);

        public void PlayAudio(int frames) => AudioFrames += frames;

        public void StopAudio() => AudioFrames = 0;

        public void Close(string reason) => ClosedWith = reason;
    }

    private readonly FakeTimeProvider _time = new();
    private readonly FakeChannel _channel = new();

    private RealtimeConversation Start(JsonObject? session = null, int budget = 100, TimeSpan? maxDuration = null)
    {
        var conversation = new RealtimeConversation(session ?? [], _channel, new FixedWindowResponseBudget(_time, budget), _time, maxDuration ?? TimeSpan.FromMinutes(60));
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

    [Fact]
    public void Session_created_first_then_update_merges_nested_configuration()
    {
        using var conversation = Start(new JsonObject { ["instructions"] = "from the key" });
        Assert.Equal("session.created", _channel.Events[0]["type"]?.ToString());
        Assert.Equal("from the key", _channel.Events[0]["session"]?["instructions"]?.ToString());

        conversation.HandleClientEvent("""{"type":"session.update","session":{"type":"realtime","audio":{"output":{"voice":"cedar"}}}}""");

        var session = _channel.Last("session.updated")["session"]!;
        Assert.Equal("cedar", session["audio"]?["output"]?["voice"]?.ToString());
        Assert.Equal("audio/pcmu", session["audio"]?["output"]?["format"]?["type"]?.ToString());
        Assert.Equal("from the key", session["instructions"]?.ToString());
    }

    [Fact]
    public void Bad_events_get_openai_shaped_errors_and_the_session_stays_usable()
    {
        using var conversation = Start(TextOnly());
        conversation.HandleClientEvent("{not json");
        conversation.HandleClientEvent("""{"type":"no.such.event","event_id":"evt_1"}""");
        conversation.HandleClientEvent("""{"type":"session.update","session":{"type":"transcription"}}""");
        conversation.HandleClientEvent("""{"type":"response.cancel"}""");

        var codes = _channel.Events.Where(e => e["type"]?.ToString() == "error").Select(e => e["error"]?["code"]?.ToString()).ToList();
        Assert.Equal(["invalid_json", "invalid_value", "invalid_value", "response_cancel_not_active"], codes);
        Assert.Equal("evt_1", _channel.Events.Where(e => e["type"]?.ToString() == "error").ElementAt(1)["error"]?["event_id"]?.ToString());

        conversation.HandleClientEvent(UserText("still here?"));
        Assert.Contains("conversation.item.done", _channel.Types);
    }

    [Fact]
    public void Text_response_quotes_the_user_and_reports_usage()
    {
        using var conversation = Start(TextOnly());
        conversation.HandleClientEvent(UserText("What is the weather?"));
        Assert.Equal(["session.created", "conversation.item.added", "conversation.item.done"], _channel.Types);

        conversation.HandleClientEvent("""{"type":"response.create"}""");

        var types = _channel.Types.Skip(3).ToList();
        Assert.Equal("rate_limits.updated", types[0]);
        Assert.Equal("response.created", types[1]);
        Assert.Equal("response.done", types[^1]);
        var text = string.Concat(_channel.Events.Where(e => e["type"]?.ToString() == "response.output_text.delta").Select(e => e["delta"]?.ToString()));
        Assert.Equal(text, _channel.Last("response.output_text.done")["text"]?.ToString());
        Assert.Contains("\"What is the weather?\"", text, StringComparison.Ordinal);
        var usage = _channel.Last("response.done")["response"]!["usage"]!;
        Assert.Equal(usage["input_tokens"]!.GetValue<int>() + usage["output_tokens"]!.GetValue<int>(), usage["total_tokens"]!.GetValue<int>());
        Assert.Equal(0, _channel.AudioFrames);
    }

    [Fact]
    public void Audio_response_plays_frames_matching_the_transcript_and_paces_deltas_on_the_clock()
    {
        using var conversation = Start();
        conversation.HandleClientEvent(UserText("Hi"));
        conversation.HandleClientEvent("""{"type":"response.create"}""");

        Assert.DoesNotContain("response.done", _channel.Types);
        Assert.Contains("output_audio_buffer.started", _channel.Types);
        for (var step = 0; step < 200 && !_channel.Types.Contains("response.done"); step++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(50));
        }

        var transcript = _channel.Last("response.output_audio_transcript.done")["transcript"]!.ToString();
        Assert.Equal((transcript.Length * RealtimeConversation.MillisecondsPerCharacter + 19) / 20, _channel.AudioFrames);
        Assert.Equal("completed", _channel.Last("response.done")["response"]?["status"]?.ToString());
    }

    [Fact]
    public void Response_cancel_stops_audio_and_finishes_as_cancelled()
    {
        using var conversation = Start();
        conversation.HandleClientEvent(UserText("Tell me a long story"));
        conversation.HandleClientEvent("""{"type":"response.create"}""");
        conversation.HandleClientEvent("""{"type":"response.create"}""");
        Assert.Equal("conversation_already_has_active_response", _channel.Last("error")["error"]?["code"]?.ToString());

        conversation.HandleClientEvent("""{"type":"response.cancel"}""");

        Assert.Equal(0, _channel.AudioFrames);
        Assert.Contains("output_audio_buffer.cleared", _channel.Types);
        Assert.Equal("cancelled", _channel.Last("response.done")["response"]?["status"]?.ToString());
        var count = _channel.Events.Count;
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(count, _channel.Events.Count);
    }

    [Fact]
    public void Declared_tool_is_called_and_its_output_is_used_in_the_next_reply()
    {
        var session = TextOnly();
        session["tools"] = JsonNode.Parse("""[{"type":"function","name":"set_theme","parameters":{"type":"object","properties":{"theme":{"type":"string","enum":["light","dark"]}}}}]""");
        using var conversation = Start(session);
        conversation.HandleClientEvent(UserText("switch to dark mode"));
        conversation.HandleClientEvent("""{"type":"response.create"}""");

        var call = _channel.Last("response.done")["response"]!["output"]![0]!;
        Assert.Equal("function_call", call["type"]?.ToString());
        Assert.Equal("""{"theme":"dark"}""", _channel.Last("response.function_call_arguments.done")["arguments"]?.ToString());

        conversation.HandleClientEvent(new JsonObject
        {
            ["type"] = "conversation.item.create",
            ["item"] = new JsonObject { ["type"] = "function_call_output", ["call_id"] = call["call_id"]?.ToString(), ["output"] = "theme is now dark" },
        }.ToJsonString());
        conversation.HandleClientEvent("""{"type":"response.create"}""");

        Assert.Equal("Done. set_theme returned theme is now dark.", _channel.Last("response.output_text.done")["text"]?.ToString());
    }

    [Fact]
    public void Text_unrelated_to_any_tool_gets_a_plain_reply()
    {
        var session = TextOnly();
        session["tools"] = JsonNode.Parse("""[{"type":"function","name":"set_theme","parameters":{"type":"object","properties":{"theme":{"type":"string","enum":["light","dark"]}}}}]""");
        using var conversation = Start(session);
        conversation.HandleClientEvent(UserText("what time is it"));
        conversation.HandleClientEvent("""{"type":"response.create"}""");
        Assert.Equal("message", _channel.Last("response.done")["response"]!["output"]![0]!["type"]?.ToString());
    }

    [Fact]
    public void Over_the_budget_response_create_gets_rate_limit_exceeded_and_the_session_stays_open()
    {
        using var conversation = Start(TextOnly(), budget: 1);
        conversation.HandleClientEvent("""{"type":"response.create"}""");
        conversation.HandleClientEvent("""{"type":"response.create"}""");

        var error = _channel.Last("error")["error"]!;
        Assert.Equal("rate_limit_exceeded", error["code"]?.ToString());
        Assert.Contains("Limit 1", error["message"]?.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, _channel.Last("rate_limits.updated")["rate_limits"]![0]!["remaining"]!.GetValue<int>());
        Assert.Null(_channel.ClosedWith);

        _time.Advance(TimeSpan.FromMinutes(1));
        conversation.HandleClientEvent("""{"type":"response.create"}""");
        Assert.Equal(2, _channel.Events.Count(e => e["type"]?.ToString() == "response.done"));
    }

    [Fact]
    public void Server_vad_detects_speech_commits_it_and_responds()
    {
        using var conversation = Start(TextOnly());
        var loud = Enumerable.Range(0, 160).Select(i => Pcmu.Encode((short)(9000 * Math.Sin(i * 0.4)))).ToArray();
        var silence = Enumerable.Repeat(Pcmu.Encode(0), 160).ToArray();

        for (var i = 0; i < 10; i++)
        {
            conversation.HandleInputAudio(silence);
        }

        Assert.DoesNotContain("input_audio_buffer.speech_started", _channel.Types);
        for (var i = 0; i < 20; i++)
        {
            conversation.HandleInputAudio(loud);
        }

        Assert.Equal(200, _channel.Last("input_audio_buffer.speech_started")["audio_start_ms"]!.GetValue<int>());
        for (var i = 0; i < 25; i++)
        {
            conversation.HandleInputAudio(silence);
        }

        var order = _channel.Types.SkipWhile(t => t != "input_audio_buffer.speech_stopped").Take(4).ToList();
        Assert.Equal(["input_audio_buffer.speech_stopped", "input_audio_buffer.committed", "conversation.item.added", "conversation.item.done"], order);
        Assert.Equal("completed", _channel.Last("response.done")["response"]?["status"]?.ToString());
    }

    [Fact]
    public void Turn_detection_null_disables_vad()
    {
        using var conversation = Start(new JsonObject { ["audio"] = new JsonObject { ["input"] = new JsonObject { ["turn_detection"] = null } } });
        var loud = Enumerable.Range(0, 160).Select(i => Pcmu.Encode((short)(9000 * Math.Sin(i * 0.4)))).ToArray();
        for (var i = 0; i < 50; i++)
        {
            conversation.HandleInputAudio(loud);
        }

        Assert.DoesNotContain("input_audio_buffer.speech_started", _channel.Types);
    }

    [Fact]
    public void Without_turn_detection_input_audio_is_buffered_until_commit_then_transcribed_when_asked()
    {
        var session = TextOnly();
        session["audio"] = JsonNode.Parse("""{"input":{"turn_detection":null,"transcription":{"model":"gpt-4o-mini-transcribe"}}}""");
        using var conversation = Start(session);
        var frame = Enumerable.Repeat(Pcmu.Encode(0), 160).ToArray();

        conversation.HandleClientEvent("""{"type":"input_audio_buffer.commit","event_id":"evt_empty"}""");
        Assert.Equal("input_audio_buffer_commit_empty", _channel.Last("error")["error"]!["code"]?.ToString());
        Assert.Contains("buffer only has 0.00ms of audio", _channel.Last("error")["error"]!["message"]?.ToString(), StringComparison.Ordinal);

        for (var i = 0; i < 450; i++)
        {
            conversation.HandleInputAudio(frame);
        }

        conversation.HandleClientEvent("""{"type":"input_audio_buffer.commit"}""");
        var itemId = _channel.Last("input_audio_buffer.committed")["item_id"]?.ToString();
        Assert.Equal(SimulatedInputTranscription.Phrase, _channel.Last("conversation.item.done")["item"]!["content"]![0]!["transcript"]?.ToString());
        var deltas = _channel.Events.Where(e => e["type"]?.ToString() == "conversation.item.input_audio_transcription.delta").ToList();
        Assert.Equal(SimulatedInputTranscription.Phrase + " ", string.Concat(deltas.Select(d => d["delta"]?.ToString())));
        Assert.All(deltas, d => Assert.Equal(itemId, d["item_id"]?.ToString()));
        var completed = _channel.Last("conversation.item.input_audio_transcription.completed");
        Assert.Equal((itemId, SimulatedInputTranscription.Phrase, 9.0), (completed["item_id"]?.ToString(), completed["transcript"]?.ToString(), completed["usage"]!["seconds"]!.GetValue<double>()));

        conversation.HandleClientEvent("""{"type":"response.create"}""");
        Assert.Equal($"You said: \"{SimulatedInputTranscription.Phrase}\". This is the simulator's scripted reply.", _channel.Last("response.output_text.done")["text"]?.ToString());

        conversation.HandleClientEvent("""{"type":"input_audio_buffer.commit"}""");
        Assert.Equal(2, _channel.Events.Count(e => e["type"]?.ToString() == "error"));
    }

    [Fact]
    public void Clear_empties_the_manual_buffer_and_a_commit_under_100_ms_is_refused()
    {
        using var conversation = Start(new JsonObject { ["audio"] = new JsonObject { ["input"] = new JsonObject { ["turn_detection"] = null } } });
        var frame = Enumerable.Repeat(Pcmu.Encode(0), 160).ToArray();
        for (var i = 0; i < 100; i++)
        {
            conversation.HandleInputAudio(frame);
        }

        conversation.HandleClientEvent("""{"type":"input_audio_buffer.clear"}""");
        Assert.Contains("input_audio_buffer.cleared", _channel.Types);
        for (var i = 0; i < 4; i++)
        {
            conversation.HandleInputAudio(frame);
        }

        conversation.HandleClientEvent("""{"type":"input_audio_buffer.commit"}""");
        Assert.Contains("buffer only has 80.00ms of audio", _channel.Last("error")["error"]!["message"]?.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("input_audio_buffer.committed", _channel.Types);
        Assert.DoesNotContain("conversation.item.input_audio_transcription.completed", _channel.Types);

        conversation.HandleInputAudio(frame);
        conversation.HandleClientEvent("""{"type":"input_audio_buffer.commit"}""");
        Assert.Contains("input_audio_buffer.committed", _channel.Types);
        // No transcription was requested: the spec's input_audio content still carries a transcript string, empty.
        Assert.Equal("", _channel.Last("conversation.item.done")["item"]!["content"]![0]!["transcript"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("Highlight the tools panel", "highlight_panel", """{"panel":"tools"}""")]
    [InlineData("Please switch to the light theme", "set_theme", """{"theme":"light"}""")]
    [InlineData("Go dark", "set_theme", """{"theme":"dark"}""")]
    public void Tools_are_matched_on_whole_words(string said, string tool, string arguments)
    {
        var session = TextOnly();
        session["tools"] = JsonNode.Parse("""
            [{"type":"function","name":"set_theme","parameters":{"type":"object","properties":{"theme":{"type":"string","enum":["light","dark"]}}}},
             {"type":"function","name":"highlight_panel","parameters":{"type":"object","properties":{"panel":{"type":"string","enum":["settings","audio","transcript","tools","log"]}}}}]
            """);
        using var conversation = Start(session);
        conversation.HandleClientEvent(UserText(said));
        conversation.HandleClientEvent("""{"type":"response.create"}""");

        var done = _channel.Last("response.function_call_arguments.done");
        Assert.Equal((tool, arguments), (done["name"]?.ToString(), done["arguments"]?.ToString()));
    }

    [Fact]
    public void Session_expires_after_the_maximum_duration()
    {
        using var conversation = Start(maxDuration: TimeSpan.FromMinutes(2));
        _time.Advance(TimeSpan.FromMinutes(2) - TimeSpan.FromSeconds(1));
        Assert.Null(_channel.ClosedWith);

        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("session_expired", _channel.Last("error")["error"]?["code"]?.ToString());
        Assert.Equal("session_expired", _channel.ClosedWith);
    }
}
