/**
 * loadOmni as the realtime server calls it (contract.ts). A tiny omni model is made here: speech and
 * image tokenizers trained two steps on random frames and images, the bundled MCNN as the vocoder,
 * and a tiny GPT trained to memorise two exchanges — typed "hi" → the words "yes" → 96 speech codes
 * in a preset voice (twelve chunks of audio) — and, heard first (vocab.ts), a spoken question
 * (a fixed noise clip) transcribed "ok" and answered "no" in a preset voice.
 *
 * Oracles: the memorised answer (written here); whole-utterance decoding and vocoding of the same
 * codes (the streamed audio must equal it when the stream waits for the decoder's full context, and
 * match its length otherwise); the order of events (audio deltas go out while codes are still
 * being sampled); wall-clock time from abort to the end of the iteration.
 */
import { getEventListeners } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../../../src/engine/checkpoint.ts';
import { Runtime } from '../../../src/engine/runtime.ts';
import { TonyError } from '../../../src/errors.ts';
import { loadModel } from '../../../src/models/index.ts';
import { canRealtime, type OmniDelta } from '../../../src/models/omni/contract.ts';
import { imageVQConfig, imageVQTask, type ShapeImage } from '../../../src/models/omni/images.ts';
import { loadOmni, Speaker, type TonyOmni } from '../../../src/models/omni/model.ts';
import { loadSpeechTokenizer, type SpeechClip, speechVQTask, toMagnitude } from '../../../src/models/omni/speech-codec.ts';
import { SPEECH_BINS, speechVQConfig } from '../../../src/models/omni/speech-vq.ts';
import { type Example, qaExample } from '../../../src/models/omni/tasks.ts';
import { omniConfig, omniTask } from '../../../src/models/omni/train.ts';
import { OmniVocab } from '../../../src/models/omni/vocab.ts';
import { trainWithRecipe } from '../../../src/models/recipe.ts';
import { prng } from '../../../src/random.ts';
import { trainBpe } from '../../../src/text/bpe.ts';

const ANSWER_CODES = Array.from({ length: 96 }, (_, i) => (i * 7) % 16);
/** The spoken question: 0.5 s of seeded noise, whatever codes the tiny tokenizer gives it. */
const QUESTION = (() => {
  const r = prng(7);
  return Float32Array.from({ length: 8000 }, () => 0.3 * r.normal());
})();
const SPOKEN_ANSWER_CODES = Array.from({ length: 16 }, (_, i) => (i * 5) % 16);
const HOP = 256;
let dir: string;
let model: TonyOmni;

async function trainTo(out: string, task: Parameters<typeof trainWithRecipe>[1], steps: number, lr: number) {
  const rt = await Runtime.start({ threads: 1 });
  try {
    await trainWithRecipe(rt, task, {
      steps,
      lr,
      warmup: 1,
      seed: 0,
      evalEvery: steps,
      evalBatches: 1,
      checkpointEvery: steps,
      out,
      resume: false,
    });
  } finally {
    await rt.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-omni-'));
  const g = prng(1);
  // Speech tokenizer: 16 codes, random log-magnitude frames (two steps: a codebook, not a good one).
  const speechCfg = speechVQConfig({ width: 8, depth: 1, codes: 16, codeWidth: 4, segment: 8 });
  const clip = (id: string): SpeechClip => ({
    id,
    voice: id,
    frames: 16,
    logMag: Float32Array.from({ length: 16 * SPEECH_BINS }, () => g.normal()),
  });
  await trainTo(
    join(dir, 'speech'),
    speechVQTask(speechCfg, { train: [clip('a'), clip('b')], val: [clip('c')] }, { batch: 2, seed: 0 }),
    2,
    1e-3,
  );
  // Image tokenizer: 8 codes, random images.
  const img = (caption: string): ShapeImage => ({
    caption,
    size: 'small',
    color: 'red',
    shape: 'cube',
    rgb: Float32Array.from({ length: 32 * 32 * 3 }, () => g.next()),
  });
  await trainTo(
    join(dir, 'image'),
    imageVQTask(imageVQConfig({ hidden: 8, codes: 8, codeWidth: 4 }), { train: [img('a')], val: [img('b')] }, { batch: 1, seed: 0 }),
    2,
    1e-3,
  );
  // The transformer: one exchange, memorised.
  const bpe2 = await trainBpe(['hi', 'yes', 'ok', 'no'], { vocabSize: 270 });
  const vocab = new OmniVocab(bpe2, 16, 8, ['en-us+m3', 'en-gb+f2'], true);
  const speechTok = await loadSpeechTokenizer(join(dir, 'speech'), { threads: 1 });
  const questionCodes = await speechTok.encode(QUESTION);
  await speechTok.close();
  const ex: Example = qaExample(vocab, { text: 'hi' }, 'yes', 'en-gb+f2', ANSWER_CODES);
  const spoken: Example = qaExample(vocab, { codes: questionCodes, heard: 'ok' }, 'no', 'en-us+m3', SPOKEN_ANSWER_CODES);
  const data = { dir, vocab, train: [ex, spoken], val: [ex], components: { vocoder: resolve('models/mcnn') } };
  const cfg = omniConfig({ blockSize: 128, nLayer: 1, nHead: 2, dModel: 32 });
  await trainTo(join(dir, 'omni'), omniTask(cfg, data, { batch: 4, seed: 0 }), 200, 1e-2);
  // A model directory: the checkpoint with its parts beside it (the vocoder from the config).
  const { latestCheckpoint, loadCheckpoint } = await import('../../../src/engine/checkpoint.ts');
  const ck = await loadCheckpoint((await latestCheckpoint(join(dir, 'omni')))!.dir);
  await saveCheckpoint(join(dir, 'omni'), ck);
  for (const part of ['speech', 'image']) {
    const p = await loadCheckpoint((await latestCheckpoint(join(dir, part)))!.dir);
    await saveCheckpoint(join(dir, 'omni', part), p);
  }
  model = await loadOmni(join(dir, 'omni'), { threads: 1 });
}, 240_000);

afterAll(async () => {
  await model?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function collect(it: AsyncIterable<OmniDelta>) {
  const out: OmniDelta[] = [];
  for await (const d of it) out.push(d);
  return out;
}

const ask = (signal: AbortSignal, modalities: ('text' | 'audio')[] = ['audio', 'text']) =>
  model.respond([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], {
    modalities,
    voice: 'en-gb+f2',
    temperature: 0,
    maxOutputTokens: 120,
    signal,
  });

describe('loadOmni (OmniModel)', () => {
  it('is found through the registry with the realtime capability and its preset voices', async () => {
    expect(canRealtime(model)).toBe(true);
    expect(model.voices).toEqual(['en-us+m3', 'en-gb+f2']);
    expect(model.sampleRate).toBe(16000);
    const again = await loadModel(join(dir, 'omni'), { threads: 1 });
    expect(again.kind).toBe('omni');
    await again.close();
  });

  it('streams the transcript, then audio in chunks while the codes are still being sampled', async () => {
    await collect(ask(new AbortController().signal)); // builds the graphs, so the run below is timed warm
    const events: string[] = [];
    model.onEvent = (e) => events.push(e.type);
    const deltas = await collect(ask(new AbortController().signal));
    model.onEvent = undefined;
    const transcript = deltas
      .filter((d) => d.type === 'transcript')
      .map((d) => (d as { text: string }).text)
      .join('');
    expect(transcript).toBe('yes');
    const audio = deltas.filter((d) => d.type === 'audio') as Array<{ pcm: Float32Array }>;
    expect(audio.length).toBeGreaterThanOrEqual(3);
    // 96 codes → 192 frames of hop 256 → the vocoder's samples for them.
    expect(audio.reduce((n, d) => n + d.pcm.length, 0)).toBe(ANSWER_CODES.length * 2 * HOP);
    expect(events.filter((e) => e === 'code').length).toBe(ANSWER_CODES.length);
    expect(events.indexOf('audio')).toBeLessThan(events.lastIndexOf('code'));
  }, 60_000);

  it('answers in text alone when asked for text, leaving no listener on the signal', async () => {
    const signal = new AbortController().signal;
    const deltas = await collect(ask(signal, ['text']));
    expect(getEventListeners(signal, 'abort')).toEqual([]); // a session's one signal serves many responses
    const done = deltas.pop()!;
    expect(deltas.every((d) => d.type === 'text')).toBe(true);
    expect(deltas.map((d) => (d as { text: string }).text).join('')).toBe('yes');
    // Read: <|text|> "hi" <|end|> <|answer|>; written: <|text|> "yes" <|end|> (the stop, written too).
    const hi = model.vocab.text('hi').length;
    const yes = model.vocab.text('yes').length;
    expect(done).toEqual({
      type: 'done',
      reason: 'completed',
      usage: { input: { text: hi + 3, audio: 0 }, output: { text: yes + 2, audio: 0 } },
    });
  }, 60_000);

  it('reports the tokens read and written, and a response cut by maxOutputTokens', async () => {
    const deltas = await collect(ask(new AbortController().signal));
    const done = deltas.at(-1)!;
    const samples = deltas.reduce((n, d) => n + (d.type === 'audio' ? d.pcm.length : 0), 0);
    // Written: <|text|> "yes" <|end|>, the voice and <|speech|> (forced), 96 codes, <|turn|>.
    const yes = model.vocab.text('yes').length;
    expect(done).toEqual({
      type: 'done',
      reason: 'completed',
      usage: { input: { text: model.vocab.text('hi').length + 3, audio: 0 }, output: { text: yes + 5, audio: samples / (2 * HOP) } },
    });
    expect(samples / (2 * HOP)).toBe(ANSWER_CODES.length);
    const cut = await collect(
      model.respond([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], {
        modalities: ['audio', 'text'],
        voice: 'en-gb+f2',
        temperature: 0,
        maxOutputTokens: 20,
        signal: new AbortController().signal,
      }),
    );
    const last = cut.at(-1)!;
    expect(last.type === 'done' && last.reason).toBe('max_output_tokens');
    expect(last.type === 'done' && last.usage.output.text + last.usage.output.audio).toBe(20);
    expect(last.type === 'done' && last.usage.output.audio).toBe(20 - (yes + 4));
  }, 60_000);

  it('ends promptly when the signal aborts, with no audio after it', async () => {
    const ac = new AbortController();
    const seen: OmniDelta[] = [];
    let abortedAt = 0;
    for await (const d of ask(ac.signal)) {
      if (abortedAt) seen.push(d);
      if (!abortedAt && d.type === 'transcript') {
        abortedAt = performance.now();
        ac.abort();
      }
    }
    expect(abortedAt).toBeGreaterThan(0);
    expect(performance.now() - abortedAt).toBeLessThan(200);
    expect(seen.filter((d) => d.type === 'audio')).toEqual([]);
  }, 60_000);

  it('hears a spoken question first, then answers what it heard, in words and then in speech', async () => {
    const v = model.vocab;
    expect(v.heardFirst).toBe(true);
    expect(await model.transcribe(QUESTION, new AbortController().signal)).toBe('ok');
    const deltas = await collect(
      model.respond([{ role: 'user', content: [{ type: 'audio', pcm: QUESTION }] }], {
        modalities: ['audio', 'text'],
        voice: 'en-us+m3',
        temperature: 0,
        maxOutputTokens: 120,
        signal: new AbortController().signal,
      }),
    );
    // The transcript streamed is the answer's words, not the question's.
    const said = deltas
      .filter((d) => d.type === 'transcript')
      .map((d) => (d as { text: string }).text)
      .join('');
    expect(said).toBe('no');
    const samples = deltas.filter((d) => d.type === 'audio').reduce((n, d) => n + (d as { pcm: Float32Array }).pcm.length, 0);
    expect(samples).toBe(SPOKEN_ANSWER_CODES.length * 2 * HOP);
    // Written: <|text|> ok <|end|> <|answer|> (heard), then <|text|> no <|end|> <|voice|> <|speech|> codes <|turn|>.
    const [ok, no] = [v.text('ok').length, v.text('no').length];
    const done = deltas.at(-1)!;
    expect(done.type === 'done' && done.usage.output).toEqual({ text: 3 + ok + 5 + no, audio: SPOKEN_ANSWER_CODES.length });
    expect(done.type === 'done' && done.usage.input.text).toBe(3); // <|speech|> … <|end|> <|transcribe|>
  });

  it('refuses a voice that is not a preset', () => {
    expect(() =>
      model.respond([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], {
        modalities: ['audio', 'text'],
        voice: 'en-us+m1',
        temperature: 0,
        maxOutputTokens: 10,
        signal: new AbortController().signal,
      }),
    ).toThrow(TonyError);
  });

  it('streams exactly the whole-utterance audio when chunks wait for the full decoder context', async () => {
    const ids = Int32Array.from(ANSWER_CODES);
    const whole = await model.parts.vocoder.synthesize({
      mag: toMagnitude(await model.parts.speech.decode(ids)),
      frames: ids.length * 2,
      bins: SPEECH_BINS,
    });
    const parts: Float32Array[] = [];
    const s = new Speaker(model.parts, (pcm) => parts.push(pcm), model.parts.speech.context);
    for (const c of ANSWER_CODES) await s.push(c);
    await s.end();
    const streamed = Float32Array.from(parts.flatMap((p) => Array.from(p)));
    expect(streamed.length).toBe(whole.length);
    let err = 0;
    let ref = 0;
    for (let i = 0; i < whole.length; i++) {
      err = Math.max(err, Math.abs(streamed[i]! - whole[i]!));
      ref = Math.max(ref, Math.abs(whole[i]!));
    }
    expect(err).toBeLessThan(1e-4 * Math.max(1, ref));
  }, 60_000);
});
