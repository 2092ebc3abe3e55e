/**
 * The omni model's one vocabulary: text, speech and image tokens and the markers between them, in
 * one id space that one transformer reads and writes (PAPERS.md §10: "one transformer over a shared
 * token space").
 *
 *   [0, nText)                   text: Tony's byte-level BPE (src/text/bpe.ts), its 4 specials included
 *   [speech0, speech0 + S)       speech codes (speech-vq.ts, 31.25 per second)
 *   [image0, image0 + I)         image codes (images.ts, 16 per image)
 *   then the markers             <|text|> <|speech|> <|image|> <|end|> <|transcribe|> <|answer|>
 *                                <|caption|> <|draw|> <|pad|> <|turn|>, then one <|voice:…|> per preset
 *
 * Sequences (tasks.ts builds them): a segment is `<|modality|> tokens <|end|>`; a task marker says
 * what comes next; a spoken answer is `<|voice:v|> <|speech|> codes <|turn|>` — <|turn|> ends every
 * response, so generation stops on it.
 *
 *   text LM        <|text|> T <|end|> <|turn|>
 *   text → speech  <|text|> T <|end|> <|voice:v|> <|speech|> S <|turn|>
 *   speech → text  <|speech|> S <|end|> <|transcribe|> <|text|> T <|end|> <|turn|>
 *   spoken Q → A   <|speech|> Q <|end|> <|answer|> <|text|> A <|end|> <|voice:v|> <|speech|> S_A <|turn|>
 *   … heard first  <|speech|> Q <|end|> <|transcribe|> <|text|> Q' <|end|> <|answer|> <|text|> A <|end|> <|voice:v|> …
 *   image → text   <|image|> I <|end|> <|caption|> <|text|> C <|end|> <|turn|>
 *   text → image   <|text|> C <|end|> <|draw|> <|image|> I <|end|> <|turn|>
 *
 * The spoken answer writes its words first (the transcript the realtime API streams), then speaks
 * them: the speech is conditioned on text the model has just written, which a small model learns
 * far sooner than answering in speech directly.
 *
 * `heardFirst` vocabularies (every mixture prepared since) lay spoken questions out "heard first":
 * the network writes what it heard, then answers that text. A small model trained to answer speech
 * directly memorises each trained question's sound; the same network transcribes questions it never
 * heard far better than it answers them (docs/results/omni.md, "Heard first"), and answers typed
 * questions it never saw — so it answers through its own transcript.
 */
import { TonyError } from '../../errors.ts';
import { BpeTokenizer } from '../../text/bpe.ts';

export const MARKERS = ['text', 'speech', 'image', 'end', 'transcribe', 'answer', 'caption', 'draw', 'pad', 'turn'] as const;
export type Marker = (typeof MARKERS)[number];

export interface OmniVocabJSON {
  bpe: Record<string, unknown>;
  speechCodes: number;
  imageCodes: number;
  voices: string[];
  /** Spoken questions are transcribed before they are answered (absent: answered directly). */
  heardFirst?: boolean;
}

export type Piece =
  | { kind: 'text'; ids: number[] }
  | { kind: 'speech'; code: number }
  | { kind: 'image'; code: number }
  | { kind: 'marker'; marker: Marker }
  | { kind: 'voice'; voice: string };

export class OmniVocab {
  readonly nText: number;
  readonly speech0: number;
  readonly image0: number;
  readonly marker0: number;
  readonly voice0: number;
  readonly size: number;

  constructor(
    readonly bpe: BpeTokenizer,
    readonly speechCodes: number,
    readonly imageCodes: number,
    readonly voices: readonly string[],
    readonly heardFirst = false,
  ) {
    if (voices.length === 0) throw new TonyError('config', 'the omni vocabulary needs at least one preset voice');
    this.nText = bpe.vocabSize;
    this.speech0 = this.nText;
    this.image0 = this.speech0 + speechCodes;
    this.marker0 = this.image0 + imageCodes;
    this.voice0 = this.marker0 + MARKERS.length;
    this.size = this.voice0 + voices.length;
  }

  marker(m: Marker): number {
    return this.marker0 + MARKERS.indexOf(m);
  }
  voice(v: string): number {
    const i = this.voices.indexOf(v);
    if (i < 0) throw new TonyError('usage', `'${v}' is not one of this model's preset voices`, `voices: ${this.voices.join(', ')}`);
    return this.voice0 + i;
  }
  text(s: string): number[] {
    return this.bpe.encode(s);
  }
  speech(codes: ArrayLike<number>): number[] {
    return Array.from(codes, (c) => {
      if (!(c >= 0 && c < this.speechCodes)) throw new TonyError('data', `speech code ${c} is outside 0 … ${this.speechCodes - 1}`);
      return this.speech0 + c;
    });
  }
  image(codes: ArrayLike<number>): number[] {
    return Array.from(codes, (c) => {
      if (!(c >= 0 && c < this.imageCodes)) throw new TonyError('data', `image code ${c} is outside 0 … ${this.imageCodes - 1}`);
      return this.image0 + c;
    });
  }

  isText = (id: number) => id >= 0 && id < this.nText;
  isSpeech = (id: number) => id >= this.speech0 && id < this.image0;
  isImage = (id: number) => id >= this.image0 && id < this.marker0;

  /** What one id stands for. */
  piece(id: number): Piece {
    if (this.isText(id)) return { kind: 'text', ids: [id] };
    if (this.isSpeech(id)) return { kind: 'speech', code: id - this.speech0 };
    if (this.isImage(id)) return { kind: 'image', code: id - this.image0 };
    if (id >= this.marker0 && id < this.voice0) return { kind: 'marker', marker: MARKERS[id - this.marker0]! };
    if (id >= this.voice0 && id < this.size) return { kind: 'voice', voice: this.voices[id - this.voice0]! };
    throw new TonyError('data', `token ${id} is outside the omni vocabulary (0 … ${this.size - 1})`);
  }

  /** Text of the text ids in `ids` (others skipped). */
  decodeText(ids: readonly number[]): string {
    return this.bpe.decode(ids.filter(this.isText));
  }

  /** A readable rendering of any id sequence: text as text, the rest as <|…|> names. */
  show(ids: readonly number[]): string {
    let out = '';
    let run: number[] = [];
    const flush = () => {
      if (run.length) out += this.bpe.decode(run);
      run = [];
    };
    for (const id of ids) {
      const p = this.piece(id);
      if (p.kind === 'text') {
        run.push(id);
        continue;
      }
      flush();
      out +=
        p.kind === 'speech'
          ? `<s${p.code}>`
          : p.kind === 'image'
            ? `<i${p.code}>`
            : p.kind === 'marker'
              ? `<|${p.marker}|>`
              : `<|voice:${p.voice}|>`;
    }
    flush();
    return out;
  }

  toJSON(): OmniVocabJSON {
    return {
      bpe: this.bpe.toJSON(),
      speechCodes: this.speechCodes,
      imageCodes: this.imageCodes,
      voices: [...this.voices],
      ...(this.heardFirst ? { heardFirst: true } : {}),
    };
  }

  static fromJSON(j: OmniVocabJSON): OmniVocab {
    if (!j || typeof j !== 'object' || !j.bpe || !Array.isArray(j.voices))
      throw new TonyError('checkpoint', 'the omni vocabulary JSON is missing bpe or voices', 'make it with tony omni prepare');
    return new OmniVocab(BpeTokenizer.fromJSON(j.bpe), j.speechCodes, j.imageCodes, j.voices, j.heardFirst === true);
  }
}
