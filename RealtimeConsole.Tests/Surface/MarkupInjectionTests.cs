using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using RealtimeConsole.Components.Panels;
using RealtimeConsole.Tests.Infrastructure;
using RealtimeConsole.VoiceSession;

namespace RealtimeConsole.Tests.Surface;

/// <summary>What held in the probe, kept so: markup from upstream (transcripts, error messages in toasts) is shown as text.</summary>
public sealed class MarkupInjectionTests : ConsoleComponentTest
{
    private const string Hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>";

    [Fact]
    public void A_transcript_shows_markup_from_the_model_as_text()
    {
        var conversation = new VoiceConversation();
        conversation.AddUserText(Hostile);

        var cut = Render<VoiceTranscriptPanel>(p => p.Add(x => x.Conversation, conversation).Add(x => x.SendError, Hostile));

        Assert.Empty(cut.FindAll("img"));
        Assert.Empty(cut.FindAll("script"));
        Assert.Contains("&lt;img src=x onerror=alert(1)&gt;", cut.Markup, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_toast_shows_an_upstream_message_as_text()
    {
        var cut = Render<MudSnackbarProvider>();
        var snackbar = Services.GetRequiredService<ISnackbar>();

        await cut.InvokeAsync(() => snackbar.Add("Refused: " + Hostile, Severity.Error));

        cut.WaitForAssertion(() => Assert.Contains("&lt;img src=x onerror=alert(1)&gt;", cut.Markup, StringComparison.Ordinal));
        Assert.Empty(cut.FindAll("img"));
        Assert.Empty(cut.FindAll("script"));
    }
}
