// The pipeline's commands as a user runs them: problems → generator → labelled samples → verifier →
// ranking, on a tiny model for a few steps (what is checked is the plumbing and the files, not
// accuracy), and bad input named by file and line.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tony } from '../tony.ts';

const dir = mkdtempSync(join(tmpdir(), 'tony-math-'));
const p = (f: string) => join(dir, f);
const TINY = ['--set', 'nLayer=1', '--set', 'dModel=16', '--set', 'nHead=2', '--set', 'blockSize=448'];

describe('tony math', () => {
  it('generate → train math-generator → sample → train verifier → rank → eval gsm8k --verifier', async () => {
    for (const [split, n] of [
      ['train', '40'],
      ['test', '3'],
    ])
      expect(
        (await tony(['math', 'generate', '--split', split!, '--count', n!, '--max-steps', '3', '--out', p(`${split}.jsonl`)])).status,
      ).toBe(0);
    const test = readFileSync(p('test.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(test).toHaveLength(3);

    const gen = await tony([
      'train',
      'math-generator',
      '--data',
      p('train.jsonl'),
      '--steps',
      '2',
      '--batch',
      '2',
      '--eval-every',
      '2',
      '--out',
      p('gen'),
      '--threads',
      '1',
      ...TINY,
      '--set',
      'pretrainSteps=1',
    ]);
    expect(gen.stderr).toMatch(/train \/ \d+ validation examples/);
    expect(gen.status).toBe(0);

    const s = await tony([
      'math',
      'sample',
      '--model',
      p('gen'),
      '--data',
      p('test.jsonl'),
      '--n',
      '3',
      '--max-tokens',
      '16',
      '--out',
      p('samples.jsonl'),
      '--threads',
      '1',
    ]);
    expect(s.status, s.stderr).toBe(0);
    const samples = readFileSync(p('samples.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(samples).toHaveLength(9);
    samples.forEach((x, i) => {
      expect(x.task_id).toBe(`gsm8k/${Math.floor(i / 3)}`);
      expect(x.question).toBe(test[Math.floor(i / 3)].question);
      // Label oracle: GSM8K's rule, restated here — first "#### N", commas removed, exact string match.
      const got = /#### (-?[0-9.,]+)/.exec(x.completion)?.[1]?.replace(/,/g, '');
      expect(x.correct).toBe(got !== undefined && got === /#### (\d+)/.exec(test[Math.floor(i / 3)].answer)![1]);
    });
    // Give the verifier both labels to learn from: two of the reference solutions, marked correct.
    const labelled = [
      ...samples,
      ...test.slice(0, 2).map((t, i) => ({ task_id: `gsm8k/${i}`, question: t.question, completion: ` ${t.answer}`, correct: true })),
    ];
    writeFileSync(p('labelled.jsonl'), labelled.map((x) => JSON.stringify(x)).join('\n'));

    const v = await tony([
      'train',
      'verifier',
      '--data',
      p('labelled.jsonl'),
      '--set',
      `init=${p('gen')}`,
      '--steps',
      '2',
      '--batch',
      '2',
      '--eval-every',
      '2',
      '--out',
      p('ver'),
      '--threads',
      '1',
    ]);
    expect(v.status, v.stderr).toBe(0);
    expect(v.stderr).toMatch(/labelled correct/);
    const config = JSON.parse(readFileSync(p('ver/config.json'), 'utf8'));
    expect(config).toMatchObject({ kind: 'verifier', level: 'token', valueToken: 259, model: { blockSize: 448, dModel: 16 } });

    const r = await tony([
      'math',
      'rank',
      '--verifier',
      p('ver'),
      '--samples',
      p('samples.jsonl'),
      '--data',
      p('test.jsonl'),
      '--vote',
      '2',
      '--threads',
      '1',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(report).toMatchObject({ problems: 3, samples: 3, k: 2 });
    expect(report.rows.map((x: { n: number }) => x.n)).toEqual([1, 2, 3]);

    // The one-line form: sample with the generator (its own layout, calculator on), score, rank.
    const e = await tony([
      'eval',
      'gsm8k',
      '--model',
      p('gen'),
      '--n',
      '2',
      '--max-tokens',
      '16',
      '--samples',
      p('eval.jsonl'),
      '--data',
      p('test.jsonl'),
      '--verifier',
      p('ver'),
      '--vote',
      '2',
      '--threads',
      '1',
    ]);
    expect(e.status, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/maj@2/);
    expect(e.stdout).toMatch(/top-2 vote/);
    const evalSamples = readFileSync(p('eval.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(evalSamples.map((x) => x.task_id)).toEqual(['gsm8k/0', 'gsm8k/0', 'gsm8k/1', 'gsm8k/1', 'gsm8k/2', 'gsm8k/2']);
    expect(evalSamples.every((x) => x.question !== undefined)).toBe(true); // sampled by src/math, not the instruction prompt
  });

  it('math report: two verifiers on the same samples, worked by hand; a missing score named by file and line', async () => {
    // Problem 0 (answer 5): #### 4, #### 5 — verifier a prefers the second, b the first.
    // Problem 1 (answer 7): #### 7, #### 7 — both right whatever the ranking.
    writeFileSync(p('two.jsonl'), '{"question": "q0", "answer": "#### 5"}\n{"question": "q1", "answer": "#### 7"}\n');
    const scored = (s: number[]) =>
      ['#### 4', '#### 5', '#### 7', '#### 7']
        .map((completion, i) => JSON.stringify({ task_id: `gsm8k/${i >> 1}`, completion, score: s[i] }))
        .join('\n') + '\n';
    writeFileSync(p('a.jsonl'), scored([0.1, 0.9, 0.5, 0.5]));
    writeFileSync(p('b.jsonl'), scored([0.9, 0.1, 0.5, 0.5]));
    const r = await tony([
      'math',
      'report',
      '--data',
      p('two.jsonl'),
      '--scored',
      `a=${p('a.jsonl')}`,
      '--scored',
      `b=${p('b.jsonl')}`,
      '--vote',
      '1',
      '--reps',
      '100',
      '--out',
      p('report.json'),
      '--plot',
      p('acc.png'),
    ]);
    expect(r.status, r.stderr).toBe(0);
    const rep = JSON.parse(readFileSync(p('report.json'), 'utf8'));
    const n2 = rep.rows.find((x: { n: number }) => x.n === 2).methods;
    expect(n2['a best-of-N'].acc).toBe(1);
    expect(n2['b best-of-N'].acc).toBe(0.5);
    expect(n2.majority.acc).toBe(0.5); // problem 0: a 1–1 tie goes to the first seen, 4
    expect(n2['a − b best-of-N'].acc).toBe(0.5); // a right and b wrong on problem 0, both right on problem 1
    expect(rep.verifiers.a.auc).toEqual({ mean: 1, problems: 1 });
    expect(rep.verifiers.b.auc).toEqual({ mean: 0, problems: 1 });
    expect(readFileSync(p('acc.png')).subarray(1, 4).toString()).toBe('PNG');
    // Unscored samples: test@1 (4 wrong, 7 right) and pass@2 (both problems have a right sample) only.
    const plain = await tony([
      'math',
      'report',
      '--data',
      p('two.jsonl'),
      '--samples',
      p('a.jsonl'),
      '--reps',
      '100',
      '--out',
      p('plain.json'),
    ]);
    expect(plain.status, plain.stderr).toBe(0);
    const n2plain = JSON.parse(readFileSync(p('plain.json'), 'utf8')).rows.find((x: { n: number }) => x.n === 2).methods;
    expect(Object.keys(n2plain)).toEqual(['test@1', 'majority', 'any right (pass@n)']);
    expect([n2plain['test@1'].acc, n2plain['any right (pass@n)'].acc]).toEqual([0.5, 1]);

    writeFileSync(
      p('c.jsonl'),
      '{"task_id": "gsm8k/0", "completion": "#### 4", "score": 1}\n{"task_id": "gsm8k/0", "completion": "#### 5"}\n',
    );
    const bad = await tony(['math', 'report', '--data', p('two.jsonl'), '--scored', `c=${p('c.jsonl')}`]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(`${p('c.jsonl')}:2: a scored sample needs`);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  it('names the file and line of bad input, and refuses bad knobs', async () => {
    writeFileSync(p('bad.jsonl'), '{"question": "q", "answer": "#### 1"}\n{"question": "q", "answer": 3}\n');
    const t = await tony(['train', 'math-generator', '--data', p('bad.jsonl'), '--steps', '1', '--out', p('bad-run')]);
    expect(t.status).toBe(2);
    expect(t.stderr).toContain(`${p('bad.jsonl')}:2: field 'answer' must be a string`);

    writeFileSync(p('broken.jsonl'), '{"task_id": "gsm8k/0", "completion": "#### 1"}\n{"task_id": \n');
    writeFileSync(p('probs.jsonl'), '{"question": "q", "answer": "#### 1"}\n');
    const r = await tony(['math', 'rank', '--verifier', p('nowhere'), '--samples', p('broken.jsonl'), '--data', p('probs.jsonl')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${p('broken.jsonl')}:2: not valid JSON`);

    const g = await tony(['math', 'generate', '--max-steps', '9', '--out', p('x.jsonl')]);
    expect(g.status).not.toBe(0);
    expect(g.stderr).toMatch(/max-steps/);
    expect(t.stderr + r.stderr + g.stderr).not.toMatch(/\n\s+at /); // no stack traces
  });
});
