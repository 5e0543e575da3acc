using System.Text.Json.Nodes;
using Bunit.TestDoubles;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RealtimeConsole.Components.Layout;
using RealtimeConsole.Components.Panels;
using RealtimeConsole.RateLimits;
using RealtimeConsole.Telemetry;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.VoiceSession;
using VoiceSessionPage = RealtimeConsole.Components.Pages.VoiceSession;

namespace RealtimeConsole.Tests.VoiceSession;

/// <summary>The page against a strict fake of voice-session.js: every module call is planned and asserted.</summary>
public sealed class VoiceSessionPageTests : ConsoleComponentTest
{
    private static readonly PeerStepResult Answered = new(true, 201, null, "/v1/realtime/calls/rtc_1", null);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));
    private readonly BunitJSModuleInterop _module;
    private readonly BunitJSModuleInterop _peer;

    public VoiceSessionPageTests()
    {
        Services.AddSingleton<TimeProvider>(_time);
        Services.AddLogging();
        Services.AddMetrics();
        Services.AddSingleton<BrokerMetrics>();
        Services.AddSingleton<RealtimeConsole.RateLimits.IBrokerStateStore>(sp => new RealtimeConsole.RateLimits.MemoryBrokerStateStore(new RealtimeConsole.RateLimits.BudgetGuesses(60, 60), sp.GetRequiredService<TimeProvider>()));
        Services.AddSingleton<RealtimeConsole.Upstream.UpstreamSignals>();
        Services.AddSingleton<RealtimeConsole.Tokens.SecretSignals>();
        Services.AddSingleton<BrokerTelemetry>();
        Services.AddSingleton(new RealtimeConsole.Upstream.UpstreamEndpoint(
            new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build(), Microsoft.Extensions.Options.Options.Create(new RealtimeConsole.Upstream.RealtimeOptions()), null!));
        _module = JSInterop.SetupModule(VoiceSessionPage.ModulePath);
        _module.Mode = JSRuntimeMode.Strict;
        _module.SetupVoid("followNewest", _ => true).SetVoidResult();
        _module.Setup<MicrophoneInfo[]>("listMicrophones").SetResult([new MicrophoneInfo("mic-1", "Desk microphone")]);
        _peer = _module.SetupModule("createPeer", _ => true);
        _peer.Mode = JSRuntimeMode.Strict;
        _peer.SetupVoid("close").SetVoidResult();
        _peer.SetupVoid("send", _ => true).SetVoidResult();
    }

    [Fact]
    public async Task Connect_through_the_server_negotiates_then_declares_tools_when_the_channel_opens()
    {
        var connect = _peer.Setup<PeerStepResult>("connect", _ => true);
        var cut = RenderPage();
        cut.WaitForAssertion(() => Assert.Single(_module.Invocations, i => i.Identifier == "listMicrophones"));

        cut.Find("[data-testid=connect]").Click();
        cut.WaitForAssertion(() => Assert.Equal("Negotiating", State(cut)));
        var options = connect.Invocations.Single().Arguments[0]!;
        Assert.Contains("callsUrl = /api/realtime/calls, secret = , microphoneId = , muted = False", options.ToString(), StringComparison.Ordinal);

        connect.SetResult(Answered);
        await cut.InvokeAsync(() => Page(cut).OnChannelOpen());
        cut.WaitForAssertion(() => Assert.Equal("Connected", State(cut)));

        var update = JsonNode.Parse(SentJson().Single())!;
        Assert.Equal("session.update", (string?)update["type"]);
        Assert.Equal(["set_theme", "highlight_panel", "show_toast"], update["session"]!["tools"]!.AsArray().Select(t => (string?)t!["name"]));
        Assert.Contains("session.update", cut.Find("[data-testid=event-log]").TextContent, StringComparison.Ordinal);

        await cut.InvokeAsync(() => _time.Advance(TimeSpan.FromSeconds(65)));
        cut.WaitForAssertion(() => Assert.Equal("01:05", cut.Find("[data-testid=connected-duration]").TextContent));
        Assert.Equal(["followNewest", "listMicrophones", "createPeer", "connect", "send"], _module.Invocations.Select(i => i.Identifier));
    }

    [Fact]
    public void Browser_direct_gets_a_secret_then_posts_the_offer_to_its_calls_url()
    {
        var secret = _peer.Setup<PeerStepResult>("requestSecret", _ => true);
        var connect = _peer.Setup<PeerStepResult>("connect", _ => true);
        var cut = RenderPage();
        cut.WaitForAssertion(() => Assert.Single(_module.Invocations, i => i.Identifier == "listMicrophones"));
        SelectDirectPath(cut);

        cut.Find("[data-testid=connect]").Click();
        cut.WaitForAssertion(() => Assert.Equal("GettingSecret", State(cut)));
        var overrides = (JsonObject)secret.Invocations.Single().Arguments[0]!;
        Assert.Equal("gpt-realtime", (string?)overrides["model"]);
        Assert.Equal("marin", (string?)overrides["voice"]);
        Assert.Equal("server_vad", (string?)overrides["turn_detection"]!["type"]);
        Assert.Equal(3, overrides["tools"]!.AsArray().Count);

        secret.SetResult(new PeerStepResult(true, 200, null, null, null) { Value = "ek_test", CallsUrl = "/simulator/v1/realtime/calls" });
        cut.WaitForAssertion(() => Assert.Equal("Negotiating", State(cut)));
        Assert.Contains("callsUrl = /simulator/v1/realtime/calls, secret = ek_test", connect.Invocations.Single().Arguments[0]!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disconnect_closes_the_peer_and_returns_to_idle_and_disposal_releases_the_module()
    {
        _peer.Setup<PeerStepResult>("connect", _ => true).SetResult(Answered);
        var cut = RenderPage();
        cut.Find("[data-testid=connect]").Click();
        await cut.InvokeAsync(() => Page(cut).OnChannelOpen());
        cut.WaitForAssertion(() => Assert.Equal("Connected", State(cut)));

        cut.Find("[data-testid=disconnect]").Click();
        cut.WaitForAssertion(() => Assert.Equal("Idle", State(cut)));
        Assert.Single(_peer.Invocations, i => i.Identifier == "close");
        Assert.True(cut.Find("[data-testid=connect]").HasAttribute("type"));

        cut.Find("[data-testid=connect]").Click();
        await cut.InvokeAsync(() => Page(cut).OnChannelOpen());
        await DisposeComponentsAsync();
        Assert.Equal(2, _peer.Invocations.Count(i => i.Identifier == "close"));
    }

    [Fact]
    public void A_429_names_one_wait_counts_it_down_and_connects_by_itself_when_it_ends()
    {
        var connect = _peer.Setup<PeerStepResult>("connect", _ => true);
        connect.SetResult(new PeerStepResult(false, 429, "rate_limit_exceeded",
            "The OpenAI rate limit is reached (Rate limit reached for gpt-realtime on requests per min (RPM): Limit 2, Used 2, Requested 1. Please try again in 19.129s.). Try again in 3 s.", 3)
        {
            Step = new HttpStep("POST", "/api/realtime/calls", 429, 812, "req_storm_1"),
        });
        var cut = RenderPage();

        cut.Find("[data-testid=connect]").Click();
        cut.WaitForAssertion(() => Assert.Equal("WaitingToRetry", State(cut)));
        var countdown = cut.Find("[data-testid=countdown]").TextContent;
        Assert.Equal(1, CountOf(countdown, " again "));
        Assert.DoesNotContain("try again", countdown, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Requested 1.)", countdown, StringComparison.Ordinal);
        Assert.Equal("Connecting again at 10:00:03 UTC (in 3 s).", cut.Find("[data-testid=countdown-wait]").TextContent.Trim());
        Assert.Single(_peer.Invocations, i => i.Identifier == "close");

        var step = cut.Find("[data-testid=log-row][data-type='local.http']");
        Assert.Equal("true", step.GetAttribute("data-failed"));
        Assert.Contains("POST /api/realtime/calls → 429 rate_limit_exceeded · 812 ms · retry after 3 s · req_storm_1", step.TextContent, StringComparison.Ordinal);

        cut.InvokeAsync(() => _time.Advance(TimeSpan.FromSeconds(1)));
        cut.WaitForAssertion(() => Assert.Contains("(in 2 s)", cut.Find("[data-testid=countdown-wait]").TextContent, StringComparison.Ordinal));
        Assert.Single(connect.Invocations);

        _peer.Setup<PeerStepResult>("connect", _ => true).SetResult(Answered);
        cut.InvokeAsync(() => _time.Advance(TimeSpan.FromSeconds(2)));
        cut.WaitForAssertion(() => Assert.Equal("Negotiating", State(cut)));
        Assert.Equal(2, _module.Invocations.Count(i => i.Identifier == "createPeer"));
    }

    [Fact]
    public void A_local_budget_refusal_names_the_limit_upstream_enforces_not_the_configured_budget()
    {
        Services.GetRequiredService<BrokerTelemetry>();
        Services.GetRequiredService<RealtimeConsole.Upstream.UpstreamSignals>().OnCallCompleted(
            new RealtimeConsole.Upstream.UpstreamCallRecord(_time.GetUtcNow(), UpstreamResource.Calls, 201, null, 40, 1, "req_ok"),
            new RealtimeConsole.Upstream.UpstreamResponse(System.Net.HttpStatusCode.Created, "", "application/sdp", null, "req_ok", null, null, null, new RateLimitHeaders(2, 0, TimeSpan.FromSeconds(30))));
        _peer.Setup<PeerStepResult>("connect", _ => true).SetResult(new PeerStepResult(false, 429, "rate_limited",
            "The calls budget (60/min, learned from upstream) is used up, so the request was not sent to be refused upstream. Try again in 30 s.", 30));
        var cut = RenderPage();

        cut.Find("[data-testid=connect]").Click();
        cut.WaitForAssertion(() => Assert.Equal("WaitingToRetry", State(cut)));
        Assert.Equal("Rate limited while exchanging the SDP offer: The calls budget is used up, so the request was not sent to be refused upstream.",
            cut.Find("[data-testid=countdown-reason]").TextContent.Trim());
        Assert.StartsWith("Limit in force for calls: 2 requests/min (0 left at 10:00:00 UTC", cut.Find("[data-testid=limit-in-force]").TextContent.Trim(), StringComparison.Ordinal);
        Assert.DoesNotContain("60", cut.Find("[data-testid=countdown]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void While_negotiating_the_page_says_what_the_broker_waits_for_and_until_when()
    {
        _peer.Setup<PeerStepResult>("connect", _ => true);
        var cut = RenderPage();
        cut.Find("[data-testid=connect]").Click();
        cut.WaitForAssertion(() => Assert.Equal("Idle", cut.Find("[data-testid=upstream-status]").GetAttribute("data-kind")));
        Assert.Contains("Waiting for the server's answer (0 s so far)", cut.Find("[data-testid=upstream-status]").TextContent, StringComparison.Ordinal);

        Services.GetRequiredService<BrokerTelemetry>();
        Services.GetRequiredService<RealtimeConsole.Upstream.UpstreamSignals>().OnRetrying(UpstreamResource.Calls, 1, 3, TimeSpan.FromSeconds(12), _time.GetUtcNow().AddSeconds(12));
        cut.InvokeAsync(() => _time.Advance(TimeSpan.FromSeconds(1)));
        cut.WaitForAssertion(() => Assert.Equal(
            "Retrying calls (attempt 1 of 3) — next try at 10:00:12 UTC (in 11 s).",
            cut.Find("[data-testid=upstream-status-headline]").TextContent.Trim()));
        Assert.Equal("Retrying", cut.Find("[data-testid=upstream-status]").GetAttribute("data-kind"));

        cut.InvokeAsync(() => _time.Advance(TimeSpan.FromSeconds(1)));
        cut.WaitForAssertion(() => Assert.Contains("(in 10 s)", cut.Find("[data-testid=upstream-status-headline]").TextContent, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Server_events_and_ticks_re_render_the_live_panels_but_not_the_page_with_the_buttons()
    {
        _peer.Setup<PeerStepResult>("connect", _ => true).SetResult(Answered);
        var cut = RenderPage();
        cut.Find("[data-testid=connect]").Click();
        await cut.InvokeAsync(() => Page(cut).OnChannelOpen());
        cut.WaitForAssertion(() => Assert.Equal("Connected", State(cut)));
        // The Disconnect button renders when, and only when, the page around it does (bUnit counts a page's children's renders as its own).
        var disconnect = cut.FindComponents<MudBlazor.MudButton>().Single(b => b.Find("button").GetAttribute("data-testid") == "disconnect");
        var rendersBefore = disconnect.RenderCount;

        for (var second = 0; second < 5; second++)
        {
            await Push(cut, """{"type":"response.output_audio_transcript.delta","item_id":"it_1","delta":"word "}""",
                """{"type":"rate_limits.updated","rate_limits":[{"name":"requests","limit":60,"remaining":59,"reset_seconds":5}]}""");
            await cut.InvokeAsync(() => Page(cut).OnStats(new ConnectionStats(12, 1, 0, "audio/opus")));
            await cut.InvokeAsync(() => _time.Advance(TimeSpan.FromSeconds(1)));
        }

        cut.WaitForAssertion(() => Assert.Equal("00:05", cut.Find("[data-testid=connected-duration]").TextContent));
        cut.WaitForAssertion(() => Assert.Contains("word word word word word", cut.Find("[data-testid=transcript]").TextContent, StringComparison.Ordinal));
        Assert.Equal("audio/opus", cut.Find("[data-testid=codec]").TextContent);
        Assert.Equal(rendersBefore, disconnect.RenderCount);
    }

    [Theory]
    [InlineData(59, 60, "ok")]
    [InlineData(12, 60, "ok")]
    [InlineData(11, 60, "low")]
    [InlineData(0, 60, "empty")]
    public async Task The_rate_limit_strip_follows_the_level_and_its_reset_ticks(int remaining, int limit, string level)
    {
        _peer.Setup<PeerStepResult>("connect", _ => true).SetResult(Answered);
        var cut = RenderPage();
        cut.Find("[data-testid=connect]").Click();
        await cut.InvokeAsync(() => Page(cut).OnChannelOpen());

        await cut.InvokeAsync(() => Page(cut).OnServerEvents(
            [new ServerEventChunk($$"""{"type":"rate_limits.updated","rate_limits":[{"name":"requests","limit":{{limit}},"remaining":{{remaining}},"reset_seconds":3}]}""", _time.GetUtcNow().ToUnixTimeMilliseconds(), false)],
            new AudioLevels(0, 0), false));
        cut.WaitForAssertion(() => Assert.Equal(level, cut.Find("[data-testid=rate-limit]").GetAttribute("data-level")));
        Assert.Contains("full again in 3 s", cut.Find("[data-testid=rate-limit]").TextContent, StringComparison.Ordinal);

        await cut.InvokeAsync(() => _time.Advance(TimeSpan.FromSeconds(2)));
        cut.WaitForAssertion(() => Assert.Contains("full again in 1 s", cut.Find("[data-testid=rate-limit]").TextContent, StringComparison.Ordinal));
        await cut.InvokeAsync(() => _time.Advance(TimeSpan.FromSeconds(1)));
        cut.WaitForAssertion(() => Assert.DoesNotContain("full again in", cut.Find("[data-testid=rate-limit]").TextContent, StringComparison.Ordinal));
        Assert.Contains("full again", cut.Find("[data-testid=rate-limit]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void Insufficient_quota_fails_with_the_reason_and_never_retries()
    {
        _peer.Setup<PeerStepResult>("connect", _ => true)
            .SetResult(new PeerStepResult(false, 503, "insufficient_quota", "You exceeded your current quota", 10));
        var cut = RenderPage();

        cut.Find("[data-testid=connect]").Click();
        cut.WaitForAssertion(() => Assert.Equal("Failed", State(cut)));
        Assert.Contains("quota is used up (You exceeded your current quota). Retrying will not help", cut.Find("[data-testid=state-reason]").TextContent, StringComparison.Ordinal);

        cut.InvokeAsync(() => _time.Advance(TimeSpan.FromMinutes(2)));
        Assert.Single(_module.Invocations, i => i.Identifier == "createPeer");
        Assert.Equal("Failed", State(cut));
    }

    [Theory]
    [InlineData(0, "microphone_unavailable", "Microphone: NotAllowedError: Permission denied", "Microphone: NotAllowedError: Permission denied")]
    [InlineData(400, "invalid_sdp", "The offer has no audio section.", "exchanging the SDP offer failed: HTTP 400 invalid_sdp: The offer has no audio section.")]
    [InlineData(502, "upstream_error", "OpenAI answered 500 (req_123).", "exchanging the SDP offer failed: HTTP 502 upstream_error: OpenAI answered 500 (req_123).")]
    public void Failed_steps_show_the_reason_in_words(int status, string code, string message, string shown)
    {
        _peer.Setup<PeerStepResult>("connect", _ => true).SetResult(new PeerStepResult(false, status, code, message, null));
        var cut = RenderPage();

        cut.Find("[data-testid=connect]").Click();
        cut.WaitForAssertion(() => Assert.Equal("Failed", State(cut)));
        Assert.Equal(shown, cut.Find("[data-testid=state-reason]").TextContent.Trim());
        Assert.Single(_peer.Invocations, i => i.Identifier == "close");
    }

    [Fact]
    public async Task Disconnect_while_still_connecting_ends_quietly_when_the_closed_peer_rejects_the_connect()
    {
        var connect = _peer.Setup<PeerStepResult>("connect", _ => true);
        var cut = RenderPage();

        var connecting = cut.Find("[data-testid=connect]").ClickAsync(new());
        cut.WaitForAssertion(() => Assert.Equal("Negotiating", State(cut)));
        cut.Find("[data-testid=disconnect]").Click();
        connect.SetException(new Microsoft.JSInterop.JSException("The peer connection was closed."));

        // The click that started it completes without an exception (the browser's console would show one).
        await connecting;
        Assert.False(Renderer.UnhandledException.IsCompleted, Renderer.UnhandledException.IsCompleted ? (await Renderer.UnhandledException).Message : "");
        Assert.Equal("Idle", State(cut));
        Assert.Empty(cut.FindAll("[data-testid=state-reason]"));
    }

    [Fact]
    public void A_browser_exception_while_connecting_fails_with_its_message()
    {
        _peer.Setup<PeerStepResult>("connect", _ => true).SetException(new Microsoft.JSInterop.JSException("Failed to execute 'setRemoteDescription': Failed to parse SessionDescription."));
        var cut = RenderPage();

        cut.Find("[data-testid=connect]").Click();
        cut.WaitForAssertion(() => Assert.Equal("Failed", State(cut)));
        Assert.Equal("The browser could not connect: Failed to execute 'setRemoteDescription': Failed to parse SessionDescription.", cut.Find("[data-testid=state-reason]").TextContent.Trim());
        Assert.Single(_peer.Invocations, i => i.Identifier == "close");
    }

    [Fact]
    public async Task A_dropped_connection_reconnects_within_budget_then_fails_with_the_reason()
    {
        _peer.Setup<PeerStepResult>("connect", _ => true).SetResult(Answered);
        var cut = RenderPage();
        cut.Find("[data-testid=connect]").Click();
        await cut.InvokeAsync(() => Page(cut).OnChannelOpen());

        for (var i = 0; i < VoiceSessionPage.ReconnectBudget; i++)
        {
            await cut.InvokeAsync(() => Page(cut).OnConnectionLost("The event channel closed."));
            cut.WaitForAssertion(() => Assert.Equal("Reconnecting", State(cut)));
            Assert.Contains("The event channel closed. Reconnecting with a fresh secret", cut.Find("[data-testid=state-reason]").TextContent, StringComparison.Ordinal);
            await cut.InvokeAsync(() => Page(cut).OnChannelOpen());
        }

        Assert.Equal(1 + VoiceSessionPage.ReconnectBudget, _module.Invocations.Count(i => i.Identifier == "createPeer"));
        await cut.InvokeAsync(() => Page(cut).OnConnectionLost("The connection failed (ICE or DTLS could not get through)."));
        cut.WaitForAssertion(() => Assert.Equal("Failed", State(cut)));
        Assert.Equal("The connection failed (ICE or DTLS could not get through). Gave up after 3 reconnects.", cut.Find("[data-testid=state-reason]").TextContent.Trim());
    }

    [Fact]
    public async Task Session_expired_reconnects_with_a_fresh_secret()
    {
        _peer.Setup<PeerStepResult>("connect", _ => true).SetResult(Answered);
        var cut = RenderPage();
        cut.Find("[data-testid=connect]").Click();
        await cut.InvokeAsync(() => Page(cut).OnChannelOpen());

        await Push(cut, """{"type":"error","error":{"type":"invalid_request_error","code":"session_expired","message":"Your session hit the maximum duration of 60 minutes."}}""");
        cut.WaitForAssertion(() => Assert.Equal("Reconnecting", State(cut)));
        Assert.Equal(2, _module.Invocations.Count(i => i.Identifier == "createPeer"));
    }

    [Fact]
    public async Task Event_log_filters_by_type_pauses_and_exports_jsonl()
    {
        _peer.Setup<PeerStepResult>("connect", _ => true).SetResult(Answered);
        var download = _module.SetupVoid("downloadText", _ => true);
        download.SetVoidResult();
        var cut = RenderPage();
        cut.Find("[data-testid=connect]").Click();
        await cut.InvokeAsync(() => Page(cut).OnChannelOpen());
        await Push(cut, """{"type":"session.created","session":{"id":"sess_1"}}""", """{"type":"response.created"}""", """{"type":"response.done","response":{"output":[]}}""");
        cut.WaitForAssertion(() => Assert.Equal(4, cut.FindAll("[data-testid=log-row]").Count));

        cut.Find("input[data-testid=log-filter]").Input("response.");
        cut.WaitForAssertion(() => Assert.Equal(["response.done", "response.created"], cut.FindAll("[data-testid=log-row]").Select(r => r.GetAttribute("data-type"))));

        cut.Find("[data-testid=log-row] [role=button]").Click();
        cut.WaitForAssertion(() => Assert.Contains("\"type\": \"response.done\"", cut.Find("[data-testid=log-json]").TextContent, StringComparison.Ordinal));

        cut.Find("[data-testid=log-pause]").Click();
        await Push(cut, """{"type":"response.output_text.delta","item_id":"it_1","delta":"x"}""");
        cut.WaitForAssertion(() => Assert.Contains("1 held", cut.Find("[data-testid=log-held]").TextContent, StringComparison.Ordinal));
        Assert.Equal(2, cut.FindAll("[data-testid=log-row]").Count);
        cut.Find("[data-testid=log-pause]").Click();
        cut.WaitForAssertion(() => Assert.Equal(3, cut.FindAll("[data-testid=log-row]").Count));

        cut.Find("[data-testid=log-export]").Click();
        var exported = download.Invocations.Single().Arguments;
        Assert.EndsWith(".jsonl", (string)exported[0]!, StringComparison.Ordinal);
        Assert.Equal(3, ((string)exported[1]!).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal("application/x-ndjson", exported[2]);

        cut.Find("[data-testid=log-clear]").Click();
        cut.WaitForAssertion(() => Assert.Empty(cut.FindAll("[data-testid=log-row]")));
    }

    [Fact]
    public async Task Ten_thousand_events_render_once_per_flush_and_stay_virtualized()
    {
        _peer.Setup<PeerStepResult>("connect", _ => true).SetResult(Answered);
        var cut = RenderPage();
        cut.Find("[data-testid=connect]").Click();
        await cut.InvokeAsync(() => Page(cut).OnChannelOpen());

        var page = cut.FindComponent<VoiceSessionPage>();
        var rendersBefore = page.RenderCount;
        for (var batch = 0; batch < 100; batch++)
        {
            var more = batch < 99;
            var chunks = Enumerable.Range(0, 100).Select(i => new ServerEventChunk($$"""{"type":"response.output_audio.delta","n":{{(batch * 100) + i}}}""", 1, false)).ToArray();
            await cut.InvokeAsync(() => page.Instance.OnServerEvents(chunks, new AudioLevels(0, 0), more));
            if (more)
            {
                Assert.Equal(rendersBefore, page.RenderCount);
            }
        }

        cut.WaitForAssertion(() => Assert.Equal("10001 of 10001", cut.Find("[data-testid=log-count]").TextContent.Trim()));
        Assert.InRange(cut.FindAll("[data-testid=log-row]").Count, 1, 200);
    }

    [Fact]
    public async Task A_long_event_arriving_in_pieces_is_logged_once_whole()
    {
        _peer.Setup<PeerStepResult>("connect", _ => true).SetResult(Answered);
        var cut = RenderPage();
        cut.Find("[data-testid=connect]").Click();
        await cut.InvokeAsync(() => Page(cut).OnChannelOpen());

        await cut.InvokeAsync(() => Page(cut).OnServerEvents(
            [new ServerEventChunk("""{"type":"session.upd""", 1, true), new ServerEventChunk("""ated","session":{}}""", 1, false)],
            new AudioLevels(0.5, 0.25), false));
        cut.WaitForAssertion(() => Assert.Contains(cut.FindAll("[data-testid=log-row]"), r => r.GetAttribute("data-type") == "session.updated"));
    }

    [Fact]
    public async Task Sent_text_goes_out_as_item_and_response_and_the_reply_fills_the_transcript()
    {
        _peer.Setup<PeerStepResult>("connect", _ => true).SetResult(Answered);
        var cut = RenderPage();
        cut.Find("[data-testid=connect]").Click();
        await cut.InvokeAsync(() => Page(cut).OnChannelOpen());

        cut.Find("input[data-testid=send-text]").Input("What is WebRTC?");
        cut.Find("[data-testid=send]").Click();
        cut.WaitForAssertion(() => Assert.Equal(3, SentJson().Count));
        var item = JsonNode.Parse(SentJson()[1])!;
        Assert.Equal("conversation.item.create", (string?)item["type"]);
        Assert.Equal("What is WebRTC?", (string?)item["item"]!["content"]![0]!["text"]);
        Assert.Equal("response.create", (string?)JsonNode.Parse(SentJson()[2])!["type"]);
        Assert.Empty(cut.FindAll("[data-testid=send-error]"));

        await Push(cut,
            """{"type":"rate_limits.updated","rate_limits":[{"name":"requests","limit":60,"remaining":58,"reset_seconds":2}]}""",
            """{"type":"response.output_audio_transcript.delta","item_id":"it_9","delta":"A peer "}""",
            """{"type":"response.output_audio_transcript.delta","item_id":"it_9","delta":"protocol."}""",
            """{"type":"response.done","response":{"output":[],"usage":{"total_tokens":30,"input_tokens":20,"output_tokens":10}}}""");
        cut.WaitForAssertion(() => Assert.Equal(
            [("user", "What is WebRTC?"), ("assistant", "A peer protocol.")],
            cut.FindAll("[data-testid=turn]").Select(t => (t.GetAttribute("data-speaker"), t.Children[1].TextContent))));
        Assert.Contains("1 responses · 20 in · 10 out · 0 cached · 30 total tokens", cut.Find("[data-testid=usage]").TextContent, StringComparison.Ordinal);
        Assert.Contains("requests: 58 / 60 left", cut.Find("[data-testid=rate-limit]").TextContent, StringComparison.Ordinal);
        var reported = Services.GetRequiredService<BrokerTelemetry>().GetSnapshot().Resources.Single(r => r.Resource == UpstreamResource.Responses.ToWireName()).LastRateLimits.Single();
        Assert.Equal(("requests", 60, 58, 2.0, "rate_limits.updated"), (reported.Name, reported.Limit, reported.Remaining, reported.ResetSeconds, reported.Source));
    }

    [Fact]
    public async Task Tool_calls_change_the_page_answer_the_model_and_show_in_the_tools_panel()
    {
        _peer.Setup<PeerStepResult>("connect", _ => true).SetResult(Answered);
        var cut = RenderPage();
        cut.Find("[data-testid=connect]").Click();
        await cut.InvokeAsync(() => Page(cut).OnChannelOpen());
        Assert.Contains("--mud-palette-background: rgba(245,246,250,1)", cut.Markup, StringComparison.OrdinalIgnoreCase);

        await Push(cut, """
            {"type":"response.done","response":{"output":[
              {"type":"function_call","name":"set_theme","call_id":"call_1","arguments":"{\"theme\":\"dark\"}"},
              {"type":"function_call","name":"highlight_panel","call_id":"call_2","arguments":"{\"panel\":\"log\"}"},
              {"type":"function_call","name":"show_toast","call_id":"call_3","arguments":"{\"message\":\"Theme switched\",\"severity\":\"success\"}"},
              {"type":"function_call","name":"launch_rocket","call_id":"call_4","arguments":"{}"}]}}
            """);

        cut.WaitForAssertion(() => Assert.DoesNotContain("--mud-palette-background: rgba(245,246,250,1)", cut.Markup, StringComparison.OrdinalIgnoreCase));
        Assert.Contains("voice-panel--highlighted", cut.Find("[data-panel=log]").ClassName, StringComparison.Ordinal);
        Assert.Equal("Theme switched", cut.Find("[data-testid=toasts] [data-testid=toast]").TextContent.Trim());
        Assert.Empty(cut.FindAll(".mud-snackbar"));
        Assert.Equal(["launch_rocket", "show_toast", "highlight_panel", "set_theme"], cut.FindAll("[data-testid=tool-call]").Select(r => r.GetAttribute("data-tool")));
        Assert.Contains("unknown tool", cut.FindAll("[data-testid=tool-call]")[0].TextContent, StringComparison.Ordinal);

        var sent = SentJson().Skip(1).Select(j => JsonNode.Parse(j)!).ToList();
        Assert.Equal(["call_1", "call_2", "call_3", "call_4"], sent.Take(4).Select(e => (string?)e["item"]!["call_id"]));
        Assert.All(sent.Take(4), e => Assert.Equal("function_call_output", (string?)e["item"]!["type"]));
        Assert.Equal("""{"theme":"dark","ok":true}""", (string?)sent[0]["item"]!["output"]);
        Assert.Equal("response.create", (string?)sent[4]["type"]);
        Assert.Equal(5, sent.Count);

        await cut.InvokeAsync(() => _time.Advance(VoiceToasts.ShownFor));
        cut.WaitForAssertion(() => Assert.Empty(cut.FindAll("[data-testid=toast]")));
    }

    [Fact]
    public async Task Mute_volume_and_push_to_talk_drive_the_browser_peer()
    {
        var connect = _peer.Setup<PeerStepResult>("connect", _ => true);
        connect.SetResult(Answered);
        var muted = _peer.SetupVoid("setMuted", _ => true);
        muted.SetVoidResult();
        var cut = RenderPage();
        var volume = _peer.SetupVoid("setVolume", _ => true);
        volume.SetVoidResult();
        cut.Find("input[data-testid=push-to-talk-switch]").Change(true);

        cut.Find("[data-testid=connect]").Click();
        await cut.InvokeAsync(() => Page(cut).OnChannelOpen());
        cut.WaitForAssertion(() => Assert.Equal("Connected", State(cut)));
        Assert.Contains("muted = True", connect.Invocations.Single().Arguments[0]!.ToString(), StringComparison.Ordinal);
        var update = JsonNode.Parse(SentJson()[0])!;
        Assert.Null(update["session"]!["audio"]!["input"]!["turn_detection"]);
        Assert.Equal("gpt-4o-mini-transcribe", (string?)update["session"]!["audio"]!["input"]!["transcription"]!["model"]);

        cut.Find("[data-testid=push-to-talk]").PointerDown();
        cut.WaitForAssertion(() => Assert.Equal([false], muted.Invocations.Select(i => (bool)i.Arguments[0]!)));
        cut.Find("[data-testid=push-to-talk]").PointerUp();
        cut.WaitForAssertion(() => Assert.Equal([false, true], muted.Invocations.Select(i => (bool)i.Arguments[0]!)));
        Assert.Equal(["session.update", "input_audio_buffer.clear", "input_audio_buffer.commit"], SentTypes());

        await Push(cut, """{"type":"input_audio_buffer.committed","item_id":"item_1"}""");
        cut.WaitForAssertion(() => Assert.Equal("response.create", SentTypes()[^1]));

        cut.Find("input[data-testid=mute]").Change(true);
        cut.WaitForAssertion(() => Assert.Equal([false, true, true], muted.Invocations.Select(i => (bool)i.Arguments[0]!)));
        cut.Find("[data-testid=push-to-talk]").PointerDown();
        Assert.Equal(3, muted.Invocations.Count);

        cut.Find("input[data-testid=volume]").Input("40");
        cut.WaitForAssertion(() => Assert.Equal([0.4], volume.Invocations.Select(i => (double)i.Arguments[0]!)));

        await cut.InvokeAsync(() => Page(cut).OnPlaybackBlocked("NotAllowedError: play() failed"));
        cut.WaitForAssertion(() => Assert.Contains("blocked audio playback (NotAllowedError: play() failed)", cut.Find("[data-testid=playback-problem]").TextContent, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_refused_commit_gets_no_response_create_and_says_why()
    {
        _peer.Setup<PeerStepResult>("connect", _ => true).SetResult(Answered);
        _peer.SetupVoid("setMuted", _ => true).SetVoidResult();
        var cut = RenderPage();
        cut.Find("input[data-testid=push-to-talk-switch]").Change(true);
        cut.Find("[data-testid=connect]").Click();
        await cut.InvokeAsync(() => Page(cut).OnChannelOpen());

        cut.Find("[data-testid=push-to-talk]").PointerDown();
        cut.Find("[data-testid=push-to-talk]").PointerUp();
        cut.WaitForAssertion(() => Assert.Equal("input_audio_buffer.commit", SentTypes()[^1]));
        await Push(cut, """{"type":"error","error":{"type":"invalid_request_error","code":"input_audio_buffer_commit_empty","message":"Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has 40.00ms of audio."}}""");

        cut.WaitForAssertion(() => Assert.Contains("buffer only has 40.00ms", cut.Find("[data-testid=talk-problem]").TextContent, StringComparison.Ordinal));
        Assert.DoesNotContain("response.create", SentTypes());
        Assert.Equal("true", cut.Find("[data-testid=log-row][data-type=error]").GetAttribute("data-failed"));

        cut.Find("[data-testid=push-to-talk]").PointerDown();
        cut.WaitForAssertion(() => Assert.Empty(cut.FindAll("[data-testid=talk-problem]")));
    }

    [Fact]
    public async Task Pressing_to_talk_while_the_assistant_answers_interrupts_it()
    {
        _peer.Setup<PeerStepResult>("connect", _ => true).SetResult(Answered);
        _peer.SetupVoid("setMuted", _ => true).SetVoidResult();
        var cut = RenderPage();
        cut.Find("input[data-testid=push-to-talk-switch]").Change(true);
        cut.Find("[data-testid=connect]").Click();
        await cut.InvokeAsync(() => Page(cut).OnChannelOpen());
        await Push(cut, """{"type":"response.created","response":{"id":"resp_1"}}""");

        cut.Find("[data-testid=push-to-talk]").PointerDown();
        cut.WaitForAssertion(() => Assert.Equal(["session.update", "input_audio_buffer.clear", "response.cancel", "output_audio_buffer.clear"], SentTypes()));

        await Push(cut, """{"type":"response.output_audio_transcript.delta","response_id":"resp_1","item_id":"item_9","delta":"Let me"}""",
            """{"type":"response.done","response":{"id":"resp_1","status":"cancelled","output":[]}}""");
        cut.WaitForAssertion(() => Assert.Contains("(interrupted)", cut.Find("[data-testid=turn][data-speaker=assistant]").TextContent, StringComparison.Ordinal));
        cut.Find("[data-testid=push-to-talk]").PointerUp();
        cut.Find("[data-testid=push-to-talk]").PointerDown();
        cut.WaitForAssertion(() => Assert.Equal("input_audio_buffer.clear", SentTypes()[^1]));
        Assert.Single(SentTypes(), t => t == "response.cancel");
    }

    [Fact]
    public async Task Push_to_talk_switches_turn_detection_live_with_a_session_update()
    {
        _peer.Setup<PeerStepResult>("connect", _ => true).SetResult(Answered);
        var muted = _peer.SetupVoid("setMuted", _ => true);
        muted.SetVoidResult();
        var cut = RenderPage();
        cut.Find("[data-testid=connect]").Click();
        await cut.InvokeAsync(() => Page(cut).OnChannelOpen());
        cut.WaitForAssertion(() => Assert.Equal("Connected", State(cut)));
        Assert.Empty(cut.FindAll("[data-testid=push-to-talk]"));

        cut.Find("input[data-testid=push-to-talk-switch]").Change(true);
        cut.WaitForAssertion(() => Assert.Equal(2, SentTypes().Count));
        var toManual = JsonNode.Parse(SentJson()[1])!;
        Assert.Equal("session.update", (string?)toManual["type"]);
        Assert.True(toManual["session"]!["audio"]!["input"]!.AsObject().ContainsKey("turn_detection"));
        Assert.Null(toManual["session"]!["audio"]!["input"]!["turn_detection"]);
        Assert.Equal([true], muted.Invocations.Select(i => (bool)i.Arguments[0]!));
        Assert.Single(cut.FindAll("[data-testid=push-to-talk]"));

        cut.Find("input[data-testid=push-to-talk-switch]").Change(false);
        cut.WaitForAssertion(() => Assert.Equal(3, SentTypes().Count));
        Assert.Equal("server_vad", (string?)JsonNode.Parse(SentJson()[2])!["session"]!["audio"]!["input"]!["turn_detection"]!["type"]);
        Assert.Equal([true, false], muted.Invocations.Select(i => (bool)i.Arguments[0]!));
    }

    [Fact]
    public async Task Spoken_turns_become_you_bubbles_that_say_the_offline_transcript_is_a_fixed_phrase()
    {
        _peer.Setup<PeerStepResult>("connect", _ => true).SetResult(Answered);
        var cut = RenderPage();
        cut.Find("[data-testid=connect]").Click();
        await cut.InvokeAsync(() => Page(cut).OnChannelOpen());

        await Push(cut,
            """{"type":"conversation.item.input_audio_transcription.delta","item_id":"item_7","content_index":0,"delta":"Hello "}""");
        cut.WaitForAssertion(() => Assert.Equal("Hello", cut.Find("[data-testid=turn][data-speaker=user]").Children[1].TextContent.Trim()));
        await Push(cut,
            """{"type":"conversation.item.input_audio_transcription.delta","item_id":"item_7","content_index":0,"delta":"simulator"}""",
            """{"type":"conversation.item.input_audio_transcription.completed","item_id":"item_7","content_index":0,"transcript":"Hello simulator, can you hear me?"}""");

        cut.WaitForAssertion(() => Assert.Equal("Hello simulator, can you hear me?", cut.Find("[data-testid=turn][data-speaker=user]").Children[1].TextContent.Trim()));
        Assert.Single(cut.FindAll("[data-testid=turn]"));
        Assert.Contains("the same fixed phrase", cut.Find("[data-testid=spoken-turn]").GetAttribute("aria-label"), StringComparison.Ordinal);
    }

    private IRenderedComponent<MainLayout> RenderPage() =>
        Render<MainLayout>(p => p.Add(l => l.Body, builder =>
        {
            builder.OpenComponent<VoiceSessionPage>(0);
            builder.CloseComponent();
        }));

    private static VoiceSessionPage Page(IRenderedComponent<MainLayout> cut) => cut.FindComponent<VoiceSessionPage>().Instance;

    private static string? State(IRenderedComponent<MainLayout> cut) => cut.Find("[data-testid=connection-state]").GetAttribute("data-state");

    private static Task Push(IRenderedComponent<MainLayout> cut, params string[] events) =>
        cut.InvokeAsync(() => Page(cut).OnServerEvents([.. events.Select(e => new ServerEventChunk(e, 1_795_000_000_000, false))], new AudioLevels(0.1, 0.2), false));

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;

    private List<string?> SentTypes() => [.. SentJson().Select(j => (string?)JsonNode.Parse(j)!["type"])];

    private List<string> SentJson() => [.. _peer.Invocations.Where(i => i.Identifier == "send").Select(i => (string)i.Arguments[0]!)];

    private static void SelectDirectPath(IRenderedComponent<MainLayout> cut)
    {
        cut.FindAll(".mud-input-control.mud-select").Single(e => e.QuerySelector("[data-testid=connection-path]") is not null).MouseDown();
        cut.WaitForAssertion(() => cut.FindAll(".mud-list-item").Single(i => i.TextContent.Contains("Browser-direct", StringComparison.Ordinal)).Click());
    }
}
