using Bunit;
using RealtimeConsole.Components.Panels;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.VoiceSession;

namespace RealtimeConsole.Tests.VoiceSession;

/// <summary>Deltas folded into one expandable row per type and response, in the log model and in the panel.</summary>
public sealed class VoiceLogRowTests : ConsoleComponentTest
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    // Two responses: transcript deltas interleaved with audio deltas and other events, as a spoken answer streams.
    private static VoiceEventLog TwoResponses()
    {
        var log = new VoiceEventLog();
        var at = T0;
        void Add(string json) => log.Add(at = at.AddMilliseconds(10), EventDirection.Received, json);
        Add("""{"type":"response.created","response":{"id":"resp_1"}}""");
        Add("""{"type":"response.output_audio_transcript.delta","response_id":"resp_1","item_id":"item_1","delta":"Hello"}""");
        Add("""{"type":"response.output_audio.delta","response_id":"resp_1","delta":"AAAA"}""");
        Add("""{"type":"response.output_audio_transcript.delta","response_id":"resp_1","item_id":"item_1","delta":" there"}""");
        Add("""{"type":"response.output_audio_transcript.delta","response_id":"resp_1","item_id":"item_1","delta":"!"}""");
        Add("""{"type":"response.done","response":{"id":"resp_1"}}""");
        Add("""{"type":"response.output_text.delta","response_id":"resp_2","delta":"Second"}""");
        Add("""{"type":"response.output_text.delta","response_id":"resp_2","delta":" answer"}""");
        Add("""{"type":"conversation.item.input_audio_transcription.delta","item_id":"item_9","delta":"spoken"}""");
        return log;
    }

    [Fact]
    public void Deltas_of_one_type_and_response_share_one_row_at_the_first_of_them()
    {
        var rows = VoiceLogRow.Fold(TwoResponses().View);

        Assert.Equal(
            [
                ("response.created", 1, false, null),
                ("response.output_audio_transcript.delta", 3, true, "resp_1"),
                ("response.output_audio.delta", 1, true, "resp_1"),
                ("response.done", 1, false, null),
                ("response.output_text.delta", 2, true, "resp_2"),
                ("conversation.item.input_audio_transcription.delta", 1, true, "item_9"),
            ],
            rows.Select(r => (r.First.Type, r.Count, r.IsDeltaGroup, r.Owner)));
        Assert.Equal("Hello there!", rows[1].JoinedText());
        Assert.Null(rows[2].JoinedText());
        Assert.Equal("Second answer", rows[4].JoinedText());
    }

    [Fact]
    public void The_log_folds_its_filtered_view_newest_first_and_counts_a_delta_that_arrives_later()
    {
        var log = TwoResponses();
        log.Filter = "output_audio_transcript";
        Assert.Equal(["response.output_audio_transcript.delta"], log.RowsNewestFirst.Select(r => r.First.Type));

        log.Add(T0.AddSeconds(5), EventDirection.Received, """{"type":"response.output_audio_transcript.delta","response_id":"resp_1","delta":" Bye."}""");

        Assert.Equal(4, log.RowsNewestFirst.Single().Count);
        Assert.Equal("Hello there! Bye.", log.RowsNewestFirst.Single().JoinedText());
        Assert.Equal(4, log.View.Count);
    }

    [Fact]
    public void The_panel_shows_one_row_per_group_with_its_count_and_opens_it_to_the_text_and_each_delta()
    {
        var log = TwoResponses();
        var cut = Render<VoiceEventLogPanel>(p => p.Add(c => c.Log, log));

        var rows = cut.FindAll("[data-testid=log-row]");
        Assert.Equal(6, rows.Count);
        Assert.Equal("9 of 9", cut.Find("[data-testid=log-count]").TextContent.Trim());
        var transcript = cut.Find("[data-testid=log-row][data-type='response.output_audio_transcript.delta']");
        Assert.Equal(("true", "3"), (transcript.GetAttribute("data-group"), transcript.GetAttribute("data-count")));
        Assert.Equal("× 3", transcript.QuerySelector("[data-testid=log-group-count]")!.TextContent.Trim());
        Assert.Contains("resp_1", transcript.TextContent, StringComparison.Ordinal);
        Assert.Empty(cut.FindAll("[data-testid=log-group]"));

        transcript.QuerySelector(".voice-log-line")!.Click();

        cut.WaitForAssertion(() => Assert.Equal("Hello there!", cut.Find("[data-testid=log-group-text]").TextContent));
        Assert.Equal(3, cut.FindAll("[data-testid=log-group] .voice-log-delta").Count);
        Assert.Equal("false", cut.Find("[data-testid=log-row][data-type='response.done']").GetAttribute("data-group"));
    }
}
