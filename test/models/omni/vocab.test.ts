/**
 * The shared vocabulary and the task sequences. Oracles: the layout written out by hand (offsets
 * from the sizes), text round trips through the BPE, arithmetic answers recomputed here from the
 * number words, and loss weights of packed rows counted by hand.
 */
import { describe, expect, it } from 'vitest';
import { TonyError } from '../../../src/errors.ts';
import {
  asrExample,
  cap2imgExample,
  HELD_OUT_VOICES,
  isHeldOutQuestion,
  PRESET_VOICES,
  qaExample,
  questionBank,
  TRAIN_VOICES,
  ttsExample,
  wordDrills,
} from '../../../src/models/omni/tasks.ts';
import { packRows } from '../../../src/models/omni/train.ts';
import { MARKERS, OmniVocab } from '../../../src/models/omni/vocab.ts';
import { prng } from '../../../src/random.ts';
import { trainBpe } from '../../../src/text/bpe.ts';

const texts = ['what is two plus three', 'five', 'say red cube', 'red cube', 'the quiet river'];
const bpe = await trainBpe(texts, { vocabSize: 300 });
const v = new OmniVocab(bpe, 20, 8, ['en-us+m3', 'en-gb+f2']);

describe('omni vocabulary', () => {
  it('lays out text, speech codes, image codes, markers and voices back to back', () => {
    const n = bpe.vocabSize; // 256 bytes + the merges a tiny corpus affords + 4 specials
    expect(v.nText).toBe(n);
    expect([v.speech0, v.image0, v.marker0, v.voice0, v.size]).toEqual([
      n,
      n + 20,
      n + 28,
      n + 28 + MARKERS.length,
      n + 30 + MARKERS.length,
    ]);
    expect(v.speech([0, 19])).toEqual([n, n + 19]);
    expect(v.image([0, 7])).toEqual([n + 20, n + 27]);
    expect(v.marker('text')).toBe(n + 28);
    expect(v.marker('turn')).toBe(n + 28 + MARKERS.indexOf('turn'));
    expect(v.voice('en-gb+f2')).toBe(v.voice0 + 1);
  });

  it('round-trips every kind of id, and text through the BPE', () => {
    for (const s of [...texts, 'unseen words, too: 42!']) expect(v.decodeText(v.text(s))).toBe(s);
    expect(v.piece(v.speech0 + 5)).toEqual({ kind: 'speech', code: 5 });
    expect(v.piece(v.image0 + 1)).toEqual({ kind: 'image', code: 1 });
    expect(v.piece(v.marker('answer'))).toEqual({ kind: 'marker', marker: 'answer' });
    expect(v.piece(v.voice0)).toEqual({ kind: 'voice', voice: 'en-us+m3' });
    const ids = [
      v.marker('speech'),
      ...v.speech([3, 4]),
      v.marker('end'),
      v.marker('answer'),
      v.marker('text'),
      ...v.text('five'),
      v.marker('end'),
    ];
    expect(v.show(ids)).toBe('<|speech|><s3><s4><|end|><|answer|><|text|>five<|end|>');
    const back = OmniVocab.fromJSON(JSON.parse(JSON.stringify(v.toJSON())));
    expect(back.size).toBe(v.size);
    expect(back.text('red cube')).toEqual(v.text('red cube'));
  });

  it('rejects codes, ids and voices outside the vocabulary with a TonyError', () => {
    expect(() => v.speech([20])).toThrow(TonyError);
    expect(() => v.image([-1])).toThrow(TonyError);
    expect(() => v.piece(v.size)).toThrow(/outside the omni vocabulary/);
    expect(() => v.voice('en-us+m1')).toThrow(/preset voices/);
  });
});

describe('omni tasks', () => {
  const words = [
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
  it('asks sums and differences whose answers are right', () => {
    const qs = questionBank().filter((q) => q.kind === 'arithmetic');
    expect(qs.length).toBe(100 + 55);
    for (const q of qs) {
      const m = /^what is (\w+) (plus|minus) (\w+)$/.exec(q.question)!;
      const [a, b] = [words.indexOf(m[1]!), words.indexOf(m[3]!)];
      expect(words.indexOf(q.answer)).toBe(m[2] === 'plus' ? a + b : a - b);
    }
  });

  it('keeps the preset voices out of the held-out voices, and every voice in one of the two sets', () => {
    for (const p of PRESET_VOICES) expect(TRAIN_VOICES).toContain(p);
    expect(HELD_OUT_VOICES.length).toBeGreaterThan(0);
    expect(TRAIN_VOICES.length + HELD_OUT_VOICES.length).toBe(60);
  });

  it('builds the documented layouts, with the loss starting at the response', () => {
    const sqa = qaExample(v, { codes: [1, 2] }, 'five', 'en-gb+f2', [7, 8, 9]);
    expect(v.show(sqa.ids)).toBe('<|speech|><s1><s2><|end|><|answer|><|text|>five<|end|><|voice:en-gb+f2|><|speech|><s7><s8><s9><|turn|>');
    expect(sqa.from).toBe(5);
    expect(v.show(ttsExample(v, 'five', 'en-us+m3', [4]).ids)).toBe('<|text|>five<|end|><|voice:en-us+m3|><|speech|><s4><|turn|>');
    expect(v.show(asrExample(v, [0], 'five').ids)).toBe('<|speech|><s0><|end|><|transcribe|><|text|>five<|end|><|turn|>');
    expect(v.show(cap2imgExample(v, 'red cube', [0, 1]).ids)).toBe('<|text|>red cube<|end|><|draw|><|image|><i0><i1><|end|><|turn|>');
  });

  it('packs rows: targets shifted by one, weight 1 exactly on response targets, padding elsewhere', () => {
    const pad = v.marker('pad');
    const e = { task: 'asr' as const, ids: [10, 11, 12, 13, 14], from: 3 };
    const { idx, targets, weights } = packRows([[e]], 8, pad);
    expect(idx).toEqual([10, 11, 12, 13, pad, pad, pad, pad]);
    expect(targets).toEqual([11, 12, 13, 14, pad, pad, pad, pad]);
    expect(Array.from(weights)).toEqual([0, 0, 1, 1, 0, 0, 0, 0]); // targets 13 and 14 (indices 3, 4)
    const long = packRows([[{ task: 'lm', ids: [1, 2, 3, 4, 5, 6], from: 0 }]], 4, pad);
    expect(long.targets).toEqual([2, 3, 4, 5]); // cut at T + 1 tokens
    // Two examples in one row: each one's response weighted from its own `from`.
    const two = packRows(
      [
        [
          { task: 'asr', ids: [1, 2, 3], from: 2 },
          { task: 'asr', ids: [4, 5, 6], from: 1 },
        ],
      ],
      6,
      pad,
    );
    expect(two.idx).toEqual([1, 2, 3, 4, 5, pad]);
    expect(two.targets).toEqual([2, 3, 4, 5, 6, pad]);
    expect(Array.from(two.weights)).toEqual([0, 1, 0, 1, 1, 0]); // targets 3 (ex 1, i=2), 5 and 6 (ex 2, i=1, 2)
  });

  it("draws word drills from the bank's words that never say what a held-out question hinges on", () => {
    // Held out, written out from the questions themselves: "A plus B" / "A minus B" and "C S" of an echo.
    const heldOut = questionBank()
      .filter(isHeldOutQuestion)
      .map((q) => /^(?:what is|say) (.+)$/.exec(q.question)![1]!);
    expect(heldOut.length).toBeGreaterThan(10);
    const words = new Set(questionBank().flatMap((q) => [...q.question.split(' '), ...q.answer.split(' ')]));
    const contains = (s: string, phrase: string) => ` ${s} `.includes(` ${phrase} `);
    const drills = wordDrills(5_000, prng(5));
    expect(drills).toHaveLength(5_000);
    const lengths = drills.map((d) => d.split(' ').length);
    expect([Math.min(...lengths), Math.max(...lengths)]).toEqual([2, 6]);
    expect(drills.flatMap((d) => d.split(' ')).filter((x) => !words.has(x))).toEqual([]);
    expect(drills.filter((d) => heldOut.some((h) => contains(d, h)))).toEqual([]);
    const used = new Set(drills.flatMap((d) => d.split(' ')));
    expect(used.size).toBe(words.size); // every word is drilled
    // The ban has work to do: uniform strings from an unrelated generator do say held-out phrases.
    const r = prng(11);
    const list = [...words];
    const unfiltered = Array.from({ length: 5_000 }, () => Array.from({ length: r.int(2, 6) }, () => r.pick(list)).join(' '));
    expect(unfiltered.filter((d) => heldOut.some((h) => contains(d, h))).length).toBeGreaterThan(5);
    expect(wordDrills(50, prng(5))).toEqual(drills.slice(0, 50)); // seeded
  });
});
