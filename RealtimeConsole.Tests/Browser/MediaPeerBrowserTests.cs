using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RealtimeConsole.Simulator.Media;

namespace RealtimeConsole.Tests.Browser;

[Collection(BrowserCollection.Name)]
public sealed class MediaPeerBrowserTests(BrowserFixture fixture)
{
    private SimulatorMediaPeer Peer => (SimulatorMediaPeer)fixture.Server.Services.GetRequiredService<ISimulatorMediaPeer>();

    private static JsonObject NoVad() => new() { ["audio"] = new JsonObject { ["input"] = new JsonObject { ["turn_detection"] = null } } };

    private async Task<(MediaBrowserCall Call, AcceptedCall Accepted, List<string> Errors)> ConnectAsync(JsonObject session, bool oscillator = false)
    {
        var (page, errors) = await fixture.Chromium.OpenPageAsync();
        await page.GotoAsync(new Uri(fixture.Server.BaseAddress, "limits").ToString());
        var call = new MediaBrowserCall(page);
        var offer = await call.CreateOfferAsync(oscillator);
        var accepted = await Peer.AcceptAsync(offer, session, CancellationToken.None);
        var created = await call.AnswerAndOpenAsync(accepted.AnswerSdp);
        Assert.Equal("session.created", created["type"]?.ToString());
        return (call, accepted, errors);
    }

    [Fact]
    public async Task Browser_holds_a_realtime_session_over_the_data_channel_and_audio_track()
    {
        var (call, accepted, errors) = await ConnectAsync(NoVad());
        var first = (await call.MessagesAsync(0))[0];
        Assert.Equal("session.created", first["type"]?.ToString());
        Assert.Null(first["session"]?["audio"]?["input"]?["turn_detection"]);

        var longInstructions = string.Concat(Enumerable.Repeat("Answer briefly and quote the user. ", 150));
        var from = await call.CountAsync();
        await call.SendAsync(new JsonObject { ["type"] = "session.update", ["session"] = new JsonObject { ["type"] = "realtime", ["instructions"] = longInstructions } });
        var updated = await call.WaitForAsync("session.updated", from);
        Assert.Equal(longInstructions, updated["session"]?["instructions"]?.ToString());
        Assert.True(updated.ToJsonString().Length > 1200);

        from = await call.CountAsync();
        await call.SendAsync(UserText("Hello from the browser test"));
        await call.WaitForAsync("conversation.item.done", from);
        await call.SendAsync(new JsonObject { ["type"] = "response.create" });
        var done = await call.WaitForAsync("response.done", from);
        Assert.Equal("completed", done["response"]?["status"]?.ToString());
        Assert.True(done["response"]?["usage"]?["total_tokens"]?.GetValue<int>() > 0);
        var events = await call.MessagesAsync(from);
        var deltas = string.Concat(events.Where(e => e["type"]?.ToString() == "response.output_audio_transcript.delta").Select(e => e["delta"]?.ToString()));
        Assert.Contains("Hello from the browser test", deltas);
        Assert.Contains(events, e => e["type"]?.ToString() == "rate_limits.updated");
        await call.WaitForAsync("output_audio_buffer.stopped", from);

        var (received, lost) = await call.InboundAudioAsync();
        Assert.True(received > 0, "no audio packets arrived");
        Assert.Equal(0, lost);

        Assert.True(await Peer.HangUpAsync(accepted.CallId, CancellationToken.None));
        Assert.Null(Peer.Find(accepted.CallId));
        Assert.Empty(errors);
        await call.Page.Context.CloseAsync();
    }

    [Fact]
    public async Task Tool_call_round_trip_over_the_data_channel()
    {
        var (call, accepted, _) = await ConnectAsync(NoVad());
        var from = await call.CountAsync();
        await call.SendAsync(new JsonObject
        {
            ["type"] = "session.update",
            ["session"] = new JsonObject
            {
                ["type"] = "realtime",
                ["output_modalities"] = new JsonArray("text"),
                ["tools"] = new JsonArray(new JsonObject
                {
                    ["type"] = "function",
                    ["name"] = "set_theme",
                    ["description"] = "Switch the page between light and dark.",
                    ["parameters"] = new JsonObject
                    {
                        ["type"] = "object",
                        ["properties"] = new JsonObject { ["theme"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray("light", "dark") } },
                    },
                }),
            },
        });
        await call.WaitForAsync("session.updated", from);
        await call.SendAsync(UserText("Please switch to dark mode"));
        await call.SendAsync(new JsonObject { ["type"] = "response.create" });
        var done = await call.WaitForAsync("response.done", from);
        var output = done["response"]!["output"]![0]!;
        Assert.Equal("function_call", output["type"]?.ToString());
        Assert.Equal("set_theme", output["name"]?.ToString());
        Assert.Equal("""{"theme":"dark"}""", output["arguments"]?.ToString());

        from = await call.CountAsync();
        await call.SendAsync(new JsonObject
        {
            ["type"] = "conversation.item.create",
            ["item"] = new JsonObject { ["type"] = "function_call_output", ["call_id"] = output["call_id"]?.ToString(), ["output"] = """{"applied":"dark"}""" },
        });
        await call.SendAsync(new JsonObject { ["type"] = "response.create" });
        var text = await call.WaitForAsync("response.output_text.done", from);
        Assert.Contains("\"applied\":\"dark\"", text["text"]?.ToString());

        await Peer.HangUpAsync(accepted.CallId, CancellationToken.None);
        await call.Page.Context.CloseAsync();
    }

    [Fact]
    public async Task Server_vad_hears_speech_from_the_browser_microphone_and_answers()
    {
        var (call, accepted, _) = await ConnectAsync(new JsonObject { ["output_modalities"] = new JsonArray("text") }, oscillator: true);
        var from = await call.CountAsync();

        await call.SpeakAsync(800);

        var started = await call.WaitForAsync("input_audio_buffer.speech_started", from);
        var stopped = await call.WaitForAsync("input_audio_buffer.speech_stopped", from);
        Assert.True(stopped["audio_end_ms"]!.GetValue<int>() > started["audio_start_ms"]!.GetValue<int>());
        await call.WaitForAsync("input_audio_buffer.committed", from);
        var done = await call.WaitForAsync("response.done", from);
        Assert.Equal("completed", done["response"]?["status"]?.ToString());

        await Peer.HangUpAsync(accepted.CallId, CancellationToken.None);
        await call.Page.Context.CloseAsync();
    }

    [Fact]
    public async Task Closing_the_peer_connection_in_the_browser_ends_the_call()
    {
        var (call, accepted, _) = await ConnectAsync(NoVad());
        var live = Peer.Find(accepted.CallId)!;

        await call.Page.EvaluateAsync("() => __rt.pc.close()");

        await live.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Null(Peer.Find(accepted.CallId));
        await call.Page.Context.CloseAsync();
    }

    private static JsonObject UserText(string text) => new()
    {
        ["type"] = "conversation.item.create",
        ["item"] = new JsonObject
        {
            ["type"] = "message",
            ["role"] = "user",
            ["content"] = new JsonArray(new JsonObject { ["type"] = "input_text", ["text"] = text }),
        },
    };
}
