/**
 * Measuring the omni model and its speech tokenizer (docs/results/omni.md).
 *
 * The independent recogniser: a closed-vocabulary template matcher. Every candidate phrase (e.g. the
 * 19 number words, or every answer the model was taught) is spoken by espeak-ng in the voice under
 * test; a clip is recognised as the candidate whose log-mel template is nearest under dynamic time
 * warping. It knows nothing of the omni model, its tokenizer or its vocoder — which is what makes it
 * a fair judge of text → speech and of the tokenizer's intelligibility — and it is weak in ways that
 * are easy to state: closed vocabulary, same voice as the templates, no language model.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { logMelSpectrogram } from '../../audio/mel.ts';
import { spectralConvergence, toDb } from '../../audio/metrics.ts';
import { speak } from '../../audio/speak.ts';
import { magnitude, stft } from '../../audio/stft.ts';
import { decodeWav, toMono } from '../../audio/wav.ts';
import type { Progress } from '../../progress.ts';
import type { MCNNVocoder } from '../mcnn/vocoder.ts';
import { renderShape, shapeWorld } from './images.ts';
import type { TonyOmni } from './model.ts';
import type { EvalItem } from './prepare.ts';
import { type SpeechTokenizer, toMagnitude } from './speech-codec.ts';
import { SPEECH_STFT } from './speech-vq.ts';
import { NUMBERS, PRESET_RATE, questionBank } from './tasks.ts';

const ANALYSIS = { nFft: SPEECH_STFT.nFft, hop: SPEECH_STFT.hop, winLength: SPEECH_STFT.winLength, window: 'hann' as const, center: true };

/** Log-mel features (frames, 40), each frame mean-removed across bands (loudness-invariant). */
function melFeatures(x: ArrayLike<number>): Float64Array[] {
  const { frames, nMels, db } = logMelSpectrogram(x, { sampleRate: SPEECH_STFT.sampleRate, nFft: 1024, hop: 256, nMels: 40, topDb: 60 });
  // Frames quieter than the clip's loudest by 50 dB are silence: trimmed so pauses do not count.
  const energy = Array.from({ length: frames }, (_, t) => Math.max(...db.subarray(t * nMels, (t + 1) * nMels)));
  const peak = Math.max(...energy);
  const out: Float64Array[] = [];
  for (let t = 0; t < frames; t++) {
    if (energy[t]! < peak - 50) continue;
    const f = db.slice(t * nMels, (t + 1) * nMels);
    const m = f.reduce((a, b) => a + b, 0) / nMels;
    out.push(f.map((v) => v - m));
  }
  return out;
}

/** DTW distance (Euclidean frame cost, steps (1,0) (0,1) (1,1)), normalised by the path bound n + m. */
export function dtw(a: readonly Float64Array[], b: readonly Float64Array[]): number {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return Number.POSITIVE_INFINITY;
  let prev = new Float64Array(m + 1).fill(Number.POSITIVE_INFINITY);
  prev[0] = 0;
  for (let i = 1; i <= n; i++) {
    const cur = new Float64Array(m + 1).fill(Number.POSITIVE_INFINITY);
    for (let j = 1; j <= m; j++) {
      let d = 0;
      const x = a[i - 1]!;
      const y = b[j - 1]!;
      for (let k = 0; k < x.length; k++) d += (x[k]! - y[k]!) ** 2;
      cur[j] = Math.sqrt(d) + Math.min(prev[j]!, cur[j - 1]!, prev[j - 1]!);
    }
    prev = cur;
  }
  return prev[m]! / (n + m);
}

/** The template recogniser for one voice: candidates spoken by espeak-ng, nearest by DTW. */
async function templateRecogniser(candidates: readonly string[], voice: string, delivery = { rate: PRESET_RATE, pitch: 50 }) {
  const [v, variant] = voice.split('+') as [string, string | undefined];
  const templates: Array<{ text: string; f: Float64Array[] }> = [];
  for (const c of candidates)
    templates.push({ text: c, f: melFeatures(await speak(c, { voice: v, ...(variant ? { variant } : {}), ...delivery })) });
  return (pcm: Float32Array): string => {
    const f = melFeatures(pcm);
    let best = templates[0]!;
    let bestD = Number.POSITIVE_INFINITY;
    for (const t of templates) {
      const d = dtw(f, t.f);
      if (d < bestD) [best, bestD] = [t, d];
    }
    return best.text;
  };
}

/** Levenshtein distance between two strings (characters). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** Lower case, punctuation removed, spaces collapsed: what "the same words" means here. */
export const normalise = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9 ]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

/** Speech codes → PCM through the tokenizer's decoder and the MCNN (whole utterance). */
export async function resynthesize(tok: SpeechTokenizer, vocoder: MCNNVocoder, codes: Int32Array): Promise<Float32Array> {
  const frames = await tok.decode(codes);
  return vocoder.synthesize({
    mag: toMagnitude(frames),
    frames: frames.length / (SPEECH_STFT.nFft / 2 + 1),
    bins: SPEECH_STFT.nFft / 2 + 1,
  });
}

/** SC (dB) of `est`'s magnitude spectrogram against `ref`'s, over the shorter length. */
export function scDb(ref: Float32Array, est: Float32Array): number {
  const n = Math.min(ref.length, est.length);
  const a = magnitude(stft(ref.subarray(0, n), ANALYSIS));
  const b = magnitude(stft(est.subarray(0, n), ANALYSIS));
  return toDb(spectralConvergence(a, b));
}

export interface Scores {
  [key: string]: { n: number; value: number; what: string };
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);

/**
 * Task accuracy of a trained omni model on a mixture's eval.jsonl (prepare.ts): per task and per
 * reason an item is held out. `limit` items per task (the CPU budget), in file order.
 */
export async function evaluateOmni(
  model: TonyOmni,
  mixDir: string,
  o: { limit?: number; onProgress?: (p: Progress) => void; log?: (line: string) => void } = {},
): Promise<Scores> {
  const items = (await readFile(join(mixDir, 'eval.jsonl'), 'utf8'))
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as EvalItem);
  const byTask = new Map<string, EvalItem[]>();
  for (const it of items) {
    const key = `${it.task}/${it.heldOut}`;
    const list = byTask.get(key) ?? [];
    if (list.length < (o.limit ?? 1e9)) list.push(it);
    byTask.set(key, list);
  }
  const total = [...byTask.values()].reduce((n, l) => n + l.length, 0);
  let done = 0;
  const tick = () => o.onProgress?.({ done: ++done, total });
  const log = o.log ?? (() => {});
  const signal = new AbortController().signal;
  const scores: Scores = {};
  const wav = async (p: string) => {
    const path = p.startsWith('/') ? p : join(mixDir, p);
    return Float32Array.from(toMono(decodeWav(new Uint8Array(await readFile(path)), path).audio));
  };
  const voice = model.voices[0]!;
  const answersAll = [...new Set(items.filter((i) => i.task === 'sqa').map((i) => i.expected))];
  const judgeAnswers = await templateRecogniser(answersAll, voice);
  // Text → speech is asked for held-out questions; the recogniser chooses among every question.
  const judgeQuestions = items.some((i) => i.task === 'tts')
    ? await templateRecogniser(
        questionBank().map((q) => q.question),
        voice,
      )
    : undefined;
  const world = shapeWorld();
  const renders = world.map((w) => renderShape(w.size, w.color, w.shape));

  for (const [key, list] of byTask) {
    const [task] = key.split('/');
    const right: number[] = [];
    const extra: number[] = [];
    const extra2: number[] = [];
    const extra3: number[] = [];
    const heardQuestion: number[] = [];
    for (const it of list) {
      if (task === 'sqa') {
        const question = await wav(it.wav!);
        const deltas = [];
        for await (const d of model.respond([{ role: 'user', content: [{ type: 'audio', pcm: question }] }], {
          modalities: ['audio', 'text'],
          voice,
          temperature: 0,
          maxOutputTokens: 160,
          signal,
        }))
          deltas.push(d);
        const said = deltas
          .filter((d) => d.type === 'transcript')
          .map((d) => (d as { text: string }).text)
          .join('');
        const pcm = concat(deltas.filter((d) => d.type === 'audio').map((d) => (d as { pcm: Float32Array }).pcm));
        right.push(normalise(said) === normalise(it.expected) ? 1 : 0);
        const heard = pcm.length ? judgeAnswers(pcm) : '';
        extra.push(normalise(heard) === normalise(it.expected) ? 1 : 0);
        extra3.push(heard !== '' && normalise(heard) === normalise(said) ? 1 : 0);
        const self = pcm.length ? await model.transcribe(pcm, signal) : '';
        extra2.push(normalise(self) === normalise(it.expected) ? 1 : 0);
        // Recognition apart from answering: the same network transcribing the question it was asked.
        const asked = await model.transcribe(question, signal);
        const q = normalise(it.input);
        heardQuestion.push(editDistance(normalise(asked), q) / Math.max(1, q.length));
        log(
          `${key}\t${it.voice}\t${it.input}\texpected ${it.expected}\tsaid ${JSON.stringify(said)}\theard ${JSON.stringify(heard)}\tself ${JSON.stringify(self)}\tquestion heard as ${JSON.stringify(asked)}`,
        );
      } else if (task === 'asr') {
        const got = await model.transcribe(await wav(it.wav!), signal);
        const ref = normalise(it.expected);
        right.push(editDistance(normalise(got), ref) / Math.max(1, ref.length));
        log(`${key}\t${it.voice}\t${JSON.stringify(it.expected)}\t→ ${JSON.stringify(got)}`);
      } else if (task === 'tqa') {
        const deltas = [];
        for await (const d of model.respond([{ role: 'user', content: [{ type: 'text', text: it.input }] }], {
          modalities: ['text'],
          voice,
          temperature: 0,
          maxOutputTokens: 16,
          signal,
        }))
          deltas.push(d);
        const said = deltas
          .filter((d) => d.type === 'text')
          .map((d) => d.text)
          .join('');
        right.push(normalise(said) === normalise(it.expected) ? 1 : 0);
        log(`${key}\t${it.input}\texpected ${it.expected}\tsaid ${JSON.stringify(said)}`);
      } else if (task === 'img2cap') {
        const w = world.findIndex((x) => x.caption === it.expected);
        const got = await model.caption(renders[w]!);
        const [g, e] = [normalise(got).split(' '), normalise(it.expected).split(' ')];
        right.push(normalise(got) === normalise(it.expected) ? 1 : 0);
        extra.push(g.slice(-1)[0] === e.slice(-1)[0] || normalise(got).endsWith(world[w]!.shape) ? 1 : 0); // shape named
        extra2.push(normalise(got).includes(world[w]!.color) ? 1 : 0);
        log(`${key}\t${JSON.stringify(it.expected)}\t→ ${JSON.stringify(got)}`);
      } else if (task === 'cap2img') {
        const img = await model.draw(it.input);
        const near = nearest(img, renders);
        const w = world.findIndex((x) => x.caption === it.input);
        right.push(near === w ? 1 : 0);
        extra.push(world[near]!.shape === world[w]!.shape ? 1 : 0);
        extra2.push(world[near]!.color === world[w]!.color ? 1 : 0);
        log(`${key}\t${JSON.stringify(it.input)}\tnearest render ${JSON.stringify(world[near]!.caption)}`);
      } else if (task === 'tts') {
        const codes = await model.speakCodes(it.input, voice);
        const pcm = codes.length
          ? await resynthesize(model.parts.speech, model.parts.vocoder, Int32Array.from(codes))
          : new Float32Array(0);
        const self = pcm.length ? await model.transcribe(pcm, signal) : '';
        const ref = normalise(it.expected);
        right.push(editDistance(normalise(self), ref) / Math.max(1, ref.length));
        const heard = pcm.length && judgeQuestions ? judgeQuestions(pcm) : '';
        extra.push(normalise(heard) === ref ? 1 : 0);
        log(
          `${key}\t${JSON.stringify(it.input)}\t${codes.length} codes\tself-transcribed ${JSON.stringify(self)}\theard ${JSON.stringify(heard)}`,
        );
      }
      tick();
    }
    const what: Record<string, [string, string?, string?]> = {
      sqa: [
        'answer words right (transcript)',
        'spoken answer recognised by the template recogniser',
        'spoken answer transcribed right by the model itself',
      ],
      asr: ['character error rate'],
      tqa: ['answer right'],
      img2cap: ['caption exact', 'shape named', 'colour named'],
      cap2img: ["nearest render is the caption's", 'nearest render has its shape', 'nearest render has its colour'],
      tts: [
        'character error rate of the model transcribing its own speech',
        'recognised by the template recogniser (nearest of all 252 questions)',
      ],
    };
    const w = what[task!]!;
    scores[key] = { n: right.length, value: mean(right), what: w[0] };
    if (extra.length) scores[`${key}:2`] = { n: extra.length, value: mean(extra), what: w[1]! };
    if (extra2.length) scores[`${key}:3`] = { n: extra2.length, value: mean(extra2), what: w[2]! };
    // The speech says what the transcript says (right or wrong): the one network's two outputs agree.
    if (extra3.length)
      scores[`${key}:4`] = { n: extra3.length, value: mean(extra3), what: 'spoken answer, recognised, equals the written answer' };
    if (heardQuestion.length)
      scores[`${key}:5`] = {
        n: heardQuestion.length,
        value: mean(heardQuestion),
        what: 'character error rate of the question, transcribed',
      };
  }
  return scores;
}

function nearest(img: Float32Array, renders: readonly Float32Array[]): number {
  let best = 0;
  let bestD = Number.POSITIVE_INFINITY;
  renders.forEach((r, i) => {
    let d = 0;
    for (let k = 0; k < r.length; k++) d += (r[k]! - img[k]!) ** 2;
    if (d < bestD) [best, bestD] = [i, d];
  });
  return best;
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The number words: the intelligibility proxy's closed vocabulary (the question bank's numbers). */
const WORDS = NUMBERS;

/**
 * The speech tokenizer on held-out voices. Spectral convergence (dB, lower is better) of
 * `clips` held-out corpus clips: the decoded magnitudes against the clip's own (the tokenizer
 * alone), and the waveform through tokenizer + MCNN (what a listener hears), beside the MCNN alone
 * on the true magnitudes (the vocoder's ceiling). Intelligibility proxy: the 19 number words spoken
 * in each voice, resynthesised, recognised by the template recogniser whose templates are the
 * original recordings — does each word stay nearer its own original than the other 18 (chance 1/19)?
 */
export async function tokenizerReport(
  tok: SpeechTokenizer,
  vocoder: MCNNVocoder,
  clips: ReadonlyArray<{ id: string; voice: string; pcm: Float32Array }>,
  voices: readonly string[],
  log: (line: string) => void = () => {},
) {
  const sc = { codes: [] as number[], resynth: [] as number[], mcnn: [] as number[] };
  const bins = SPEECH_STFT.nFft / 2 + 1;
  for (const c of clips) {
    const codes = await tok.encode(c.pcm);
    const frames = await tok.decode(codes);
    const ref = magnitude(stft(c.pcm, ANALYSIS));
    const n = Math.min(ref.length, frames.length);
    const dec = toMagnitude(frames);
    sc.codes.push(toDb(spectralConvergence(ref.subarray(0, n), dec.subarray(0, n))));
    const y = await vocoder.synthesize({ mag: dec, frames: frames.length / bins, bins });
    sc.resynth.push(scDb(c.pcm, y));
    const ceiling = await vocoder.synthesize({ mag: Float32Array.from(ref), frames: ref.length / bins, bins });
    sc.mcnn.push(scDb(c.pcm, ceiling));
    log(
      `sc\t${c.id}\t${c.voice}\tcodes ${sc.codes.at(-1)!.toFixed(2)}\tresynth ${sc.resynth.at(-1)!.toFixed(2)}\tmcnn ${sc.mcnn.at(-1)!.toFixed(2)}`,
    );
  }
  const words = { tokenizer: [] as number[], mcnn: [] as number[] };
  for (const voice of voices) {
    const [v, variant] = voice.split('+') as [string, string];
    const originals = [];
    for (const w of WORDS) originals.push(await speak(w, { voice: v, variant }));
    const templates = originals.map((x) => melFeatures(x));
    const recognise = (pcm: Float32Array) => {
      const f = melFeatures(pcm);
      let best = 0;
      templates.forEach((t, i) => {
        if (dtw(f, t) < dtw(f, templates[best]!)) best = i;
      });
      return best;
    };
    for (const [i, x] of originals.entries()) {
      const y = await resynthesize(tok, vocoder, await tok.encode(x));
      const S = magnitude(stft(x, ANALYSIS));
      const z = await vocoder.synthesize({ mag: Float32Array.from(S), frames: S.length / bins, bins });
      const [a, b] = [recognise(y), recognise(z)];
      words.tokenizer.push(a === i ? 1 : 0);
      words.mcnn.push(b === i ? 1 : 0);
      log(`word\t${voice}\t${WORDS[i]}\ttokenizer → ${WORDS[a]}\tmcnn → ${WORDS[b]}`);
    }
  }
  const sd = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
  return {
    clips: clips.length,
    scCodesDb: { mean: mean(sc.codes), sd: sd(sc.codes) },
    scResynthDb: { mean: mean(sc.resynth), sd: sd(sc.resynth) },
    scMcnnDb: { mean: mean(sc.mcnn), sd: sd(sc.mcnn) },
    wordsTokenizer: { n: words.tokenizer.length, accuracy: mean(words.tokenizer) },
    wordsMcnn: { n: words.mcnn.length, accuracy: mean(words.mcnn) },
    chance: 1 / WORDS.length,
  };
}
