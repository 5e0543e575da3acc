// Records a voice session in the browser: the microphone and the model's audio mixed into one track, encoded by
// MediaRecorder as WebM/Opus, and saved as a download beside the session's event log (JSONL). One SessionRecording per
// recording; the page holds it as an IJSObjectReference and disposes it. Nothing is put on window.

const mimeType = "audio/webm;codecs=opus";
// Chunks every second, so a recording stopped by a failing connection still holds what came before.
const timesliceMs = 1000;

export function startRecording(peer) {
    if (typeof MediaRecorder === "undefined" || !MediaRecorder.isTypeSupported(mimeType)) {
        throw new Error(`This browser cannot record ${mimeType} (MediaRecorder).`);
    }
    const { input, output } = peer.recordingSources();
    if (!input && !output) {
        throw new Error("There is no audio to record yet: connect first.");
    }
    return new SessionRecording(input, output);
}

function download(blob, fileName) {
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = fileName;
    link.click();
    // Revoked later: revoking at once can cancel a large download before the browser has read it.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

class SessionRecording {
    constructor(input, output) {
        this.context = new AudioContext();
        const mix = this.context.createMediaStreamDestination();
        for (const stream of [input, output]) {
            if (stream && stream.getAudioTracks().length > 0) {
                this.context.createMediaStreamSource(stream).connect(mix);
            }
        }
        this.chunks = [];
        this.startedAt = performance.now();
        this.recorder = new MediaRecorder(mix.stream, { mimeType });
        this.recorder.ondataavailable = event => {
            if (event.data.size > 0) {
                this.chunks.push(event.data);
            }
        };
        this.stopped = new Promise(resolve => { this.recorder.onstop = resolve; });
        this.recorder.start(timesliceMs);
    }

    async stop() {
        if (this.recorder.state !== "inactive") {
            this.recorder.stop();
        }
        await this.stopped;
        await this.context.close().catch(() => {});
    }

    // Stops, then saves the audio and the event log as two downloads; says how much was saved.
    async stopAndDownload(audioFileName, eventsJsonl, eventsFileName) {
        await this.stop();
        const audio = new Blob(this.chunks, { type: "audio/webm" });
        download(audio, audioFileName);
        download(new Blob([eventsJsonl], { type: "application/x-ndjson" }), eventsFileName);
        return { bytes: audio.size, seconds: (performance.now() - this.startedAt) / 1000 };
    }

    // Drops the recording without saving it (the page went away).
    async discard() {
        await this.stop();
        this.chunks = [];
    }
}
