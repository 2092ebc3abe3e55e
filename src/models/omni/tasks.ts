/**
 * What the omni model is taught: questions a small model can learn (arithmetic, facts about the
 * shapes world, echo), the preset output voices, and the token sequences of the six tasks
 * (vocab.ts lists their layouts). Pure functions: prepare.ts synthesizes and encodes, this says what.
 */
import { SPEECH_VARIANTS, SPEECH_VOICES } from '../../audio/speech.ts';
import { TonyError } from '../../errors.ts';
import { COLORS, SHAPES } from '../../shape/scenes.ts';
import { isHeldOutVoice, unitHash } from './speech-codec.ts';
import type { OmniVocab } from './vocab.ts';

/**
 * The preset output voices (espeak-ng voice+variant, spoken at PRESET_RATE words per minute and
 * pitch 50): every spoken answer is in one of these, and a response in any other is a defect.
 * A male US and a female British voice, so the two are easy to tell apart.
 */
export const PRESET_VOICES = ['en-us+m3', 'en-gb+f2'] as const;
export const PRESET_RATE = 165;

/** Every espeak voice+variant of the speech corpus: the input voices (held out by isHeldOutVoice). */
const INPUT_VOICES: readonly string[] = SPEECH_VOICES.flatMap((v) => SPEECH_VARIANTS.map((x) => `${v}+${x}`));
export const TRAIN_VOICES = INPUT_VOICES.filter((v) => !isHeldOutVoice(v));
export const HELD_OUT_VOICES = INPUT_VOICES.filter(isHeldOutVoice);

/** zero … eighteen: every number the arithmetic questions and answers use. */
export const NUMBERS = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
];

export interface Question {
  kind: 'arithmetic' | 'fact' | 'echo';
  question: string;
  answer: string;
}

/** Facts about the shapes world (src/shape/scenes.ts) and its geometry. */
const FACTS: ReadonlyArray<[string, string]> = [
  ['how many faces does a cube have', 'six'],
  ['how many corners does a cube have', 'eight'],
  ['how many faces does an octahedron have', 'eight'],
  ['how many corners does an octahedron have', 'six'],
  ['which shape looks like a ring', 'a torus'],
  ['which shape looks like a ball', 'a sphere'],
  ['which shape looks like a pill', 'a capsule'],
  ['which shape looks like a can', 'a cylinder'],
  ['which shape looks like a party hat', 'a cone'],
  ['which shape looks like a dice', 'a cube'],
  [`how many shapes are there`, NUMBERS[Object.keys(SHAPES).length]!],
  [`how many colours are there`, NUMBERS[Object.keys(COLORS).length]!],
  ['how many sizes are there', 'three'],
];

/** The question bank: sums and differences of digits, the facts, and "say <colour> <shape>". */
export function questionBank(): Question[] {
  const qs: Question[] = [];
  for (let a = 0; a <= 9; a++)
    for (let b = 0; b <= 9; b++) {
      qs.push({ kind: 'arithmetic', question: `what is ${NUMBERS[a]} plus ${NUMBERS[b]}`, answer: NUMBERS[a + b]! });
      if (a >= b) qs.push({ kind: 'arithmetic', question: `what is ${NUMBERS[a]} minus ${NUMBERS[b]}`, answer: NUMBERS[a - b]! });
    }
  for (const [question, answer] of FACTS) qs.push({ kind: 'fact', question, answer });
  for (const c of Object.keys(COLORS))
    for (const s of Object.keys(SHAPES))
      if (s !== 'rounded cube') qs.push({ kind: 'echo', question: `say ${c} ${s}`, answer: `${c} ${s}` });
  return qs;
}

/**
 * Questions never trained on (~10 % of sums, differences and echoes, by hash; facts are too few to
 * spare): whether the model generalises, beside held-out voices asking trained questions.
 */
export const isHeldOutQuestion = (q: Question) => q.kind !== 'fact' && unitHash(`q:${q.question}`) < 0.1;

/**
 * Word drills: strings of 2–6 words drawn uniformly from the question bank's words, to be spoken in
 * training voices and transcribed (speech → text). A trained question is one fixed code sequence per
 * voice, which a small model can memorise whole; a drill is new every time, so it can only be
 * transcribed word by word — as connected-digit corpora teach a recogniser. No drill contains what a
 * held-out question hinges on ("seven plus three", "red torus"), so held-out questions stay unheard.
 */
export function wordDrills(count: number, rng: { int: (lo: number, hi: number) => number; pick: <T>(xs: readonly T[]) => T }): string[] {
  const bank = questionBank();
  const words = [...new Set(bank.flatMap((q) => `${q.question} ${q.answer}`.split(' ')))].sort();
  const banned = bank.filter(isHeldOutQuestion).map((q) => q.question.replace(/^(what is|say) /, ''));
  const drills: string[] = [];
  while (drills.length < count) {
    const s = Array.from({ length: rng.int(2, 6) }, () => rng.pick(words)).join(' ');
    if (!banned.some((b) => ` ${s} `.includes(` ${b} `))) drills.push(s);
  }
  return drills;
}

/** The six task layouts of vocab.ts; `from` is where the loss starts (the response). */
export interface Example {
  task: 'lm' | 'tts' | 'asr' | 'sqa' | 'tqa' | 'img2cap' | 'cap2img';
  ids: number[];
  from: number;
}

export function lmExample(v: OmniVocab, text: string): Example {
  return { task: 'lm', ids: [v.marker('text'), ...v.text(text), v.marker('end'), v.marker('turn')], from: 0 };
}

/** The prompt of a spoken reply: what the model continues with `<|voice:v|> <|speech|>`. */
export const spokenReply = (v: OmniVocab, voice: string) => [v.voice(voice), v.marker('speech')];

export function ttsExample(v: OmniVocab, text: string, voice: string, codes: ArrayLike<number>): Example {
  const prompt = [v.marker('text'), ...v.text(text), v.marker('end')];
  return { task: 'tts', ids: [...prompt, ...spokenReply(v, voice), ...v.speech(codes), v.marker('turn')], from: prompt.length };
}

/** The prompt of speech → text: `<|speech|> S <|end|> <|transcribe|>`. */
export const asrPrompt = (v: OmniVocab, codes: ArrayLike<number>) => [
  v.marker('speech'),
  ...v.speech(codes),
  v.marker('end'),
  v.marker('transcribe'),
];

export function asrExample(v: OmniVocab, codes: ArrayLike<number>, text: string): Example {
  const prompt = asrPrompt(v, codes);
  return { task: 'asr', ids: [...prompt, v.marker('text'), ...v.text(text), v.marker('end'), v.marker('turn')], from: prompt.length };
}

/** The prompt of a question, spoken (codes) or typed (text): `<|speech|> Q <|end|> <|answer|>`. */
export function questionPrompt(v: OmniVocab, q: { codes: ArrayLike<number> } | { text: string }): number[] {
  const seg = 'codes' in q ? [v.marker('speech'), ...v.speech(q.codes)] : [v.marker('text'), ...v.text(q.text)];
  return [...seg, v.marker('end'), v.marker('answer')];
}

/**
 * A question answered in words, then spoken in a preset voice. A spoken question in a `heardFirst`
 * vocabulary is transcribed first (`heard`: its words), and the answer follows the transcript.
 */
export function qaExample(
  v: OmniVocab,
  q: { codes: ArrayLike<number>; heard?: string } | { text: string },
  answer: string,
  voice: string,
  answerCodes: ArrayLike<number>,
): Example {
  const reply = [
    v.marker('text'),
    ...v.text(answer),
    v.marker('end'),
    ...spokenReply(v, voice),
    ...v.speech(answerCodes),
    v.marker('turn'),
  ];
  if ('codes' in q && v.heardFirst) {
    if (q.heard === undefined) throw new TonyError('usage', 'a heard-first spoken question needs its words (heard)');
    const prompt = asrPrompt(v, q.codes);
    return {
      task: 'sqa',
      ids: [...prompt, v.marker('text'), ...v.text(q.heard), v.marker('end'), v.marker('answer'), ...reply],
      from: prompt.length,
    };
  }
  const prompt = questionPrompt(v, q);
  return { task: 'codes' in q ? 'sqa' : 'tqa', ids: [...prompt, ...reply], from: prompt.length };
}

export const captionPrompt = (v: OmniVocab, codes: ArrayLike<number>) => [
  v.marker('image'),
  ...v.image(codes),
  v.marker('end'),
  v.marker('caption'),
];

export function img2capExample(v: OmniVocab, codes: ArrayLike<number>, caption: string): Example {
  const prompt = captionPrompt(v, codes);
  return {
    task: 'img2cap',
    ids: [...prompt, v.marker('text'), ...v.text(caption), v.marker('end'), v.marker('turn')],
    from: prompt.length,
  };
}

export const drawPrompt = (v: OmniVocab, caption: string) => [
  v.marker('text'),
  ...v.text(caption),
  v.marker('end'),
  v.marker('draw'),
  v.marker('image'),
];

export function cap2imgExample(v: OmniVocab, caption: string, codes: ArrayLike<number>): Example {
  const prompt = drawPrompt(v, caption);
  return { task: 'cap2img', ids: [...prompt, ...v.image(codes), v.marker('end'), v.marker('turn')], from: prompt.length };
}
