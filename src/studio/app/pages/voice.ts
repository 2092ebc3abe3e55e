/**
 * Voice: talk to a realtime model (capability 'realtime', e.g. omni) over /v1/realtime — the OpenAI
 * Realtime protocol the server speaks (src/serve/routes/realtime.ts). The microphone is captured at
 * 24 kHz and streamed as PCM16 in ~85 ms events; the server's VAD ends each turn on silence and the
 * spoken answer plays back as its audio deltas arrive, with both sides' transcripts shown.
 */
import { el, type StudioPage, status } from '../page.ts';

const RATE = 24000;
/** ScriptProcessor block: 2048 samples ≈ 85 ms at 24 kHz (small enough for the VAD, few events). */
const BLOCK = 2048;

function toBase64(x: Float32Array): string {
  const bytes = new Uint8Array(x.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < x.length; i++)
    view.setInt16(2 * i, Math.max(-32768, Math.min(32767, Math.round(Math.max(-1, Math.min(1, x[i]!)) * 32768))), true);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(b64: string): Float32Array<ArrayBuffer> {
  const bin = atob(b64);
  const view = new DataView(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) view.setUint8(i, bin.charCodeAt(i));
  const out = new Float32Array(bin.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(2 * i, true) / 32768;
  return out;
}

export const page: StudioPage = {
  id: 'voice',
  title: 'Voice',
  order: 45,
  needs: 'realtime',
  render(root, info) {
    const model = info.models.find((m) => m.capabilities.includes('realtime'))!;
    const talk = el('button', { id: 'talk', class: 'primary', text: 'Start talking' });
    const stop = el('button', { id: 'stop', text: 'Stop', disabled: true });
    const st = status();
    const log = el('ol', { id: 'transcript', class: 'transcript', 'aria-live': 'polite' });
    const heard = el('p', { id: 'heard', class: 'hint' });
    root.append(
      el('p', {
        class: 'lead',
        text: `Speak to ${model.id}: your microphone streams to /v1/realtime; the server notices when you stop speaking and answers aloud, its voice checked by the voice-safety classifier.`,
      }),
      el('div', { class: 'row' }, talk, stop),
      st.node,
      log,
      heard,
    );

    let ws: WebSocket | undefined;
    let ctx: AudioContext | undefined;
    let media: MediaStream | undefined;
    let playAt = 0;
    let received = 0; // seconds of answer audio, for the page and its test
    const line = (who: string) => {
      const li = el('li', {}, el('strong', { text: `${who}: ` }), el('span'));
      log.append(li);
      return li.querySelector('span')!;
    };
    let answer: HTMLElement | undefined;

    const end = () => {
      ws?.close();
      for (const t of media?.getTracks() ?? []) t.stop();
      void ctx?.close();
      ws = undefined;
      ctx = undefined;
      media = undefined;
      talk.disabled = false;
      stop.disabled = true;
    };

    talk.addEventListener('click', async () => {
      talk.disabled = true;
      try {
        media = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true } });
      } catch (err) {
        st.set(`No microphone: ${(err as Error).message}`, true);
        talk.disabled = false;
        return;
      }
      ctx = new AudioContext({ sampleRate: RATE }); // the browser resamples the microphone to 24 kHz
      playAt = ctx.currentTime;
      const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/realtime`);
      ws = socket;
      socket.onopen = () => {
        socket.send(
          JSON.stringify({
            type: 'session.update',
            session: { input_audio_transcription: { model: 'tony' }, turn_detection: { type: 'server_vad' } },
          }),
        );
        const source = ctx!.createMediaStreamSource(media!);
        const proc = ctx!.createScriptProcessor(BLOCK, 1, 1);
        const mute = ctx!.createGain();
        mute.gain.value = 0; // a ScriptProcessor runs only when connected to the output
        proc.onaudioprocess = (e) => {
          if (socket.readyState === WebSocket.OPEN)
            socket.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: toBase64(e.inputBuffer.getChannelData(0)) }));
        };
        source.connect(proc).connect(mute).connect(ctx!.destination);
        st.set('Listening…');
        stop.disabled = false;
      };
      socket.onmessage = (m) => {
        // biome-ignore lint/suspicious/noExplicitAny: server events are JSON of many shapes (the protocol's)
        const e = JSON.parse(String(m.data)) as Record<string, any> & { type: string };
        switch (e.type) {
          case 'input_audio_buffer.speech_started':
            st.set('Hearing you…');
            break;
          case 'input_audio_buffer.speech_stopped':
            st.set('Thinking…');
            break;
          case 'conversation.item.input_audio_transcription.completed':
            line('You').textContent = e.transcript;
            break;
          case 'response.created':
            answer = undefined;
            break;
          case 'response.audio_transcript.delta':
          case 'response.text.delta':
            answer ??= line(model.id);
            answer.textContent += e.delta;
            break;
          case 'response.audio.delta': {
            const x = fromBase64(e.delta);
            const buf = ctx!.createBuffer(1, x.length, RATE);
            buf.copyToChannel(x, 0);
            const src = ctx!.createBufferSource();
            src.buffer = buf;
            src.connect(ctx!.destination);
            playAt = Math.max(playAt, ctx!.currentTime);
            src.start(playAt);
            playAt += buf.duration;
            received += buf.duration;
            heard.textContent = `${received.toFixed(2)} s of spoken answer received`;
            heard.dataset.seconds = received.toFixed(3);
            st.set('Answering…');
            break;
          }
          case 'response.done':
            log.dataset.answers = String(Number(log.dataset.answers ?? 0) + 1); // answers finished, for tests
            st.set(
              e.response.status === 'completed'
                ? 'Listening…'
                : `Answer ${e.response.status}${e.response.status_details?.reason ? ` (${e.response.status_details.reason})` : ''}. Listening…`,
            );
            break;
          case 'error':
            st.set(e.error.message, true);
            break;
        }
      };
      socket.onclose = () => {
        if (ws === socket) {
          st.set('Disconnected.');
          end();
        }
      };
    });
    stop.addEventListener('click', () => {
      end();
      st.set('Stopped.');
    });
    return end;
  },
};
