/**
 * A trained omni model as the realtime server sees it (contract.ts: an OmniModel). The transformer
 * answers in words first, then speaks them in a preset voice; the speech codes it samples are
 * decoded and vocoded in chunks AS they come (speech tokenizer → log magnitudes → MCNN stream), so
 * the first audio leaves after the first chunk of codes, not after the whole answer.
 *
 *   const m = await loadOmni('models/omni');
 *   for await (const d of m.respond([{ role: 'user', content: [{ type: 'audio', pcm }] }],
 *       { modalities: ['audio', 'text'], voice: m.voices[0], temperature: 0.7, maxOutputTokens: 200, signal })) …
 *
 * A model directory holds the transformer's checkpoint and its parts: `speech/` (the speech
 * tokenizer), `image/` (the image tokenizer), `vocoder/` (an MCNN); a training run, which has none
 * of them, finds them where its mixture said (`components` in its config).
 */
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { latestCheckpoint, loadCheckpoint } from '../../engine/checkpoint.ts';
import { Runtime } from '../../engine/runtime.ts';
import { loadWeights } from '../../engine/state.ts';
import { TonyError } from '../../errors.ts';
import type { SpecialTokens, Tokenizer } from '../../text/tokenizer.ts';
import { generate } from '../gpt/generate.ts';
import { type GPTConfig, gptConfig } from '../gpt/gpt.ts';
import type { LoadOptions } from '../index.ts';
import { loadVocoder, type MCNNVocoder } from '../mcnn/vocoder.ts';
import type { OmniDelta, OmniItem, OmniModel, OmniResponseOptions } from './contract.ts';
import { type ImageTokenizer, loadImageTokenizer } from './images.ts';
import { loadSpeechTokenizer, type SpeechTokenizer, toMagnitude } from './speech-codec.ts';
import { FRAMES_PER_CODE, SPEECH_STFT } from './speech-vq.ts';
import { asrPrompt, captionPrompt, drawPrompt, questionPrompt, spokenReply } from './tasks.ts';
import { OmniVocab, type OmniVocabJSON } from './vocab.ts';

/** Codes decoded and vocoded per chunk: 8 codes = 256 ms of speech. */
const CHUNK_CODES = 8;
/**
 * Codes of right context a chunk waits for before it is decoded (the decoder looks ±context codes;
 * waiting for all of them would hold back ~300 ms). 3 codes = 96 ms; the small difference from
 * whole-utterance decoding this leaves is measured in docs/results/omni.md.
 */
const LOOKAHEAD_CODES = 3;
/** Room for the question's transcript in a heard-first vocabulary (tokens written before the answer). */
const HEARD_ROOM = 32;
/** Room kept for the answer when a long spoken question is cut to fit the context. */
const ANSWER_ROOM = 96;

/**
 * The vocabulary as a Tokenizer for generate(): id i is the one code point U+F0000 + i (Unicode's
 * supplementary private-use plane), so the streamed "text" is the id sequence itself — nothing is
 * merged or lost by byte-level decoding — and generation stops on <|turn|>.
 */
const PUA = 0xf0000;
class IdTokenizer implements Tokenizer {
  readonly name = 'omni-ids';
  readonly vocabSize: number;
  readonly special: SpecialTokens;
  constructor(v: OmniVocab) {
    this.vocabSize = v.size;
    const pad = v.marker('pad');
    this.special = { eot: v.marker('turn'), fimPrefix: pad, fimMiddle: pad, fimSuffix: pad };
  }
  encode(text: string): number[] {
    return Array.from(text, (ch) => ch.codePointAt(0)! - PUA);
  }
  decode(ids: readonly number[]): string {
    return String.fromCodePoint(...ids.map((i) => PUA + i));
  }
  decodeBytes(ids: readonly number[]): Uint8Array {
    return new TextEncoder().encode(this.decode(ids));
  }
  toJSON(): Record<string, unknown> {
    return { kind: this.name };
  }
}

export interface OmniParts {
  speech: SpeechTokenizer;
  image: ImageTokenizer;
  vocoder: MCNNVocoder;
}

export class TonyOmni implements OmniModel {
  readonly kind = 'omni';
  readonly capabilities = ['realtime', 'transcribe'] as const;
  readonly sampleRate = SPEECH_STFT.sampleRate;
  readonly voices: readonly string[];
  private readonly ids: IdTokenizer;
  /**
   * Observes a response as it runs: each speech code when it is sampled, each audio delta when it
   * is emitted (tests check the order: audio goes out while codes are still being sampled).
   */
  onEvent?: (e: { type: 'code' | 'audio'; at: number }) => void;
  /** One generation at a time: the KV cache lives in the runtime's state. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly id: string,
    readonly cfg: Readonly<GPTConfig>,
    readonly vocab: OmniVocab,
    readonly runtime: Runtime,
    readonly parts: OmniParts,
  ) {
    this.voices = vocab.voices;
    this.ids = new IdTokenizer(vocab);
  }

  get provider(): string {
    return this.runtime.description;
  }

  /** Run `fn` after every generation queued before it. */
  private serial<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Generate after `prompt`, streaming each new id to `onId`; ends on <|turn|>, a stop id, the limit or the signal. */
  private sample(
    prompt: number[],
    o: {
      maxNewTokens: number;
      temperature: number;
      stop?: number[];
      force?: (ids: number[]) => number[] | undefined;
      signal?: AbortSignal;
      seed?: number;
    },
    onId?: (id: number) => void,
  ): Promise<number[]> {
    return this.generation(prompt, o, onId).then((g) => g.tokens);
  }

  /** `sample`, returning the generation with its finish reason ('length': the limit, not <|turn|> or a stop id). */
  private generation(
    prompt: number[],
    o: Parameters<TonyOmni['sample']>[1],
    onId?: (id: number) => void,
  ): Promise<{ tokens: number[]; finishReason: 'stop' | 'length' }> {
    const room = this.cfg.blockSize - prompt.length - 1;
    if (room < 1) throw new TonyError('usage', `the prompt is ${prompt.length} tokens; the omni model's context is ${this.cfg.blockSize}`);
    return this.serial(async () => {
      const [g] = await generate(this.runtime, this.cfg, this.ids, [prompt], {
        maxNewTokens: Math.min(o.maxNewTokens, room),
        temperature: o.temperature,
        ...(o.seed !== undefined ? { seed: o.seed } : {}),
        ...(o.stop ? { stopTokens: o.stop } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
        ...(o.force ? { force: (text: string) => this.ids.decode(o.force!(this.ids.encode(text)) ?? []) || undefined } : {}),
        ...(onId ? { onText: (_row: number, text: string) => this.ids.encode(text).forEach(onId) } : {}),
      });
      return g!;
    });
  }

  /** The prompt for the last user turn (the model is trained on single turns). */
  private async promptFor(conversation: readonly OmniItem[]): Promise<number[]> {
    const last = [...conversation].reverse().find((i) => i.role === 'user');
    if (!last) throw new TonyError('usage', 'the conversation has no user item to answer', 'add a user message (text or audio)');
    const audio = last.content.find((c) => c.type === 'audio');
    if (audio) {
      let codes = Array.from(await this.parts.speech.encode(audio.pcm));
      // The rooms are sized for the 256-token context; a smaller one still keeps a quarter for the question.
      const max = Math.max(this.cfg.blockSize >> 2, this.cfg.blockSize - ANSWER_ROOM - 3 - (this.vocab.heardFirst ? HEARD_ROOM : 0));
      if (codes.length > max) codes = codes.slice(codes.length - max); // keep the end: the question is last
      // Heard first: the network transcribes the question, and respond() then asks for the answer.
      return this.vocab.heardFirst ? asrPrompt(this.vocab, codes) : questionPrompt(this.vocab, { codes });
    }
    const text = last.content.find((c) => c.type === 'text');
    if (!text || text.text.trim() === '')
      throw new TonyError('usage', 'the last user item has neither audio nor text', 'send audio or text');
    return questionPrompt(this.vocab, { text: text.text });
  }

  async transcribe(pcm: Float32Array, signal: AbortSignal): Promise<string> {
    if (pcm.length === 0) return '';
    const prompt = asrPrompt(this.vocab, await this.parts.speech.encode(pcm));
    const ids = await this.sample(prompt, { maxNewTokens: 64, temperature: 0, stop: [this.vocab.marker('end')], signal });
    return this.vocab.decodeText(ids).trim();
  }

  /** Caption a 32 × 32 RGB image (images.ts) — image → text. */
  async caption(rgb: Float32Array, signal?: AbortSignal): Promise<string> {
    const prompt = captionPrompt(this.vocab, await this.parts.image.encode(rgb));
    const ids = await this.sample(prompt, {
      maxNewTokens: 24,
      temperature: 0,
      stop: [this.vocab.marker('end')],
      ...(signal ? { signal } : {}),
    });
    return this.vocab.decodeText(ids).trim();
  }

  /** Draw a caption — text → image: 16 image codes sampled, decoded to (32, 32, 3). */
  async draw(caption: string, o: { temperature?: number; seed?: number } = {}): Promise<Float32Array> {
    const ids = await this.sample(drawPrompt(this.vocab, caption), {
      maxNewTokens: 17,
      temperature: o.temperature ?? 0,
      stop: [this.vocab.marker('end')],
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
    });
    const codes = ids.filter(this.vocab.isImage).map((i) => i - this.vocab.image0);
    while (codes.length < 16) codes.push(codes.at(-1) ?? 0); // a short answer repeats its last patch
    return this.parts.image.decode(Int32Array.from(codes.slice(0, 16)));
  }

  /** Speak `text` in a preset voice — text → speech: the codes sampled (no vocoding). */
  async speakCodes(text: string, voice: string, o: { temperature?: number; seed?: number } = {}): Promise<number[]> {
    const v = this.vocab;
    const prompt = [v.marker('text'), ...v.text(text), v.marker('end'), ...spokenReply(v, voice)];
    const ids = await this.sample(prompt, {
      maxNewTokens: 200,
      temperature: o.temperature ?? 0,
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
    });
    return ids.filter(v.isSpeech).map((i) => i - v.speech0);
  }

  respond(conversation: readonly OmniItem[], options: OmniResponseOptions): AsyncIterable<OmniDelta> {
    const v = this.vocab;
    const audio = options.modalities.includes('audio');
    if (audio && !this.voices.includes(options.voice))
      throw new TonyError(
        'usage',
        `voice '${options.voice}' is not one of this model's preset voices`,
        `voices: ${this.voices.join(', ')}`,
      );
    const out = new DeltaQueue();
    const end = v.marker('end');
    const speaker = audio
      ? new Speaker(this.parts, (pcm) => {
          this.onEvent?.({ type: 'audio', at: performance.now() });
          out.push({ type: 'audio', pcm });
        })
      : undefined;
    const decoder = new TextDecoder();
    let phase: 'text' | 'speech' = 'text';
    let work: Promise<void> = Promise.resolve();
    const onId = (id: number) => {
      if (options.signal.aborted) return;
      if (phase === 'text') {
        if (v.isText(id)) {
          const s = decoder.decode(v.bpe.decodeBytes([id]), { stream: true });
          if (s) out.push({ type: audio ? 'transcript' : 'text', text: s });
        } else if (id === end) phase = 'speech';
      } else if (v.isSpeech(id)) {
        const code = id - v.speech0;
        this.onEvent?.({ type: 'code', at: performance.now() });
        work = work.then(() => speaker!.push(code));
      }
    };
    // In audio mode the answer's <|end|> is followed by the voice and <|speech|>, forced: the model
    // speaks in the voice asked for, never one it picks.
    const force = (ids: number[]) => (ids.at(-1) === end && !ids.includes(v.marker('speech')) ? spokenReply(v, options.voice) : undefined);
    // Abort ends the iteration at once; the listener goes when the response does (a server reuses
    // one signal per session across many responses).
    const onAbort = () => out.close();
    options.signal.addEventListener('abort', onAbort, { once: true });
    (async () => {
      try {
        const asked = await this.promptFor(conversation);
        let prompt = asked;
        if (v.heardFirst && asked[0] === v.marker('speech')) {
          const heard = await this.sample(asked, { maxNewTokens: HEARD_ROOM, temperature: 0, stop: [end], signal: options.signal });
          prompt = [...asked, ...heard, end, v.marker('answer')];
        }
        const g = await this.generation(
          prompt,
          {
            maxNewTokens: options.maxOutputTokens,
            temperature: options.temperature,
            signal: options.signal,
            ...(audio ? { force } : { stop: [end] }),
          },
          onId,
        );
        const tail = decoder.decode();
        if (tail && !options.signal.aborted) out.push({ type: audio ? 'transcript' : 'text', text: tail });
        await work;
        if (speaker && !options.signal.aborted) await speaker.end();
        if (!options.signal.aborted) {
          const count = (ids: number[]) => {
            const audio = ids.filter(v.isSpeech).length;
            return { text: ids.length - audio, audio };
          };
          out.push({
            type: 'done',
            reason: g.finishReason === 'length' ? 'max_output_tokens' : 'completed',
            // the <|turn|> or <|end|> that stopped it was written too, though generate() leaves it out
            usage: {
              input: count(asked),
              output: count([...prompt.slice(asked.length), ...(g.finishReason === 'stop' ? [...g.tokens, end] : g.tokens)]),
            },
          });
        }
        out.close();
      } catch (err) {
        out.fail(err);
      } finally {
        options.signal.removeEventListener('abort', onAbort);
      }
    })();
    return out;
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    await Promise.all([this.runtime.close(), this.parts.speech.close(), this.parts.image.close(), this.parts.vocoder.close()]);
  }
}

/**
 * Speech codes → PCM as they arrive: every CHUNK_CODES codes that have LOOKAHEAD_CODES after them
 * are decoded (with all their left context) to log magnitudes and pushed into the MCNN's stream;
 * whatever samples the vocoder has made final go out at once.
 */
export class Speaker {
  private codes: number[] = [];
  /** Codes whose frames have been pushed to the vocoder. */
  private done = 0;
  private readonly stream;

  constructor(
    private readonly parts: Pick<OmniParts, 'speech' | 'vocoder'>,
    private readonly emit: (pcm: Float32Array) => void,
    private readonly lookahead = LOOKAHEAD_CODES,
    private readonly chunk = CHUNK_CODES,
  ) {
    this.stream = parts.vocoder.stream({ chunkFrames: chunk * FRAMES_PER_CODE });
  }

  async push(code: number): Promise<void> {
    this.codes.push(code);
    if (this.codes.length - this.lookahead - this.done >= this.chunk) await this.flush(this.done + this.chunk);
  }

  /** The answer is over: decode what is left (zero vectors after it, as whole decoding pads). */
  async end(): Promise<void> {
    if (this.codes.length > this.done) await this.flush(this.codes.length);
    const y = await this.stream.end();
    if (y.length) this.emit(y);
  }

  private async flush(to: number): Promise<void> {
    const ids = Int32Array.from(this.codes);
    // Decoded against the codes known now: left context complete, right context `lookahead` codes.
    const frames = await this.parts.speech.decodeRange(ids, this.done, to);
    this.done = to;
    const y = await this.stream.push(toMagnitude(frames));
    if (y.length) this.emit(y);
  }
}

/** An async iterable fed by push(): what respond() returns. */
class DeltaQueue implements AsyncIterable<OmniDelta> {
  private items: OmniDelta[] = [];
  private closed = false;
  private error: unknown;
  private wake: (() => void) | undefined;
  push(d: OmniDelta) {
    if (this.closed) return;
    this.items.push(d);
    this.wake?.();
  }
  close() {
    this.closed = true;
    this.wake?.();
  }
  fail(err: unknown) {
    this.error = err;
    this.close();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<OmniDelta> {
    for (;;) {
      if (this.items.length) {
        yield this.items.shift()!;
        continue;
      }
      if (this.error) throw this.error;
      if (this.closed) return;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }
}

/** Where a part lives: `<dir>/<name>` in a model directory, else where the mixture's config said. */
function partDir(dir: string, name: string, components: Record<string, unknown> | undefined): string {
  const inside = join(dir, name);
  if (existsSync(inside)) return inside;
  const there = components?.[name];
  if (typeof there === 'string' && existsSync(there)) return there;
  throw new TonyError(
    'checkpoint',
    `${dir} has no ${name}/ and its config names none that exists`,
    `copy the ${name} model into ${inside} (docs/results/omni.md says how the bundle is made)`,
  );
}

/** Load an omni model directory (or a `tony train omni` run with its parts where its mixture said). */
export async function loadOmni(dir: string, opts: LoadOptions = {}): Promise<TonyOmni> {
  const ck = await loadCheckpoint<{
    kind?: string;
    model?: Record<string, unknown>;
    vocab?: OmniVocabJSON;
    components?: Record<string, unknown>;
  }>((await latestCheckpoint(dir))?.dir ?? dir);
  if (ck.config.kind !== 'omni')
    throw new TonyError(
      'checkpoint',
      `${ck.dir} is not an omni checkpoint (kind '${String(ck.config.kind)}')`,
      'pass a tony train omni run or models/omni',
    );
  if (!ck.config.vocab) throw new TonyError('checkpoint', `${ck.dir} has no vocabulary in its config`, 'train it with tony train omni');
  const vocab = OmniVocab.fromJSON(ck.config.vocab);
  const cfg = gptConfig(ck.config.model);
  const components = ck.config.components;
  const sub = { device: opts.device, threads: opts.threads };
  const [speech, image, vocoder] = await Promise.all([
    loadSpeechTokenizer(partDir(dir, 'speech', components), sub),
    loadImageTokenizer(partDir(dir, 'image', components), sub),
    loadVocoder(partDir(dir, 'vocoder', components), sub),
  ]);
  if (vocoder.cfg.sampleRate !== SPEECH_STFT.sampleRate || vocoder.cfg.nFft !== SPEECH_STFT.nFft || vocoder.cfg.hop !== SPEECH_STFT.hop)
    throw new TonyError(
      'checkpoint',
      `the vocoder's analysis (${vocoder.cfg.sampleRate} Hz, n_fft ${vocoder.cfg.nFft}, hop ${vocoder.cfg.hop}) is not the speech tokenizer's`,
      'use an MCNN trained at 16 kHz, n_fft 1024, hop 256 (models/mcnn)',
    );
  if (speech.cfg.codes !== vocab.speechCodes || image.cfg.codes !== vocab.imageCodes)
    throw new TonyError(
      'checkpoint',
      `the tokenizers' codebooks (${speech.cfg.codes}, ${image.cfg.codes}) are not the vocabulary's (${vocab.speechCodes}, ${vocab.imageCodes})`,
      'load the tokenizers the mixture was made with',
    );
  const runtime = await Runtime.start({ device: opts.device, threads: opts.threads });
  await loadWeights(runtime, ck.params, { transfer: true }); // read for this alone
  return new TonyOmni(opts.id ?? basename(resolve(dir)), cfg, vocab, runtime, { speech, image, vocoder });
}
