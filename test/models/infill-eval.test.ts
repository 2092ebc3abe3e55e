/**
 * Held-out infilling tasks and their evaluation: tasks cut real lines out of validation documents,
 * and a tiny random model scores about ln V per token (a near-uniform predictor; analytic bound).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../../src/engine/checkpoint.ts';
import { GPT, gptConfig } from '../../src/models/gpt/gpt.ts';
import { evaluateInfill, heldOutTasks } from '../../src/models/gpt/infill-eval.ts';
import { loadCompletionModel } from '../../src/models/gpt/model.ts';
import { trainBpe } from '../../src/text/bpe.ts';
import { buildShards, openShards, type Shards } from '../../src/text/dataset.ts';

let dir: string;
let shards: Shards;
const docs = Array.from({ length: 40 }, (_, i) =>
  [`def f${i}(x):`, `    y = x * ${i}`, `    if y > ${i * 3}:`, `        return y - ${i}`, `    return y + ${i}`, ''].join('\n'),
);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-infill-'));
  await mkdir(join(dir, 'src'));
  for (const [i, d] of docs.entries()) await writeFile(join(dir, 'src', `m${i}.py`), d);
  const tok = await trainBpe(docs, { vocabSize: 300 });
  await buildShards({ roots: [join(dir, 'src')], tokenizer: tok, out: join(dir, 'data'), valFraction: 0.3 });
  shards = await openShards(join(dir, 'data'));
});
afterAll(async () => {
  shards?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('held-out infilling', () => {
  it('span tasks cut 2–12 characters out of one line; the parts reassemble the document', () => {
    const tasks = heldOutTasks(shards, 12, 3, 400, 'span');
    expect(tasks).toHaveLength(12);
    for (const t of tasks) {
      expect(docs.some((d) => d.includes(t.prefix + t.middle + t.suffix))).toBe(true);
      expect(t.middle.length).toBeGreaterThanOrEqual(2);
      expect(t.middle.length).toBeLessThanOrEqual(12);
      expect(t.middle).not.toContain('\n');
    }
  });

  it('tasks are whole non-blank lines of validation documents, with the text around them', () => {
    const tasks = heldOutTasks(shards, 12, 1);
    expect(tasks).toHaveLength(12);
    expect(heldOutTasks(shards, 12, 1)).toEqual(tasks); // deterministic in the seed
    const val = new Set([...shards.documents('val')].map((d) => d.path));
    for (const t of tasks) {
      expect(val.has(t.path)).toBe(true);
      const doc = docs.find((d) => d.includes(t.prefix + t.middle + t.suffix));
      expect(doc, `task reassembles a document: ${JSON.stringify(t)}`).toBeDefined();
      expect(t.middle.endsWith('\n') && !t.middle.slice(0, -1).includes('\n')).toBe(true);
      expect(t.middle.trim().length).toBeGreaterThanOrEqual(4);
    }
  });

  it('scores exactly the middle and <EOT> tokens: a hand-computed oracle', async () => {
    // A GPT whose every block weight, position embedding and final LayerNorm gain is 0 outputs ln_f's
    // bias b at every position, so every next-token distribution is softmax(wte · b): the loss of a
    // token does not depend on where it is, and the expected score is the mean of −log p over exactly
    // the tokens the scorer must count (each middle, then <EOT>). Counting prompt tokens too, or
    // dropping <EOT>, changes the mean.
    const cfg = gptConfig({ vocabSize: shards.tokenizer.vocabSize, blockSize: 96, nLayer: 1, nHead: 2, dModel: 16 });
    const params = new GPT(cfg).ps.initialize(5);
    for (const [name, t] of Object.entries(params)) if (name !== 'wte.weight' && name !== 'ln_f.bias') (t.data as Float32Array).fill(0);
    const wte = params['wte.weight']!.data as Float32Array;
    for (let i = 0; i < wte.length; i++) wte[i]! *= 40; // a far-from-uniform distribution
    const b = params['ln_f.bias']!.data as Float32Array;
    for (let c = 0; c < b.length; c++) b[c] = Math.sin(1 + 7 * c);
    const logits = Array.from({ length: cfg.vocabSize }, (_, v) => {
      let dot = 0;
      for (let c = 0; c < cfg.dModel; c++) dot += wte[v * cfg.dModel + c]! * b[c]!;
      return dot;
    });
    const m = Math.max(...logits);
    const lse = m + Math.log(logits.reduce((z, l) => z + Math.exp(l - m), 0));
    const tasks = heldOutTasks(shards, 5, 4);
    const tok = shards.tokenizer;
    const scored = tasks.flatMap((t) => [...tok.encode(t.middle), tok.special.eot]);
    const expected = scored.reduce((s, id) => s + lse - logits[id]!, 0) / scored.length;
    const withPrompt = tasks
      .flatMap((t) => [...tok.encode(t.prefix), ...tok.encode(t.suffix), ...tok.encode(t.middle), tok.special.eot])
      .reduce((s, id, _, all) => s + (lse - logits[id]!) / all.length, 0);
    expect(Math.abs(withPrompt - expected)).toBeGreaterThan(0.05); // the oracle tells the two apart

    await saveCheckpoint(join(dir, 'constant'), {
      config: { kind: 'gpt', model: { ...cfg }, tokenizer: tok.toJSON(), fim: { rate: 0.5 } },
      state: { step: 0 },
      params,
    });
    const model = await loadCompletionModel(join(dir, 'constant'), { threads: 1 });
    try {
      const r = await evaluateInfill(model, tasks);
      expect(r.infillLoss).toBeCloseTo(expected, 4);
    } finally {
      await model.close();
    }
  });

  it('a near-uniform model scores about ln V per middle token and matches nothing', async () => {
    const cfg = gptConfig({ vocabSize: shards.tokenizer.vocabSize, blockSize: 96, nLayer: 1, nHead: 2, dModel: 16 });
    await saveCheckpoint(join(dir, 'model'), {
      config: { kind: 'gpt', model: { ...cfg }, tokenizer: shards.tokenizer.toJSON() },
      state: { step: 0 },
      params: new GPT(cfg).ps.initialize(0),
    });
    const model = await loadCompletionModel(join(dir, 'model'), { threads: 1 });
    try {
      const r = await evaluateInfill(model, heldOutTasks(shards, 6, 2));
      expect(r.tasks).toBe(6);
      expect(Math.abs(r.infillLoss - Math.log(cfg.vocabSize))).toBeLessThan(0.1);
      expect(r.exactMatch).toBe(0);
    } finally {
      await model.close();
    }
  });
});
