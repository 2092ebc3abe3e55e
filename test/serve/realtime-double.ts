/**
 * TEST FIXTURE — an OmniModel double (src/models/omni/contract.ts) for the realtime server's tests
 * and bench/realtime.ts. It is not a model: it answers from rules whose output the tests can
 * compute by hand, so every event path of /v1/realtime can be checked against known values. The
 * real model comes from src/models/omni.
 *
 * - It "hears" a user audio turn as its duration and dominant frequency (zero crossings), and a
 *   text turn as its words; it answers `ANSWER_PREFIX` + what it heard, word by word.
 * - Each word: a transcript delta, then `audioChunkMs` of a sine at the voice's frequency
 *   (`VOICE_HZ`) at amplitude 0.5 — audio whose resampled 24 kHz form is known analytically.
 * - `stepMs` of (abortable) waiting before each word stands in for generation time.
 * - `voiceAudio` replaces the sine by given PCM (e.g. an espeak-ng clip) for the voice-safety tests.
 * - A text turn "fail" makes `respond` throw after its first word; "forever" never ends by itself.
 * - Its last delta reports usage by rule (a text token per word, an audio token per 20 ms heard and
 *   per word spoken) and 'max_output_tokens' when maxOutputTokens cut the answer.
 */
import type { OmniDelta, OmniItem, OmniModel, OmniResponseOptions } from '../../src/models/omni/contract.ts';

export const VOICE_HZ: Record<string, number> = { ash: 440, sage: 660 };
export const ANSWER_PREFIX = 'you said';
const KEEP_CALLS = 8;

export interface DoubleOptions {
  sampleRate?: number;
  stepMs?: number;
  audioChunkMs?: number;
  /** Audio to speak instead of the voice's sine, cut into chunks. */
  voiceAudio?: Float32Array;
}

export class OmniDouble implements OmniModel {
  readonly kind = 'omni-double';
  readonly id = 'omni-double';
  readonly capabilities = ['realtime'] as const;
  readonly provider = 'test double (no runtime)';
  readonly voices = Object.keys(VOICE_HZ);
  readonly sampleRate: number;
  /** The last `KEEP_CALLS` conversations respond() was called with, and their options (a bounded record: the memory test counts what the server keeps, not the double). */
  readonly calls: { conversation: readonly OmniItem[]; options: OmniResponseOptions }[] = [];
  /** respond() generators running now. */
  active = 0;
  stepMs: number;
  audioChunkMs: number;
  voiceAudio: Float32Array | undefined;

  constructor(o: DoubleOptions = {}) {
    this.sampleRate = o.sampleRate ?? 16000;
    this.stepMs = o.stepMs ?? 0;
    this.audioChunkMs = o.audioChunkMs ?? 40;
    this.voiceAudio = o.voiceAudio;
  }

  async transcribe(pcm: Float32Array, signal: AbortSignal): Promise<string> {
    await sleep(this.stepMs, signal);
    return hear(pcm, this.sampleRate);
  }

  async *respond(conversation: readonly OmniItem[], options: OmniResponseOptions): AsyncIterable<OmniDelta> {
    this.calls.push({ conversation, options });
    if (this.calls.length > KEEP_CALLS) this.calls.shift();
    this.active++;
    try {
      const last = [...conversation].reverse().find((it) => it.role === 'user');
      const heard = last?.content.map((c) => (c.type === 'text' ? c.text : hear(c.pcm, this.sampleRate))).join(' ') ?? 'nothing';
      if (heard === 'forever') {
        for (let i = 0; ; i++) {
          if (!(await sleep(Math.max(1, this.stepMs), options.signal))) return;
          yield* this.word(`w${i}`, i, options);
        }
      }
      const all = `${ANSWER_PREFIX} ${heard}`.split(' ');
      const words = all.slice(0, options.maxOutputTokens);
      for (let i = 0; i < words.length; i++) {
        if (!(await sleep(this.stepMs, options.signal))) return;
        if (heard === 'fail' && i === 1) throw new Error('the double failed on purpose');
        yield* this.word(words[i]!, i, options);
      }
      // Usage by rule: a text token per word read or written, an audio token per 20 ms heard and per word spoken.
      const read = { text: 0, audio: 0 };
      for (const c of last?.content ?? [])
        if (c.type === 'text') read.text += c.text.split(' ').length;
        else read.audio += Math.round(c.pcm.length / (0.02 * this.sampleRate));
      const spoken = options.modalities.includes('audio') ? words.length : 0;
      yield {
        type: 'done',
        reason: words.length < all.length ? 'max_output_tokens' : 'completed',
        usage: { input: read, output: { text: words.length, audio: spoken } },
      };
    } finally {
      this.active--;
    }
  }

  private *word(w: string, i: number, options: OmniResponseOptions): Generator<OmniDelta> {
    const text = i === 0 ? w : ` ${w}`;
    if (!options.modalities.includes('audio')) {
      yield { type: 'text', text };
      return;
    }
    yield { type: 'transcript', text };
    const n = Math.round((this.audioChunkMs * this.sampleRate) / 1000);
    const pcm = new Float32Array(n);
    if (this.voiceAudio) {
      const src = this.voiceAudio;
      for (let k = 0; k < n; k++) pcm[k] = src[(i * n + k) % src.length]!;
    } else {
      const w0 = (2 * Math.PI * VOICE_HZ[options.voice]!) / this.sampleRate;
      for (let k = 0; k < n; k++) pcm[k] = 0.5 * Math.sin(w0 * (i * n + k));
    }
    yield { type: 'audio', pcm };
  }

  async close(): Promise<void> {}
}

/** "<seconds> seconds at <hz> hertz": duration and zero-crossing frequency of a clip. */
export function hear(pcm: Float32Array, rate: number): string {
  let crossings = 0;
  for (let i = 1; i < pcm.length; i++) if (pcm[i - 1]! < 0 !== pcm[i]! < 0) crossings++;
  const seconds = pcm.length / rate;
  return `${seconds.toFixed(2)} seconds at ${Math.round(crossings / 2 / Math.max(seconds, 1e-9))} hertz`;
}

/** Wait `ms` unless aborted; false when aborted. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return new Promise((r) => setImmediate(() => r(!signal.aborted)));
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
