/**
 * Realtime latency (issue 18): a client streams recorded speech over /v1/realtime at real-time pace
 * and measures the time from the end of speech to the first audio delta, over N turns — the figure
 * GPT-4o's system card gives as 232 ms minimum / 320 ms mean.
 *
 *   npm run bench -- realtime --model <dir | double> --speech <corpus dir> [--turns 100]
 *     [--mode commit|vad] [--threads 2] [--max-seconds 3] [--url ws://host:port] [--log out.json]
 *
 * - `--model double`: the OmniModel test double (test/serve/realtime-double.ts) — the server's own
 *   overhead (protocol, resampling, VAD, voice guard when `--guard` names a classifier); any other
 *   value loads a model directory through the registry (it must have the capability 'realtime').
 * - `--mode commit`: after the last chunk the client sends input_audio_buffer.commit and
 *   response.create; latency = first response.audio.delta − that moment.
 * - `--mode vad`: the client keeps streaming silence after the speech; the server's VAD ends the
 *   turn and answers. Two latencies: from speech_stopped (the VAD's end of turn) and from the true
 *   end of speech (which adds the VAD's silence_duration_ms, 500 ms by default; this run sets it
 *   with `--silence-ms`).
 * - Each turn is cancelled after its first audio delta (the rest of the answer does not change
 *   the figure) and the next starts after response.done.
 *
 * The server runs in this process unless `--url` points at a running `tony serve`; the client
 * sends audio in 20 ms events on an absolute clock, so a busy event loop delays the sending, not the
 * pace. Clips: the corpus's utterances no longer than `--max-seconds`, in manifest order, cycled.
 */
import { execFileSync } from 'node:child_process';
import { loadEntry, readDataset } from '../src/audio/manifest.ts';
import { resample } from '../src/audio/resample.ts';
import { toMono } from '../src/audio/wav.ts';
import { writeFileAtomic } from '../src/io.ts';
import { loadModel } from '../src/models/index.ts';
import { canRealtime, type OmniModel } from '../src/models/omni/contract.ts';
import { loadVoiceSafety } from '../src/models/omni/voice-safety.ts';
import { serve } from '../src/serve/index.ts';
import { encodePcm16, PROTOCOL_RATE } from '../src/serve/realtime/pcm16.ts';
import { RtClient } from '../test/serve/realtime-client.ts';
import { OmniDouble } from '../test/serve/realtime-double.ts';

const arg = (name: string, dflt?: string) => {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1]!;
  if (dflt === undefined) throw new Error(`--${name} is required`);
  return dflt;
};
const modelArg = arg('model');
const speechDir = arg('speech');
const turns = Number(arg('turns', '100'));
const mode = arg('mode', 'commit') as 'commit' | 'vad';
const threads = Number(arg('threads', '2'));
const maxSeconds = Number(arg('max-seconds', '3'));
const silenceMs = Number(arg('silence-ms', '500'));
const urlArg = arg('url', '');
const logPath = arg('log', '');
const guardPath = arg('guard', '');
const CHUNK_MS = 20;

const load = () =>
  execFileSync('uptime')
    .toString()
    .trim()
    .replace(/.*load average: /, '');
const loadAtStart = load();

let model: OmniModel | undefined;
let close = async () => {};
let url = urlArg.replace(/^ws/, 'http');
if (!urlArg) {
  if (modelArg === 'double') model = new OmniDouble();
  else {
    const m = await loadModel(modelArg, { threads });
    if (!canRealtime(m)) throw new Error(`${modelArg} is a '${m.kind}' model without the capability 'realtime'`);
    model = m;
  }
  const voiceGuard = guardPath ? await loadVoiceSafety(guardPath) : undefined;
  const server = await serve(model, { port: 0, ...(voiceGuard ? { voiceGuard } : {}) });
  url = server.url;
  close = async () => {
    await server.close();
    await model!.close();
  };
}

const entries = (await readDataset(speechDir)).filter((e) => (e.seconds ?? Infinity) <= maxSeconds);
if (!entries.length) throw new Error(`no clips of at most ${maxSeconds} s in ${speechDir}`);
const clips: { id: string; x: Float32Array }[] = [];
for (const e of entries.slice(0, Math.min(turns, entries.length))) {
  const { audio } = await loadEntry(e);
  clips.push({ id: e.id, x: Float32Array.from(resample(toMono(audio), audio.sampleRate, PROTOCOL_RATE)) });
}

const c = await RtClient.open(url);
await c.next('session.created');
c.send({
  type: 'session.update',
  session: { turn_detection: mode === 'vad' ? { type: 'server_vad', silence_duration_ms: silenceMs, create_response: true } : null },
});
await c.next('session.updated');

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - performance.now())));
/** Stream `x` at real-time pace from now; resolves at the time the last sample "ended". */
async function streamRealtime(x: Float32Array): Promise<number> {
  const n = (PROTOCOL_RATE * CHUNK_MS) / 1000;
  const t0 = performance.now();
  for (let o = 0, k = 0; o < x.length; o += n, k++) {
    await sleepUntil(t0 + k * CHUNK_MS);
    c.send({ type: 'input_audio_buffer.append', audio: encodePcm16(x.subarray(o, o + n)) });
  }
  return t0 + (x.length / PROTOCOL_RATE) * 1000;
}

const rows: { turn: number; clip: string; seconds: number; fromEndMs?: number; fromStopMs?: number }[] = [];
const t0 = performance.now();
for (let turn = 0; turn < turns; turn++) {
  const clip = clips[turn % clips.length]!;
  const speechEnd = await streamRealtime(clip.x);
  let from: number;
  let fromStop: number | undefined;
  if (mode === 'commit') {
    from = performance.now();
    c.send({ type: 'input_audio_buffer.commit' });
    c.send({ type: 'response.create' });
  } else {
    // keep the line open with silence, as a microphone does, until the VAD ends the turn
    const quiet = new Float32Array((PROTOCOL_RATE * CHUNK_MS) / 1000);
    let stopped = false;
    const stop = c.next('input_audio_buffer.speech_stopped', 10_000).then(() => {
      stopped = true;
      fromStop = performance.now();
    });
    for (let k = 0; !stopped && k < 500; k++) {
      await sleepUntil(speechEnd + k * CHUNK_MS);
      c.send({ type: 'input_audio_buffer.append', audio: encodePcm16(quiet) });
    }
    await stop;
    from = speechEnd;
  }
  // An answer may have no audio at all (the model ended before speaking); such a turn is counted,
  // not timed.
  const ev = await c.nextOf(['response.audio.delta', 'response.done'], 30_000);
  if (ev.type === 'response.done') {
    rows.push({ turn, clip: clip.id, seconds: clip.x.length / PROTOCOL_RATE });
  } else {
    const first = performance.now();
    // The cancel may race the response's own end; then it only earns an error event, which is fine.
    c.send({ type: 'response.cancel' });
    await c.next('response.done', 30_000);
    rows.push({
      turn,
      clip: clip.id,
      seconds: clip.x.length / PROTOCOL_RATE,
      fromEndMs: first - from,
      ...(fromStop !== undefined ? { fromStopMs: first - fromStop } : {}),
    });
  }
  if (turn % 10 === 9) process.stderr.write(`turn ${turn + 1}/${turns} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
}
await c.close();
await close();

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  return { n: s.length, min: s[0]!, p50: q(0.5), p95: q(0.95), mean: s.reduce((a, b) => a + b, 0) / s.length, max: s.at(-1)! };
};
const r = (o: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v * 10) / 10]));
const timed = rows.filter((x) => x.fromEndMs !== undefined);
const summary = {
  model: modelArg,
  provider: model?.provider ?? urlArg,
  mode,
  turns,
  threads,
  guard: guardPath || null,
  ...(mode === 'vad' ? { silenceMs } : {}),
  loadAtStart,
  loadAtEnd: load(),
  turnsWithoutAudio: rows.filter((x) => x.fromEndMs === undefined).length,
  fromEndOfSpeechMs: r(stats(timed.map((x) => x.fromEndMs!))),
  ...(mode === 'vad' ? { fromSpeechStoppedMs: r(stats(timed.map((x) => x.fromStopMs!))) } : {}),
};
console.log(JSON.stringify(summary, null, 2));
if (logPath) await writeFileAtomic(logPath, `${JSON.stringify({ summary, rows }, null, 1)}\n`);
const main = (mode === 'vad' ? summary.fromSpeechStoppedMs : summary.fromEndOfSpeechMs) as { p50: number; p95: number };
console.log(
  `first audio after end of turn (${mode}): p50 ${main.p50} ms, p95 ${main.p95} ms over ${timed.length} turns with audio (${turns - timed.length} without) — GPT-4o: 232 ms min, 320 ms mean (ratio p50/320: ${(main.p50 / 320).toFixed(2)})`,
);
