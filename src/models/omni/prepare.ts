/**
 * The omni model's training mixture, made on this machine: espeak-ng speaks the questions in many
 * input voices and the answers in the preset voices, the speech corpus adds transcribed sentences,
 * the shapes world adds images and captions; the tokenizers turn all of it into ids of the one
 * vocabulary (vocab.ts), written as `tony train omni --data <dir>` reads it:
 *
 *   vocab.json     the vocabulary (BPE + code ranges + preset voices)
 *   components.json  absolute paths of the speech and image tokenizers and the vocoder
 *   train.jsonl    training examples {task, ids, from}
 *   val.jsonl      held-out examples (held-out voices, questions and captions): validation loss
 *   eval.jsonl     what eval.ts asks: held-out items with their expected answers (and WAVs in wavs/)
 *
 *   await prepareMixture({ speech: 'runs/omni/speech', image: 'runs/omni/image', corpus: 'data/speech', out: 'data/omni' });
 */
import { join, resolve } from 'node:path';
import { loadEntry, readDataset } from '../../audio/manifest.ts';
import { resample } from '../../audio/resample.ts';
import { speak } from '../../audio/speak.ts';
import { toMono, writeWav } from '../../audio/wav.ts';
import { writeFileAtomic } from '../../io.ts';
import type { Progress } from '../../progress.ts';
import { prng } from '../../random.ts';
import { trainBpe } from '../../text/bpe.ts';
import { isHeldOutCaption, loadImageTokenizer, renderShape, shapeWorld } from './images.ts';
import { isHeldOutVoice, loadSpeechTokenizer, type SpeechTokenizer } from './speech-codec.ts';
import { SPEECH_STFT } from './speech-vq.ts';
import {
  asrExample,
  cap2imgExample,
  type Example,
  HELD_OUT_VOICES,
  img2capExample,
  isHeldOutQuestion,
  lmExample,
  PRESET_RATE,
  PRESET_VOICES,
  qaExample,
  questionBank,
  TRAIN_VOICES,
  ttsExample,
  wordDrills,
} from './tasks.ts';
import { OmniVocab } from './vocab.ts';

export interface PrepareOptions {
  /** Speech tokenizer run (tony train omni-speech). */
  speech: string;
  /** Image tokenizer run (tony train omni-image). */
  image: string;
  /** MCNN vocoder the model speaks through (recorded for loadOmni; default models/mcnn). */
  vocoder?: string;
  /** Speech corpus with transcripts (tony audio corpus --kind speech). */
  corpus: string;
  out: string;
  /** Input voices per trained question (default 3). */
  voicesPerQuestion?: number;
  /** Word drills (tasks.ts `wordDrills`) spoken in training voices for speech → text (default 0). */
  drills?: number;
  /** Corpus clips longer than this are left out: they would not fit one context (default 5 s). */
  maxCorpusSeconds?: number;
  /** BPE vocabulary (default 512). */
  textVocab?: number;
  seed?: number;
  threads?: number;
  onProgress?: (p: Progress) => void;
}

/** One item eval.ts asks the trained model about. */
export interface EvalItem {
  task: 'sqa' | 'asr' | 'img2cap' | 'cap2img' | 'tqa' | 'tts';
  /** Why it is held out: 'voice', 'question' or 'caption'. */
  heldOut: string;
  voice?: string;
  /** The question, transcript or caption. */
  input: string;
  /** What a right answer says (sqa/tqa: the answer; asr: the transcript; img2cap: the caption). */
  expected: string;
  /** WAV (relative to the mixture directory) of spoken inputs. */
  wav?: string;
  /** Codes of the input (speech or image). */
  codes?: number[];
}

/** Input speaking settings drawn per clip: espeak's corpus ranges (src/audio/speech.ts). */
const drawDelivery = (rng: ReturnType<typeof prng>) => ({ rate: rng.int(140, 200), pitch: rng.int(30, 70) });

/**
 * The word drills of a mixture: text, input voice and delivery. They draw from their own stream, so
 * a mixture with drills is the one without them plus these, placed after the spoken answers.
 */
export function drillSpecs(count: number, seed: number): Array<{ text: string; voice: string; rate: number; pitch: number }> {
  const rng = prng(seed + 1_000_003);
  return wordDrills(count, rng).map((text) => ({ text, voice: rng.pick(TRAIN_VOICES), ...drawDelivery(rng) }));
}

/** Clips are padded to a multiple of this many samples before encoding (8 frames, 128 ms): few graph sizes. */
const ENCODE_BUCKET = 8 * SPEECH_STFT.hop;

export async function prepareMixture(o: PrepareOptions): Promise<{ train: number; val: number; eval: number }> {
  const rng = prng(o.seed ?? 0);
  const speechTok = await loadSpeechTokenizer(o.speech, { threads: o.threads });
  const imageTok = await loadImageTokenizer(o.image, { threads: o.threads });
  try {
    const questions = questionBank();
    const trained = questions.filter((q) => !isHeldOutQuestion(q));
    const corpus = (await readDataset(o.corpus)).filter(
      (e) => typeof e.text === 'string' && (e.seconds as number) <= (o.maxCorpusSeconds ?? 5),
    );
    const world = shapeWorld();

    // Clips to synthesize: [text, voice, delivery], encoded in one pass below.
    type Clip = { text: string; voice: string; rate: number; pitch: number; pcm?: Float32Array; codes?: number[] };
    const clips: Clip[] = [];
    const clip = (text: string, voice: string, d: { rate: number; pitch: number }) => {
      const c: Clip = { text, voice, ...d };
      clips.push(c);
      return c;
    };
    const preset = (text: string, voice: string) => clip(text, voice, { rate: PRESET_RATE, pitch: 50 });
    const trainQ = trained.map((q) => ({
      q,
      inputs: Array.from({ length: o.voicesPerQuestion ?? 3 }, () => clip(q.question, rng.pick(TRAIN_VOICES), drawDelivery(rng))),
      ttsQuestion: preset(q.question, rng.pick(PRESET_VOICES)),
    }));
    const answers = new Map<string, Clip[]>();
    for (const q of trained)
      if (!answers.has(q.answer))
        answers.set(
          q.answer,
          PRESET_VOICES.map((v) => preset(q.answer, v)),
        );
    // Held out: every question once in a held-out voice; the held-out questions once in a training voice.
    const evalQ = [
      ...questions.map((q, i) => ({
        q,
        heldOut: 'voice',
        c: clip(q.question, HELD_OUT_VOICES[i % HELD_OUT_VOICES.length]!, drawDelivery(rng)),
      })),
      ...questions
        .filter(isHeldOutQuestion)
        .map((q) => ({ q, heldOut: 'question', c: clip(q.question, rng.pick(TRAIN_VOICES), drawDelivery(rng)) })),
    ];

    const drills = drillSpecs(o.drills ?? 0, o.seed ?? 0).map((d) => clip(d.text, d.voice, d));

    let done = 0;
    const total = 2 * clips.length + corpus.length + world.length; // clips spoken and encoded, corpus clips encoded, images rendered
    const tick = (what: string) => o.onProgress?.({ done: ++done, total, info: { step: what } });
    for (const c of clips) {
      const [voice, variant] = c.voice.split('+') as [string, string];
      c.pcm = await speak(c.text, { voice, variant, rate: c.rate, pitch: c.pitch, sampleRate: SPEECH_STFT.sampleRate });
      tick('speak');
    }
    const corpusClips = [];
    for (const e of corpus) {
      const { audio } = await loadEntry(e);
      let x = toMono(audio);
      if (audio.sampleRate !== SPEECH_STFT.sampleRate) x = resample(x, audio.sampleRate, SPEECH_STFT.sampleRate);
      const voice = `${String(e.voice)}+${String(e.variant)}`;
      corpusClips.push({
        id: e.id,
        text: e.text as string,
        voice,
        pcm: Float32Array.from(x) as Float32Array,
        codes: undefined as number[] | undefined,
      });
    }
    // Encode longest-bucket-grouped so each graph size is built once.
    const all = [...clips, ...corpusClips];
    const order = all.map((_, i) => i).sort((a, b) => all[a]!.pcm!.length - all[b]!.pcm!.length);
    for (const i of order) {
      const c = all[i]!;
      c.codes = await encodeBucketed(speechTok, c.pcm!);
      tick('encode');
    }

    const texts = [
      ...questions.flatMap((q) => [q.question, q.answer]),
      ...corpus.map((e) => e.text as string),
      ...world.map((w) => w.caption),
    ];
    const bpe = await trainBpe(texts, { vocabSize: o.textVocab ?? 512 });
    const vocab = new OmniVocab(bpe, speechTok.cfg.codes, imageTok.cfg.codes, [...PRESET_VOICES], true);

    const train: Example[] = [];
    const val: Example[] = [];
    const evalItems: EvalItem[] = [];
    for (const { q, inputs, ttsQuestion } of trainQ) {
      const spoken = answers.get(q.answer)!;
      train.push(lmExample(vocab, `${q.question}? ${q.answer}.`));
      train.push(ttsExample(vocab, q.question, ttsQuestion.voice, ttsQuestion.codes!));
      for (const [k, c] of inputs.entries()) {
        const a = spoken[k % spoken.length]!;
        train.push(qaExample(vocab, { codes: c.codes!, heard: q.question }, q.answer, a.voice, a.codes!));
        train.push(asrExample(vocab, c.codes!, q.question));
      }
      const a = spoken[rng.int(0, spoken.length - 1)]!;
      train.push(qaExample(vocab, { text: q.question }, q.answer, a.voice, a.codes!));
    }
    for (const spoken of answers.values()) for (const a of spoken) train.push(ttsExample(vocab, a.text, a.voice, a.codes!));
    for (const d of drills) train.push(asrExample(vocab, d.codes!, d.text));
    for (const c of corpusClips) {
      if (isHeldOutVoice(c.voice)) {
        val.push(asrExample(vocab, c.codes!, c.text));
        evalItems.push({
          task: 'asr',
          heldOut: 'voice',
          voice: c.voice,
          input: c.text,
          expected: c.text,
          codes: c.codes!,
          wav: join(o.corpus, `wavs/${c.id}.wav`),
        });
      } else {
        train.push(asrExample(vocab, c.codes!, c.text));
        train.push(lmExample(vocab, c.text));
      }
    }
    for (const [i, { q, heldOut, c }] of evalQ.entries()) {
      const wav = `wavs/eval-${String(i).padStart(4, '0')}.wav`;
      await writeWav(join(o.out, wav), { sampleRate: SPEECH_STFT.sampleRate, channels: [Float64Array.from(c.pcm!)] });
      evalItems.push({ task: 'sqa', heldOut, voice: c.voice, input: q.question, expected: q.answer, wav, codes: c.codes! });
      val.push(asrExample(vocab, c.codes!, q.question));
    }
    for (const w of world) {
      const codes = Array.from(await imageTok.encode(renderShape(w.size, w.color, w.shape)));
      tick('image');
      if (isHeldOutCaption(w.caption)) {
        val.push(img2capExample(vocab, codes, w.caption), cap2imgExample(vocab, w.caption, codes));
        evalItems.push({ task: 'img2cap', heldOut: 'caption', input: w.caption, expected: w.caption, codes });
        evalItems.push({ task: 'cap2img', heldOut: 'caption', input: w.caption, expected: w.caption });
      } else {
        train.push(img2capExample(vocab, codes, w.caption), cap2imgExample(vocab, w.caption, codes));
      }
    }
    for (const q of questions.filter(isHeldOutQuestion)) {
      evalItems.push({ task: 'tqa', heldOut: 'question', input: q.question, expected: q.answer });
      evalItems.push({ task: 'tts', heldOut: 'question', voice: PRESET_VOICES[0], input: q.question, expected: q.question });
    }

    const jsonl = (rows: readonly unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
    await writeFileAtomic(join(o.out, 'vocab.json'), JSON.stringify(vocab.toJSON()));
    const components = { speech: resolve(o.speech), image: resolve(o.image), vocoder: resolve(o.vocoder ?? 'models/mcnn') };
    await writeFileAtomic(join(o.out, 'components.json'), JSON.stringify(components));
    await writeFileAtomic(join(o.out, 'train.jsonl'), jsonl(train));
    await writeFileAtomic(join(o.out, 'val.jsonl'), jsonl(val));
    await writeFileAtomic(join(o.out, 'eval.jsonl'), jsonl(evalItems));
    return { train: train.length, val: val.length, eval: evalItems.length };
  } finally {
    await speechTok.close();
    await imageTok.close();
  }
}

/** Codes of a clip, encoded padded with silence to a bucket and cut back to its own length. */
export async function encodeBucketed(tok: SpeechTokenizer, pcm: Float32Array): Promise<number[]> {
  const n = Math.ceil(pcm.length / ENCODE_BUCKET) * ENCODE_BUCKET;
  const x = new Float32Array(n);
  x.set(pcm);
  const codes = await tok.encode(x);
  const frames = Math.floor(pcm.length / SPEECH_STFT.hop) + 1; // centred STFT frames of the clip itself
  return Array.from(codes.subarray(0, Math.ceil(frames / 2)));
}
