using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;
using MudBlazor;
using RealtimeConsole.Components.Layout;
using RealtimeConsole.Components.Panels;
using RealtimeConsole.RateLimits;
using RealtimeConsole.Telemetry;
using RealtimeConsole.Upstream;
using RealtimeConsole.VoiceSession;

namespace RealtimeConsole.Components.Pages;

/// <summary>
/// The voice session page: a state machine over one browser peer (wwwroot-assets/voice-session.js) that turns
/// every step's outcome into a visible state with a reason, and reacts to what the server says on the channel.
/// </summary>
public sealed partial class VoiceSession : IPageToolTarget, IAsyncDisposable
{
    public const string ModulePath = "./assets/voice-session.js";
    public const string ServerCallsPath = "/api/realtime/calls";

    /// <summary>Reconnects allowed per press of Connect, so a flapping upstream cannot loop forever.</summary>
    public const int ReconnectBudget = 3;

    /// <summary>Used when a 429 carries no Retry-After.</summary>
    public static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(5);

    private readonly VoiceSessionSettings _settings = new();
    private readonly VoiceEventLog _log = new();
    private readonly List<ToolCallRecord> _toolCalls = [];
    private readonly StringBuilder _partialEvent = new();
    private VoiceConversation _conversation = new();
    private IJSObjectReference? _module;
    private IJSObjectReference? _peer;
    private DotNetObjectReference<VoiceSession>? _self;
    private ITimer? _ticker;
    private ElementReference _audio;
    private VoiceLevelMeters? _meters;
    private VoiceStatsPanel? _statsPanel;
    private VoiceTranscriptPanel? _transcript;
    private VoiceEventLogPanel? _logPanel;
    private VoiceToasts? _toasts;
    private VoiceRecorder? _recorder;
    private VoiceConnectionState _state = VoiceConnectionState.Idle;
    private string? _reason;
    private string? _limitInForce;
    private string? _sendError;
    private string? _highlighted;
    private string? _microphoneError;
    private string? _playbackProblem;
    private string? _talkProblem;
    private bool _commitPending;
    private IReadOnlyList<MicrophoneInfo> _microphones = [];
    private string _microphoneId = "";
    private bool _muted;
    private int _volume = 80;
    private DateTimeOffset _connectedAt;
    private DateTimeOffset _attemptStartedAt;
    private DateTimeOffset _retryAt;
    private TimeSpan _retryAfter;
    private int _reconnectsLeft;
    private int _attempt;
    private bool _disposed;

    [Inject] private IJSRuntime JS { get; set; } = null!;

    [Inject] private TimeProvider Time { get; set; } = null!;

    [Inject] private BrokerTelemetry Telemetry { get; set; } = null!;

    [Inject] private UpstreamEndpoint Upstream { get; set; } = null!;

    [CascadingParameter] public MainLayout? Layout { get; set; }

    private DateTimeOffset Now => Time.GetUtcNow();

    /// <summary>Connected or on the way there: on a phone the transcript then comes before the settings.</summary>
    private bool IsLive => _state is not (VoiceConnectionState.Idle or VoiceConnectionState.Failed);

    private string StateLabel => _state switch
    {
        VoiceConnectionState.Idle => "Idle",
        VoiceConnectionState.GettingSecret => "Getting a secret…",
        VoiceConnectionState.Negotiating => "Negotiating…",
        VoiceConnectionState.Connected => "Connected",
        VoiceConnectionState.Reconnecting => "Reconnecting…",
        VoiceConnectionState.WaitingToRetry => "Rate limited",
        _ => "Failed",
    };

    private Color StateColor => _state switch
    {
        VoiceConnectionState.Connected => Color.Success,
        VoiceConnectionState.Failed => Color.Error,
        VoiceConnectionState.WaitingToRetry or VoiceConnectionState.Reconnecting => Color.Warning,
        VoiceConnectionState.Idle => Color.Default,
        _ => Color.Info,
    };

    protected override void OnInitialized()
    {
        _ticker = Time.CreateTimer(_ => _ = InvokeAsync(TickSafelyAsync), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (!firstRender)
        {
            return;
        }

        try
        {
            var module = await ModuleAsync();
            if (_transcript is not null)
            {
                await module.InvokeVoidAsync("followNewest", _transcript.ScrollArea);
            }

            _microphones = await module.InvokeAsync<MicrophoneInfo[]>("listMicrophones");
        }
        catch (JSException ex)
        {
            _microphoneError = $"Could not list microphones: {ex.Message}";
        }

        StateHasChanged();
    }

    private async Task ConnectClickedAsync()
    {
        _reconnectsLeft = ReconnectBudget;
        _conversation = new VoiceConversation();
        _toolCalls.Clear();
        _statsPanel?.Show(null);
        _statsPanel?.ShowCodec(null, null);
        _playbackProblem = null;
        _talkProblem = null;
        _commitPending = false;
        await ConnectAsync(reconnecting: false);
    }

    private async Task ConnectAsync(bool reconnecting)
    {
        var attempt = ++_attempt;
        _sendError = null;
        if (!reconnecting)
        {
            _reason = null;
        }

        await ClosePeerAsync();
        _attemptStartedAt = Now;
        _limitInForce = null;
        _state = reconnecting ? VoiceConnectionState.Reconnecting
            : _settings.Path == ConnectionPath.BrowserDirect ? VoiceConnectionState.GettingSecret : VoiceConnectionState.Negotiating;
        StateHasChanged();
        try
        {
            var module = await ModuleAsync();
            _self ??= DotNetObjectReference.Create(this);
            _peer = await module.InvokeAsync<IJSObjectReference>("createPeer", _self, _audio);

            var callsUrl = ServerCallsPath;
            string? secret = null;
            if (_settings.Path == ConnectionPath.BrowserDirect)
            {
                var minted = await _peer.InvokeAsync<PeerStepResult>("requestSecret", _settings.BuildSecretOverrides(PageTools.Definitions()));
                if (attempt != _attempt)
                {
                    return;
                }

                LogStep("client secret", minted);

                if (!minted.Ok || string.IsNullOrEmpty(minted.Value) || string.IsNullOrEmpty(minted.CallsUrl))
                {
                    await FailStepAsync(minted.Ok ? minted with { Ok = false, Message = "the server's answer had no value or calls_url" } : minted, "getting a client secret", UpstreamResource.ClientSecrets);
                    return;
                }

                (callsUrl, secret) = (minted.CallsUrl, minted.Value);
                if (!reconnecting)
                {
                    _state = VoiceConnectionState.Negotiating;
                    StateHasChanged();
                }
            }

            var answered = await _peer.InvokeAsync<PeerStepResult>("connect", new { callsUrl, secret, microphoneId = _microphoneId, muted = _muted || _settings.PushToTalk, codecs = _settings.CodecOrder() });
            if (attempt != _attempt)
            {
                return;
            }

            LogStep("SDP exchange", answered);
            if (!answered.Ok)
            {
                await FailStepAsync(answered, "exchanging the SDP offer", UpstreamResource.Calls);
                return;
            }

            _statsPanel?.ShowCodec(answered.Codec, answered.CodecOrderApplied ? $"offered {_settings.CodecOrderText()}" : "the browser's default order (no setCodecPreferences)");
        }
        catch (JSException ex) when (attempt == _attempt)
        {
            await FailAsync($"The browser could not connect: {ex.Message}");
        }
        catch (TaskCanceledException) when (attempt == _attempt)
        {
            await FailAsync("The browser did not finish connecting in time (the JS interop call timed out).");
        }
        catch (Exception ex) when (attempt != _attempt && ex is JSException or TaskCanceledException or ObjectDisposedException)
        {
            // Disconnect (or a newer attempt) closed this attempt's peer while it was still connecting: nothing to report,
            // and letting it escape would fail the click that started it in the browser's console.
        }
    }

    private async Task FailStepAsync(PeerStepResult result, string step, UpstreamResource resource)
    {
        await ClosePeerAsync();
        if (result.IsRateLimited && !result.IsQuotaExhausted)
        {
            _retryAfter = result.RetryAfterSeconds is > 0 ? TimeSpan.FromSeconds(result.RetryAfterSeconds.Value) : DefaultRetryAfter;
            _retryAt = Now + _retryAfter;
            _reason = result.Describe(step);
            _limitInForce = LimitInForce(resource);
            _state = VoiceConnectionState.WaitingToRetry;
            return;
        }

        await FailAsync(result.Describe(step));
    }

    /// <summary>The limit upstream enforces now for <paramref name="resource"/>, from the headers /limits shows, not the configured size.</summary>
    private string? LimitInForce(UpstreamResource resource)
    {
        var name = resource.ToWireName();
        var known = Telemetry.GetSnapshot().Resources.FirstOrDefault(r => r.Resource == name);
        if (known?.LastRateLimits.FirstOrDefault(l => l.Name == "requests" && l.Limit is not null) is { } limit)
        {
            return $"Limit in force for {name}: {limit.Limit} requests/min ({limit.Remaining} left at {TelemetryText.Clock(limit.At)}, from {limit.Source}).";
        }

        return known?.BudgetPerMinute is { } perMinute
            ? $"Limit in force for {name}: the local budget of {perMinute} requests/min (OpenAI has not said its own yet)."
            : null;
    }

    private void LogStep(string step, PeerStepResult result)
    {
        if (result.Step is not null)
        {
            _log.AddHttpStep(Now, step, result);
            _logPanel?.Refresh();
        }
    }

    private async Task FailAsync(string reason)
    {
        await ClosePeerAsync();
        _reason = reason;
        _state = VoiceConnectionState.Failed;
    }

    // A timer callback has no caller to throw to: hand failures to the renderer like any event handler's.
    private async Task TickSafelyAsync()
    {
        try
        {
            await TickAsync();
        }
        catch (Exception ex)
        {
            await DispatchExceptionAsync(ex);
        }
    }

    // Only connects again when a wait is over: the countdown and the connected timer tick in their own components.
    private async Task TickAsync()
    {
        if (!_disposed && _state == VoiceConnectionState.WaitingToRetry && Now >= _retryAt)
        {
            await ConnectAsync(reconnecting: false);
            StateHasChanged();
        }
    }

    private async Task DisconnectAsync()
    {
        _attempt++;
        await ClosePeerAsync();
        _state = VoiceConnectionState.Idle;
        _reason = null;
    }

    [JSInvokable]
    public async Task OnChannelOpen()
    {
        _state = VoiceConnectionState.Connected;
        _connectedAt = Now;
        _reason = null;
        await SendEventAsync(new JsonObject { ["type"] = "session.update", ["session"] = _settings.BuildSession(PageTools.Definitions()) });
        StateHasChanged();
    }

    [JSInvokable]
    public async Task OnConnectionLost(string reason)
    {
        if (_state is VoiceConnectionState.Connected or VoiceConnectionState.Reconnecting && _reconnectsLeft > 0)
        {
            await ReconnectAsync(reason);
        }
        else if (_state is not (VoiceConnectionState.Idle or VoiceConnectionState.WaitingToRetry))
        {
            await FailAsync(_state == VoiceConnectionState.Negotiating ? reason : $"{reason} Gave up after {ReconnectBudget} reconnects.");
        }

        StateHasChanged();
    }

    [JSInvokable]
    public async Task OnServerEvents(ServerEventChunk[] chunks, AudioLevels levels, bool more)
    {
        var pageChanged = false;
        foreach (var chunk in chunks)
        {
            _partialEvent.Append(chunk.Json);
            if (chunk.Continues)
            {
                continue;
            }

            var json = _partialEvent.ToString();
            _partialEvent.Clear();
            var at = DateTimeOffset.FromUnixTimeMilliseconds(chunk.At);
            _log.Add(at, EventDirection.Received, json);
            pageChanged |= await ApplyAsync(json, at);
        }

        // The browser sends a flush in several calls when it is large; rendering once per flush keeps a flood cheap,
        // and only the panels that show events re-render unless the events changed the page itself (tools, state).
        if (!more)
        {
            if (_meters is not null)
            {
                await _meters.ShowAsync(levels);
            }

            RefreshLivePanels();
            if (pageChanged)
            {
                StateHasChanged();
            }
        }
    }

    private void RefreshLivePanels()
    {
        _logPanel?.Refresh();
        _transcript?.Refresh();
        _statsPanel?.Refresh();
    }

    [JSInvokable]
    public Task OnPlaybackBlocked(string reason)
    {
        _playbackProblem = $"The browser blocked audio playback ({reason}). Click anywhere on the page, then reconnect.";
        StateHasChanged();
        return Task.CompletedTask;
    }

    [JSInvokable]
    public Task OnLevels(AudioLevels levels) => _meters?.ShowAsync(levels) ?? Task.CompletedTask;

    [JSInvokable]
    public Task OnStats(ConnectionStats stats)
    {
        _statsPanel?.Show(stats);
        return Task.CompletedTask;
    }

    /// <summary>Applies one server event; true when the page itself must re-render (tool calls ran, or the connection changed).</summary>
    private async Task<bool> ApplyAsync(string json, DateTimeOffset at)
    {
        var effect = _conversation.Apply(json, at);
        if (effect.RateLimitsChanged)
        {
            Telemetry.RecordBrowserRateLimits(_conversation.RateLimits.Select(l => new BrowserRateLimit(l.Name, ToInt(l.Limit), ToInt(l.Remaining), l.ResetSeconds)));
        }

        if (effect.SessionExpired && _reconnectsLeft > 0)
        {
            await ReconnectAsync("The session expired (session_expired).");
            return true;
        }

        if (effect.FunctionCalls.Count > 0)
        {
            await RunToolsAsync(effect.FunctionCalls);
            return true;
        }

        return await FinishManualTurnAsync(effect);
    }

    /// <summary>A released button asked for a commit: a response follows only once the server committed the audio.</summary>
    private async Task<bool> FinishManualTurnAsync(ServerEventEffect effect)
    {
        if (!_commitPending)
        {
            return false;
        }

        if (effect.InputCommitted)
        {
            _commitPending = false;
            await SendEventAsync(new JsonObject { ["type"] = "response.create" });
            return false;
        }

        if (effect.ErrorCode is "input_audio_buffer_commit_empty")
        {
            _commitPending = false;
            _talkProblem = $"Nothing was sent to the model: {effect.ErrorMessage ?? "the buffer was empty."} Hold the button while you speak.";
            return true;
        }

        return false;
    }

    private async Task ReconnectAsync(string reason)
    {
        _reconnectsLeft--;
        _reason = reason;
        await ConnectAsync(reconnecting: true);
    }

    private async Task RunToolsAsync(IReadOnlyList<FunctionCall> calls)
    {
        foreach (var call in calls)
        {
            var (ok, output) = _settings.ToolsEnabled
                ? await PageTools.ExecuteAsync(this, call.Name, call.Arguments)
                : (false, new JsonObject { ["ok"] = false, ["error"] = "page tools are turned off" }.ToJsonString());
            _toolCalls.Add(new ToolCallRecord(call.CallId, call.Name, call.Arguments, output, ok, Now));
            await SendEventAsync(new JsonObject
            {
                ["type"] = "conversation.item.create",
                ["item"] = new JsonObject { ["type"] = "function_call_output", ["call_id"] = call.CallId, ["output"] = output },
            });
        }

        await SendEventAsync(new JsonObject { ["type"] = "response.create" });
    }

    private async Task SendTextAsync(string text)
    {
        _conversation.AddUserText(text);
        await SendEventAsync(new JsonObject
        {
            ["type"] = "conversation.item.create",
            ["item"] = new JsonObject
            {
                ["type"] = "message",
                ["role"] = "user",
                ["content"] = new JsonArray(new JsonObject { ["type"] = "input_text", ["text"] = text }),
            },
        });
        await SendEventAsync(new JsonObject { ["type"] = "response.create" });
    }

    private async Task SendEventAsync(JsonObject evt)
    {
        var json = evt.ToJsonString();
        _log.Add(Now, EventDirection.Sent, json);
        _logPanel?.Refresh();
        if (_peer is null)
        {
            _sendError = $"Not sent ({evt["type"]}): there is no connection.";
            return;
        }

        try
        {
            await _peer.InvokeVoidAsync("send", json);
            _sendError = null;
        }
        catch (JSException ex)
        {
            _sendError = $"Not sent ({evt["type"]}): {ex.Message}";
        }
    }

    private async Task SetMutedAsync(bool muted)
    {
        _muted = muted;
        if (_peer is not null)
        {
            await _peer.InvokeVoidAsync("setMuted", muted || _settings.PushToTalk);
        }
    }

    // A press starts a turn from silence: whatever the open microphone buffered before it is dropped.
    private async Task TalkStartAsync()
    {
        if (_peer is null || _muted)
        {
            return;
        }

        _talkProblem = null;
        await SendEventAsync(new JsonObject { ["type"] = "input_audio_buffer.clear" });
        if (_conversation.ResponseActive)
        {
            // Talking over the assistant interrupts it, as in openai-realtime-agents: its reply and queued audio stop.
            await SendEventAsync(new JsonObject { ["type"] = "response.cancel" });
            await SendEventAsync(new JsonObject { ["type"] = "output_audio_buffer.clear" });
        }

        await _peer.InvokeVoidAsync("setMuted", false);
    }

    private async Task TalkEndAsync()
    {
        if (_peer is null || _muted)
        {
            return;
        }

        if (_settings.PushToTalk)
        {
            await _peer.InvokeVoidAsync("setMuted", true);
        }

        _commitPending = true;
        await SendEventAsync(new JsonObject { ["type"] = "input_audio_buffer.commit" });
    }

    /// <summary>Push-to-talk or turn detection changed: while connected, tell the server and (un)mute the microphone to match.</summary>
    private async Task TurnsChangedAsync()
    {
        if (_state != VoiceConnectionState.Connected || _peer is null)
        {
            return;
        }

        await SendEventAsync(_settings.BuildTurnDetectionUpdate());
        await _peer.InvokeVoidAsync("setMuted", _muted || _settings.PushToTalk);
    }

    private async Task SetVolumeAsync(int volume)
    {
        _volume = volume;
        if (_peer is not null)
        {
            await _peer.InvokeVoidAsync("setVolume", volume / 100.0);
        }
    }

    private async Task ExportAsync()
    {
        var module = await ModuleAsync();
        var name = $"voice-events-{Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}.jsonl";
        await module.InvokeVoidAsync("downloadText", name, _log.ToJsonl(), "application/x-ndjson");
    }

    public Task SetThemeAsync(bool dark)
    {
        if (Layout is null)
        {
            throw new InvalidOperationException("this page is not inside the console layout, so it has no theme to switch");
        }

        Layout.SetDarkMode(dark);
        return Task.CompletedTask;
    }

    public Task HighlightPanelAsync(string panel)
    {
        _highlighted = panel;
        return Task.CompletedTask;
    }

    public Task ShowToastAsync(string message, string severity)
    {
        if (_toasts is null)
        {
            throw new InvalidOperationException("the page has not rendered its toast area yet");
        }

        _toasts.Show(message, severity switch
        {
            "success" => Severity.Success,
            "warning" => Severity.Warning,
            "error" => Severity.Error,
            _ => Severity.Info,
        });
        return Task.CompletedTask;
    }

    private static int ToInt(long value) => (int)Math.Clamp(value, int.MinValue, int.MaxValue);

    private string PanelClass(string panel) => panel == _highlighted ? "voice-panel voice-panel--highlighted" : "voice-panel";

    private async Task<IJSObjectReference> ModuleAsync() =>
        _module ??= await JS.InvokeAsync<IJSObjectReference>("import", ModulePath);

    /// <summary>Saves a running recording, stops the microphone and closes the peer; the browser may already be gone.</summary>
    private async Task ClosePeerAsync()
    {
        var peer = _peer;
        _peer = null;
        if (peer is null)
        {
            return;
        }

        try
        {
            // A recording ends with the connection it records (Disconnect, a failure, a reconnect): saved before the peer closes.
            if (!_disposed && _recorder is { IsRecording: true })
            {
                await _recorder.StopAsync();
            }

            await peer.InvokeVoidAsync("close");
            await peer.DisposeAsync();
        }
        catch (JSDisconnectedException)
        {
            // The circuit is gone, and with it the browser's peer connection and microphone.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        _ticker?.Dispose();
        await ClosePeerAsync();
        try
        {
            if (_module is not null)
            {
                await _module.DisposeAsync();
            }
        }
        catch (JSDisconnectedException)
        {
            // Nothing left to release in a browser that has disconnected.
        }

        _self?.Dispose();
    }
}
