using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace RealtimeConsole.Tests.Browser;

/// <summary>
/// A browser-side Realtime client for tests: an RTCPeerConnection with the <c>oai-events</c> channel and the fake
/// microphone, its received events kept in order so a test can wait for one by type.
/// </summary>
internal sealed class MediaBrowserCall(IPage page)
{
    private const string Setup = """
        async oscillator => {
          let stream;
          let gain = null;
          if (oscillator) {
            // A WebAudio tone behind a gain the test opens and closes: speech the VAD must notice, on the page's own clock.
            const ctx = new AudioContext({ sampleRate: 48000 });
            const osc = ctx.createOscillator();
            osc.frequency.value = 300;
            gain = ctx.createGain();
            gain.gain.value = 0;
            const dest = ctx.createMediaStreamDestination();
            osc.connect(gain).connect(dest);
            osc.start();
            stream = dest.stream;
          } else {
            stream = await navigator.mediaDevices.getUserMedia({ audio: true });
          }
          const pc = new RTCPeerConnection();
          stream.getTracks().forEach(t => pc.addTrack(t, stream));
          const dc = pc.createDataChannel('oai-events');
          const rt = { pc, dc, messages: [], opened: null, closed: false, waiters: [] };
          rt.speak = ms => { gain.gain.value = 0.8; setTimeout(() => gain.gain.value = 0, ms); };
          rt.open = new Promise(resolve => dc.onopen = () => { rt.opened = performance.now(); resolve(); });
          dc.onclose = () => rt.closed = true;
          dc.onmessage = e => { rt.messages.push(JSON.parse(e.data)); rt.waiters.forEach(w => w()); };
          rt.waitFor = (type, from, ms) => new Promise((resolve, reject) => {
            const check = () => {
              const hit = rt.messages.slice(from).find(m => m.type === type);
              if (hit) { resolve(hit); return true; }
              return false;
            };
            if (check()) return;
            const timer = setTimeout(() => reject(new Error('no ' + type + ' within ' + ms + ' ms; got ' + rt.messages.map(m => m.type).join(','))), ms);
            rt.waiters.push(() => { if (check()) clearTimeout(timer); });
          });
          window.__rt = rt;
          await pc.setLocalDescription(await pc.createOffer());
          return pc.localDescription.sdp;
        }
        """;

    public IPage Page { get; } = page;

    public Task<string> CreateOfferAsync(bool oscillatorMicrophone = false) => Page.EvaluateAsync<string>(Setup, oscillatorMicrophone);

    /// <summary>Opens the oscillator microphone for <paramref name="milliseconds"/> (timed in the page).</summary>
    public Task SpeakAsync(int milliseconds) => Page.EvaluateAsync("ms => __rt.speak(ms)", milliseconds);

    /// <summary>Posts the offer from the page like a browser app does and returns the HTTP status and Location.</summary>
    public async Task<(int Status, string? Location)> PostOfferAndOpenAsync(string callsUrl, string ephemeralKey)
    {
        var result = await Page.EvaluateAsync<JsonElement>("""
            async ([url, key]) => {
              const response = await fetch(url, { method: 'POST', body: __rt.pc.localDescription.sdp, headers: { 'Authorization': 'Bearer ' + key, 'Content-Type': 'application/sdp' } });
              if (response.status !== 201) return { status: response.status, location: await response.text() };
              await __rt.pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
              await Promise.race([__rt.open, new Promise((_, r) => setTimeout(() => r(new Error('channel did not open')), 20000))]);
              return { status: response.status, location: response.headers.get('Location') };
            }
            """, new object[] { callsUrl, ephemeralKey });
        return (result.GetProperty("status").GetInt32(), result.GetProperty("location").GetString());
    }

    public async Task<JsonObject> AnswerAndOpenAsync(string answerSdp)
    {
        await Page.EvaluateAsync("async sdp => { await __rt.pc.setRemoteDescription({ type: 'answer', sdp }); await Promise.race([__rt.open, new Promise((_, r) => setTimeout(() => r(new Error('channel did not open')), 20000))]); }", answerSdp);
        return await WaitForAsync("session.created", 0);
    }

    public Task<int> CountAsync() => Page.EvaluateAsync<int>("() => __rt.messages.length");

    public Task SendAsync(JsonObject clientEvent) => Page.EvaluateAsync("json => __rt.dc.send(json)", clientEvent.ToJsonString());

    public async Task<JsonObject> WaitForAsync(string type, int from, int timeoutMs = 20_000)
    {
        var json = await Page.EvaluateAsync<JsonElement>("([type, from, ms]) => __rt.waitFor(type, from, ms)", new object[] { type, from, timeoutMs });
        return JsonNode.Parse(json.GetRawText())!.AsObject();
    }

    public async Task<List<JsonObject>> MessagesAsync(int from)
    {
        var json = await Page.EvaluateAsync<JsonElement>("from => __rt.messages.slice(from)", from);
        return [.. JsonNode.Parse(json.GetRawText())!.AsArray().Select(n => n!.AsObject())];
    }

    /// <summary>inbound-rtp audio packetsReceived and packetsLost from getStats.</summary>
    public async Task<(long Received, long Lost)> InboundAudioAsync()
    {
        var json = await Page.EvaluateAsync<JsonElement>("""
            async () => {
              const stats = await __rt.pc.getStats();
              let r = { received: 0, lost: 0 };
              stats.forEach(s => { if (s.type === 'inbound-rtp' && s.kind === 'audio') r = { received: s.packetsReceived, lost: s.packetsLost }; });
              return r;
            }
            """);
        return (json.GetProperty("received").GetInt64(), json.GetProperty("lost").GetInt64());
    }
}
