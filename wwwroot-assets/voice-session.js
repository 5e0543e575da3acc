// The voice session's browser side: microphone, RTCPeerConnection, the "oai-events" data channel, level meters
// and getStats(). One VoiceSessionPeer per connection attempt; the page holds it as an IJSObjectReference.
// Nothing is put on window; every failure reaches the page as a value or a callback with a reason.

const flushIntervalMs = 100;
// SignalR rejects client messages over 32 KB; each callback stays well under that.
const maxChunkChars = 12000;

export async function listMicrophones() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    return devices
        .filter(d => d.kind === "audioinput")
        .map((d, i) => ({ deviceId: d.deviceId, label: d.label || `Microphone ${i + 1}` }));
}

export function downloadText(fileName, text, mimeType) {
    const url = URL.createObjectURL(new Blob([text], { type: mimeType }));
    const link = document.createElement("a");
    link.href = url;
    link.download = fileName;
    link.click();
    URL.revokeObjectURL(url);
}

// Keeps a scrolling list at its newest entry unless the person has scrolled up to read (then it stays put).
export function followNewest(element) {
    let pinned = true;
    element.addEventListener("scroll", () => {
        pinned = element.scrollTop + element.clientHeight >= element.scrollHeight - 24;
    });
    new MutationObserver(() => {
        if (pinned) {
            element.scrollTop = element.scrollHeight;
        }
    }).observe(element, { childList: true, subtree: true, characterData: true });
}

export function createPeer(dotNet, audioElement) {
    return new VoiceSessionPeer(dotNet, audioElement);
}

// What the page logs about every HTTP step: method, path, status, time taken and the request id the server named.
function stepOf(method, url, response, startedAt) {
    return {
        method,
        url,
        status: response?.status ?? 0,
        elapsedMs: Math.round(performance.now() - startedAt),
        requestId: response?.headers.get("x-request-id") ?? null,
    };
}

async function readError(response, step) {
    const text = await response.text();
    let code = null;
    let message = text || response.statusText;
    let retryAfterSeconds = null;
    try {
        const body = JSON.parse(text);
        if (body && body.error) {
            code = body.error.code ?? null;
            message = body.error.message ?? message;
            retryAfterSeconds = body.error.retry_after_seconds ?? null;
            step.requestId ??= body.error.upstream_request_id ?? null;
        }
    } catch {
        // Not JSON (e.g. a proxy's HTML page): the raw text is the message.
    }
    const header = Number(response.headers.get("retry-after"));
    if (retryAfterSeconds === null && Number.isFinite(header) && header > 0) {
        retryAfterSeconds = header;
    }
    return { ok: false, status: response.status, code, message, retryAfterSeconds, step };
}

// A fetch that never throws: a network failure becomes a step with status 0 and the browser's reason.
async function send(method, url, init) {
    const startedAt = performance.now();
    try {
        const response = await fetch(url, { ...init, method });
        return { response, step: stepOf(method, url, response, startedAt) };
    } catch (error) {
        const step = stepOf(method, url, null, startedAt);
        return { failure: { ok: false, status: 0, code: "network_error", message: `${method} ${url} failed: ${error.message}`, retryAfterSeconds: null, step } };
    }
}

// Puts the given MIME types first in the offer's audio codec order (the answerer takes the first it supports); the
// browser's other codecs (RED, G722, CN, DTMF) follow in its own order. False where the browser lacks the API.
function preferCodecs(pc, track, mimeTypes) {
    const transceiver = pc.getTransceivers().find(t => t.sender.track === track);
    const capabilities = globalThis.RTCRtpReceiver?.getCapabilities?.("audio")?.codecs;
    if (!transceiver || typeof transceiver.setCodecPreferences !== "function" || !capabilities || !mimeTypes?.length) {
        return false;
    }
    const rank = codec => {
        const index = mimeTypes.findIndex(m => m.toLowerCase() === codec.mimeType.toLowerCase());
        return index < 0 ? mimeTypes.length : index;
    };
    transceiver.setCodecPreferences([...capabilities].sort((a, b) => rank(a) - rank(b)));
    return true;
}

// The codec an SDP answer chose: the first payload type of its (accepted) audio section, named by its rtpmap line.
function answeredCodec(sdp) {
    const lines = sdp.split(/\r?\n/);
    const media = lines.findIndex(l => /^m=audio [1-9]/.test(l));
    if (media < 0) {
        return null;
    }
    const payloadType = lines[media].split(" ")[3];
    const end = lines.findIndex((l, i) => i > media && l.startsWith("m="));
    const rtpmap = lines.slice(media, end < 0 ? undefined : end).find(l => l.startsWith(`a=rtpmap:${payloadType} `));
    return rtpmap ? rtpmap.slice(rtpmap.indexOf(" ") + 1) : ({ 0: "PCMU/8000", 8: "PCMA/8000" })[payloadType] ?? `payload type ${payloadType}`;
}

class VoiceSessionPeer {
    constructor(dotNet, audioElement) {
        this.dotNet = dotNet;
        this.audio = audioElement;
        this.queue = [];
        this.closed = false;
        this.reportedLoss = false;
        this.flushing = null;
    }

    // refusedSecret: the key a calls URL refused with 401 (an upstream that takes each key once); the broker replaces it.
    async requestSecret(sessionOverrides, refusedSecret) {
        this.sessionOverrides = sessionOverrides;
        const headers = { "Content-Type": "application/json" };
        if (refusedSecret) {
            headers["X-Refused-Client-Secret"] = refusedSecret;
        }
        const { response, step, failure } = await send("POST", "/api/realtime/client-secret", {
            headers,
            body: JSON.stringify(sessionOverrides ?? {}),
        });
        if (failure) {
            return failure;
        }
        if (!response.ok) {
            return await readError(response, step);
        }
        const body = await response.json();
        return { ok: true, status: response.status, value: body.value, callsUrl: body.calls_url, expiresAt: body.expires_at, step };
    }

    // Opens the microphone and negotiates; posts the offer to callsUrl (with the secret when browser-direct).
    async connect(options) {
        try {
            this.stream = await navigator.mediaDevices.getUserMedia({
                audio: options.microphoneId ? { deviceId: { exact: options.microphoneId } } : true,
            });
        } catch (error) {
            return { ok: false, status: 0, code: "microphone_unavailable", message: `Microphone: ${error.name}: ${error.message}`, retryAfterSeconds: null };
        }
        this.track = this.stream.getAudioTracks()[0];
        this.track.enabled = !options.muted;

        const pc = new RTCPeerConnection();
        this.pc = pc;
        pc.addTrack(this.track, this.stream);
        const codecOrderApplied = preferCodecs(pc, this.track, options.codecs);
        pc.ontrack = event => this.attachRemote(event.streams[0] ?? new MediaStream([event.track]));
        pc.onconnectionstatechange = () => {
            if (pc.connectionState === "failed") {
                this.lost("The connection failed (ICE or DTLS could not get through).");
            } else if (pc.connectionState === "disconnected") {
                this.lost("The connection dropped.");
            }
        };

        const channel = pc.createDataChannel("oai-events");
        this.channel = channel;
        channel.onopen = () => this.dotNet.invokeMethodAsync("OnChannelOpen").catch(() => this.close());
        channel.onclose = () => this.lost("The event channel closed.");
        channel.onmessage = event => this.enqueue(String(event.data));
        this.meterInput(this.stream);
        this.timer = setInterval(() => this.flush(), flushIntervalMs);
        this.statsTimer = setInterval(() => this.reportStats().catch(error => this.lost(`getStats failed: ${error.message}`)), 1000);

        const offer = await pc.createOffer();
        await pc.setLocalDescription(offer);
        const headers = { "Content-Type": "application/sdp" };
        if (options.secret) {
            headers.Authorization = `Bearer ${options.secret}`;
        }
        let { response, step, failure } = await send("POST", options.callsUrl, { headers, body: offer.sdp });
        if (failure) {
            return failure;
        }
        if (response.status === 401 && options.secret) {
            // A shared key refused as already used: one fresh key from the broker and one more try, never a loop.
            const fresh = await this.requestSecret(this.sessionOverrides, options.secret);
            if (!fresh.ok) {
                return fresh;
            }
            headers.Authorization = `Bearer ${fresh.value}`;
            ({ response, step, failure } = await send("POST", fresh.callsUrl ?? options.callsUrl, { headers, body: offer.sdp }));
            if (failure) {
                return failure;
            }
        }
        if (!response.ok) {
            return await readError(response, step);
        }
        const answer = await response.text();
        // Through the server, Location names our broker's call, which Disconnect hangs up; direct calls end with the peer.
        const location = response.headers.get("location");
        this.hangUpUrl = options.secret ? null : location;
        await pc.setRemoteDescription({ type: "answer", sdp: answer });
        return { ok: true, status: response.status, code: null, message: location, retryAfterSeconds: null, step, codec: answeredCodec(answer), codecOrderApplied };
    }

    send(json) {
        if (!this.channel || this.channel.readyState !== "open") {
            throw new Error(`The event channel is ${this.channel ? this.channel.readyState : "not open"}.`);
        }
        this.channel.send(json);
    }

    setMuted(muted) {
        if (this.track) {
            this.track.enabled = !muted;
        }
    }

    setVolume(volume) {
        this.audio.volume = Math.min(1, Math.max(0, volume));
    }

    // What a recording mixes: the microphone and the model's audio (null until each exists).
    recordingSources() {
        return { input: this.stream ?? null, output: this.remoteStream ?? null };
    }

    attachRemote(stream) {
        this.remoteStream = stream;
        this.audio.srcObject = stream;
        this.audio.play().catch(error => this.dotNet.invokeMethodAsync("OnPlaybackBlocked", `${error.name}: ${error.message}`).catch(() => this.close()));
        this.outputAnalyser = this.analyse(stream);
    }

    meterInput(stream) {
        this.inputAnalyser = this.analyse(stream);
    }

    analyse(stream) {
        this.context ??= new AudioContext();
        const analyser = this.context.createAnalyser();
        analyser.fftSize = 512;
        this.context.createMediaStreamSource(stream).connect(analyser);
        return analyser;
    }

    static rms(analyser) {
        if (!analyser) {
            return 0;
        }
        const samples = new Float32Array(analyser.fftSize);
        analyser.getFloatTimeDomainData(samples);
        let sum = 0;
        for (const s of samples) {
            sum += s * s;
        }
        return Math.min(1, Math.sqrt(sum / samples.length) * 4);
    }

    enqueue(json) {
        this.queue.push({ json, at: Date.now(), continues: false });
    }

    // Sends queued events in chunks under the SignalR message limit, every 100 ms; the page renders once per flush.
    flush() {
        if (this.flushing || this.closed) {
            return this.flushing ?? Promise.resolve();
        }
        this.flushing = this.drain().finally(() => { this.flushing = null; });
        return this.flushing;
    }

    async drain() {
        try {
            const levels = { input: VoiceSessionPeer.rms(this.inputAnalyser), output: VoiceSessionPeer.rms(this.outputAnalyser) };
            while (this.queue.length > 0 && !this.closed) {
                const chunk = [];
                let size = 0;
                while (this.queue.length > 0 && size < maxChunkChars) {
                    const next = this.queue[0];
                    const room = maxChunkChars - size;
                    if (next.json.length > room) {
                        chunk.push({ json: next.json.slice(0, room), at: next.at, continues: true });
                        next.json = next.json.slice(room);
                        size = maxChunkChars;
                    } else {
                        chunk.push(this.queue.shift());
                        size += next.json.length;
                    }
                }
                await this.dotNet.invokeMethodAsync("OnServerEvents", chunk, levels, this.queue.length > 0);
            }
            if (this.queue.length === 0 && !this.closed) {
                await this.dotNet.invokeMethodAsync("OnLevels", levels);
            }
        } catch (error) {
            // The page rejected a batch (or the circuit is gone): stop instead of flooding it, and say why.
            this.queue.length = 0;
            this.reportLoss(`The page could not take the server's events: ${error.message}`);
            this.close();
        }
    }

    async reportStats() {
        if (!this.pc || this.closed) {
            return;
        }
        const stats = await this.pc.getStats();
        const result = { roundTripMs: null, jitterMs: null, packetsLost: null, codec: null };
        const codecs = new Map();
        let inboundCodecId = null;
        stats.forEach(report => {
            if (report.type === "candidate-pair" && report.nominated && report.currentRoundTripTime !== undefined) {
                result.roundTripMs = report.currentRoundTripTime * 1000;
            } else if (report.type === "inbound-rtp" && report.kind === "audio") {
                result.jitterMs = (report.jitter ?? 0) * 1000;
                result.packetsLost = report.packetsLost ?? 0;
                inboundCodecId = report.codecId;
            } else if (report.type === "codec") {
                codecs.set(report.id, report.mimeType);
            }
        });
        result.codec = inboundCodecId ? codecs.get(inboundCodecId) ?? null : null;
        if (!this.closed) {
            await this.dotNet.invokeMethodAsync("OnStats", result).catch(() => this.close());
        }
    }

    // Delivers what arrived before the loss first (e.g. the session_expired error), then the loss itself.
    async lost(reason) {
        if (this.closed || this.reportedLoss) {
            return;
        }
        this.reportedLoss = true;
        await this.flush();
        await this.flush();
        if (!this.closed) {
            await this.dotNet.invokeMethodAsync("OnConnectionLost", reason).catch(() => this.close());
        }
    }

    reportLoss(reason) {
        if (this.reportedLoss || this.closed) {
            return;
        }
        this.reportedLoss = true;
        // If this fails too the circuit is gone, and nobody is left to tell.
        this.dotNet.invokeMethodAsync("OnConnectionLost", reason).catch(() => this.close());
    }

    // Hangs up, stops the microphone and closes the connection; safe to call more than once.
    async close() {
        this.closed = true;
        const hangUp = this.hangUpUrl;
        this.hangUpUrl = null;
        if (hangUp && this.pc?.connectionState === "connected") {
            // Hung up before the peer closes, or the server would find the call already gone.
            try {
                const response = await fetch(hangUp, { method: "DELETE", keepalive: true });
                if (!response.ok) {
                    console.warn(`voice-session: hanging up ${hangUp} answered ${response.status}; closing the peer ends the call.`);
                }
            } catch (error) {
                console.warn(`voice-session: could not hang up ${hangUp}: ${error.message}; closing the peer ends the call.`);
            }
        }
        clearInterval(this.timer);
        clearInterval(this.statsTimer);
        if (this.channel) {
            this.channel.onopen = null;
            this.channel.onmessage = null;
            this.channel.onclose = null;
            this.channel.close();
        }
        if (this.pc) {
            this.pc.onconnectionstatechange = null;
            this.pc.ontrack = null;
            this.pc.close();
        }
        this.stream?.getTracks().forEach(t => t.stop());
        if (this.audio) {
            this.audio.srcObject = null;
        }
        this.context?.close();
        this.context = null;
    }
}
