using System.Text.Json.Nodes;
using RealtimeConsole.VoiceSession;

namespace RealtimeConsole.Tests.VoiceSession;

public sealed class VoiceSessionModelTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Event_log_filters_by_type_and_pause_holds_events_until_resume()
    {
        var log = new VoiceEventLog();
        log.Add(T0, EventDirection.Received, """{"type":"session.created"}""");
        log.Add(T0, EventDirection.Sent, """{"type":"response.create"}""");
        log.Add(T0, EventDirection.Received, """{"type":"response.done"}""");

        log.Filter = "RESPONSE";
        Assert.Equal(["response.create", "response.done"], log.View.Select(e => e.Type));
        Assert.Equal(["response.done", "response.create"], log.RowsNewestFirst.Select(r => r.First.Type));

        log.Pause();
        log.Add(T0, EventDirection.Received, """{"type":"response.created"}""");
        Assert.Equal(2, log.View.Count);
        Assert.Equal(1, log.HeldCount);

        log.Resume();
        Assert.Equal(["response.create", "response.done", "response.created"], log.View.Select(e => e.Type));
        Assert.Equal("response.created", log.RowsNewestFirst[0].First.Type);
        Assert.Equal(0, log.HeldCount);

        log.Clear();
        Assert.Empty(log.View);
    }

    [Fact]
    public void Event_log_exports_the_filtered_view_as_jsonl_and_names_untyped_input()
    {
        var log = new VoiceEventLog();
        log.Add(T0, EventDirection.Received, """{"type":"session.created","session":{"id":"sess_1"}}""");
        log.Add(T0, EventDirection.Sent, """{"type":"response.create"}""");
        log.Add(T0, EventDirection.Received, "not json");
        log.Add(T0, EventDirection.Received, "[1]");

        var lines = log.ToJsonl().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        var first = JsonNode.Parse(lines[0])!;
        Assert.Equal("server", (string?)first["direction"]);
        Assert.Equal("sess_1", (string?)first["event"]!["session"]!["id"]);
        Assert.Equal("client", (string?)JsonNode.Parse(lines[1])!["direction"]);
        Assert.Equal("not json", (string?)JsonNode.Parse(lines[2])!["event"]);
        Assert.Equal(["session.created", "response.create", "(not JSON)", "(no type)"], log.View.Select(e => e.Type));
    }

    [Fact]
    public void Event_log_drops_the_oldest_beyond_its_capacity()
    {
        var log = new VoiceEventLog();
        for (var i = 0; i < VoiceEventLog.Capacity + 5; i++)
        {
            log.Add(T0, EventDirection.Received, $$"""{"type":"e{{i}}"}""");
        }

        Assert.Equal(VoiceEventLog.Capacity, log.Count);
        Assert.Equal("e5", log.View[0].Type);
    }

    [Fact]
    public void Conversation_builds_turns_sums_usage_and_reads_limits_calls_and_expiry()
    {
        var conversation = new VoiceConversation();
        conversation.AddUserText("hello");
        conversation.Apply("""{"type":"response.output_audio_transcript.delta","item_id":"it_1","delta":"Hi "}""");
        conversation.Apply("""{"type":"response.output_audio_transcript.delta","item_id":"it_1","delta":"there"}""");
        Assert.Equal("Hi there", conversation.Turns[1].Text);
        Assert.False(conversation.Turns[1].Done);
        conversation.Apply("""{"type":"response.output_audio_transcript.done","item_id":"it_1","transcript":"Hi there!"}""");
        Assert.Equal([(Speaker.User, "hello"), (Speaker.Assistant, "Hi there!")], conversation.Turns.Select(t => (t.Speaker, t.Text)));

        var usage = """{"type":"response.done","response":{"status":"completed","output":[],"usage":{"total_tokens":30,"input_tokens":20,"output_tokens":10,"input_token_details":{"cached_tokens":4}}}}""";
        conversation.Apply(usage);
        conversation.Apply(usage);
        Assert.Equal(new UsageTotals(2, 40, 20, 8, 60), conversation.Usage);

        var limits = conversation.Apply("""{"type":"rate_limits.updated","rate_limits":[{"name":"requests","limit":60,"remaining":59,"reset_seconds":1.5}]}""");
        Assert.True(limits.RateLimitsChanged);
        Assert.Equal([new RateLimitReading("requests", 60, 59, 1.5)], conversation.RateLimits);

        var call = conversation.Apply("""{"type":"response.done","response":{"output":[{"type":"function_call","name":"set_theme","call_id":"call_1","arguments":"{\"theme\":\"dark\"}"}]}}""");
        Assert.Equal([new FunctionCall("call_1", "set_theme", """{"theme":"dark"}""")], call.FunctionCalls);

        Assert.True(conversation.Apply("""{"type":"error","error":{"type":"invalid_request_error","code":"session_expired","message":"Your session hit the maximum duration of 60 minutes."}}""").SessionExpired);
        Assert.StartsWith("session_expired: Your session", conversation.LastError, StringComparison.Ordinal);
        Assert.Same(ServerEventEffect.None, conversation.Apply("{oops"));

        conversation.Apply("""{"type":"response.output_audio_transcript.delta","item_id":"it_2","delta":"You said"}""");
        conversation.Apply("""{"type":"response.done","response":{"status":"cancelled","output":[{"type":"message","id":"it_2"}]}}""");
        Assert.True(conversation.Turns[^1] is { Done: true, Interrupted: true, Text: "You said" });
    }

    [Fact]
    public void Settings_build_the_ga_session_with_turn_detection_and_tools()
    {
        var settings = new VoiceSessionSettings { Voice = "cedar", VadThreshold = 0.7, SilenceDurationMs = 800 };
        var session = settings.BuildSession(PageTools.Definitions());
        Assert.Equal("realtime", (string?)session["type"]);
        Assert.Equal("cedar", (string?)session["audio"]!["output"]!["voice"]);
        var vad = session["audio"]!["input"]!["turn_detection"]!;
        Assert.Equal("server_vad", (string?)vad["type"]);
        Assert.Equal(0.7, (double)vad["threshold"]!);
        Assert.Equal(800, (int)vad["silence_duration_ms"]!);
        Assert.Equal(["set_theme", "highlight_panel", "show_toast"], session["tools"]!.AsArray().Select(t => (string?)t!["name"]));

        settings.PushToTalk = true;
        settings.ToolsEnabled = false;
        session = settings.BuildSession(PageTools.Definitions());
        Assert.Null(session["audio"]!["input"]!["turn_detection"]);
        Assert.Empty(session["tools"]!.AsArray());

        settings.PushToTalk = false;
        settings.TurnDetection = TurnDetectionMode.SemanticVad;
        Assert.Equal("semantic_vad", (string?)settings.BuildSession([])["audio"]!["input"]!["turn_detection"]!["type"]);
    }

    [Theory]
    [InlineData("set_theme", """{"theme":"dark"}""", true, "theme:dark")]
    [InlineData("set_theme", """{"theme":"purple"}""", false, "")]
    [InlineData("highlight_panel", """{"panel":"log"}""", true, "panel:log")]
    [InlineData("highlight_panel", """{"panel":"nowhere"}""", false, "")]
    [InlineData("show_toast", """{"message":"Hi","severity":"success"}""", true, "toast:Hi/success")]
    [InlineData("show_toast", """{"message":"Hi"}""", true, "toast:Hi/info")]
    [InlineData("show_toast", """{"severity":"error"}""", false, "")]
    [InlineData("show_toast", "{not json", false, "")]
    [InlineData("open_pod_bay_doors", "{}", false, "")]
    public async Task Page_tools_validate_arguments_and_report_the_result(string name, string arguments, bool succeeds, string effect)
    {
        var target = new RecordingTarget();
        var (ok, output) = await PageTools.ExecuteAsync(target, name, arguments);
        Assert.Equal(succeeds, ok);
        Assert.Equal(succeeds, (bool)JsonNode.Parse(output)!["ok"]!);
        Assert.Equal(effect, string.Join(",", target.Effects));
        if (!succeeds)
        {
            Assert.False(string.IsNullOrWhiteSpace((string?)JsonNode.Parse(output)!["error"]));
        }
    }

    [Fact]
    public async Task A_page_tool_that_cannot_run_answers_the_model_with_the_reason()
    {
        var (ok, output) = await PageTools.ExecuteAsync(new FailingTarget(), "set_theme", """{"theme":"dark"}""");
        Assert.False(ok);
        Assert.Contains("no theme here", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(429, "rate_limit_exceeded", "Rate limited while negotiating: slow down")]
    [InlineData(503, "insufficient_quota", "The account's quota is used up (slow down). Retrying will not help: check the plan and billing.")]
    [InlineData(502, "upstream_error", "negotiating failed: HTTP 502 upstream_error: slow down")]
    public void Step_failures_are_described_in_words(int status, string code, string expected)
    {
        Assert.Equal(expected, new PeerStepResult(false, status, code, "slow down", null).Describe("negotiating"));
    }

    [Theory]
    [InlineData("The client_secrets budget (20/min, learned from upstream) is used up, so the request was not sent to be refused upstream. Try again in 3 s.")]
    [InlineData("The client_secrets budget (60/min) is used up, so the request was not sent to be refused upstream. Try again in 3 s.")]
    [InlineData("The client_secrets budget (2/min, the configured guess until upstream's first answer) is used up, so the request was not sent to be refused upstream. Please try again in 2.5s.")]
    public void A_budget_refusal_reads_as_one_sentence_without_the_limit_or_a_wait_which_the_page_shows_once_beside_it(string message)
    {
        var described = new PeerStepResult(false, 429, "rate_limited", message, 3).Describe("getting a client secret");

        Assert.Equal("Rate limited while getting a client secret: The client_secrets budget is used up, so the request was not sent to be refused upstream.", described);
    }

    [Fact]
    public void Parentheses_that_are_not_a_budget_stay_in_the_refusal()
    {
        var described = new PeerStepResult(false, 429, "rate_limit_exceeded", "The OpenAI rate limit is reached (Rate limit reached for requests in org-sim). Try again in 4 s.", 4).Describe("exchanging the SDP offer");

        Assert.Equal("Rate limited while exchanging the SDP offer: The OpenAI rate limit is reached (Rate limit reached for requests in org-sim).", described);
    }

    private sealed class RecordingTarget : IPageToolTarget
    {
        public List<string> Effects { get; } = [];

        public Task SetThemeAsync(bool dark)
        {
            Effects.Add(dark ? "theme:dark" : "theme:light");
            return Task.CompletedTask;
        }

        public Task HighlightPanelAsync(string panel)
        {
            Effects.Add($"panel:{panel}");
            return Task.CompletedTask;
        }

        public Task ShowToastAsync(string message, string severity)
        {
            Effects.Add($"toast:{message}/{severity}");
            return Task.CompletedTask;
        }
    }

    private sealed class FailingTarget : IPageToolTarget
    {
        public Task SetThemeAsync(bool dark) => throw new InvalidOperationException("no theme here");

        public Task HighlightPanelAsync(string panel) => throw new InvalidOperationException("no panels here");

        public Task ShowToastAsync(string message, string severity) => throw new InvalidOperationException("no toasts here");
    }
}
