import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { register } from '../../src/cli/scaling.ts';
import { TonyError } from '../../src/errors.ts';
import { parseSizes, runSweep, SWEEP_DEFAULTS, type SweepOptions, sizeSteps, sweepLr } from '../../src/scaling/sweep.ts';

/**
 * A small corpus of Python-like files from a seeded generator: repetitive enough that a few dozen
 * steps already separate the sizes, varied enough that the BPE has merges to learn.
 */
async function writeCorpus(root: string): Promise<void> {
  let s = 12345;
  const rand = (n: number) => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const names = ['alpha', 'beta', 'gamma', 'delta', 'total', 'count', 'value', 'items', 'index', 'result'];
  const ops = ['+', '-', '*', '//'];
  await mkdir(root, { recursive: true });
  for (let f = 0; f < 40; f++) {
    const lines: string[] = [];
    for (let fn = 0; fn < 12; fn++) {
      const a = names[rand(names.length)]!;
      const b = names[rand(names.length)]!;
      lines.push(`def ${a}_${b}_${fn}(${a}, ${b}):`);
      lines.push(`    """Return the ${a} of ${b}."""`);
      lines.push(`    ${names[rand(names.length)]} = ${a} ${ops[rand(ops.length)]} ${b}`);
      lines.push(`    for i in range(${1 + rand(9)}):`);
      lines.push(`        ${a} = ${a} ${ops[rand(ops.length)]} i`);
      lines.push(`    return ${a}`, '');
    }
    await writeFile(join(root, `mod${f}.py`), lines.join('\n'));
  }
}

let dir: string;
let corpus: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-sweep-'));
  corpus = join(dir, 'corpus');
  await writeCorpus(corpus);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const BLOCK = 32;
const BATCH = 8;
const TOKENS = 8192; // 32 steps of 8·32 tokens
const STEPS = Math.floor(TOKENS / (BATCH * BLOCK));

const options = (out: string): SweepOptions => ({
  ...SWEEP_DEFAULTS,
  sizes: parseSizes('16x1,24x1,32x1,48x1'),
  data: [corpus],
  tokens: TOKENS,
  out,
  block: BLOCK,
  batch: BATCH,
  vocab: 300,
  parallel: 2,
  threads: 1, // one thread per size: ONNX Runtime's CPU kernels are then bit-for-bit reproducible
  evalBatches: 2,
  bootstrap: 40,
});

/** GPT-2 block: qkv (3C² + 3C) + proj (C² + C) + MLP (8C² + 5C) + two LayerNorms (4C); plus ln_f (2C). */
const nonEmbedding = (d: number, layers: number) => layers * (12 * d * d + 13 * d) + 2 * d;

const readLines = async (path: string) =>
  (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);

describe('tony scale sweep', () => {
  it('trains every size, skips finished ones, resumes an interrupted one, and fits', async () => {
    const out = join(dir, 'sweep');
    const t0 = performance.now();
    const first = await runSweep(options(out));
    const firstSeconds = (performance.now() - t0) / 1000;

    // Run directories: one per size, each a complete run of STEPS steps with its evaluations.
    expect((await readdir(out)).sort()).toEqual([
      '16x1',
      '24x1',
      '32x1',
      '48x1',
      'data',
      'scaling-compute.svg',
      'scaling.svg',
      'summary.json',
      'sweep.json',
    ]);
    const metrics: Record<string, string> = {};
    for (const [d, layers] of [
      [16, 1],
      [24, 1],
      [32, 1],
      [48, 1],
    ] as const) {
      const run = join(out, `${d}x${layers}`);
      const config = JSON.parse(await readFile(join(run, 'config.json'), 'utf8'));
      expect(config.model).toMatchObject({ dModel: d, nLayer: layers, nHead: 1, blockSize: BLOCK });
      expect(config.nonembedding_params).toBe(nonEmbedding(d, layers));
      expect(existsSync(join(run, `ckpt-${STEPS}`))).toBe(true);
      metrics[run] = await readFile(join(run, 'metrics.jsonl'), 'utf8');
      const rows = await readLines(join(run, 'metrics.jsonl'));
      const train = rows.filter((r) => r.loss !== undefined);
      expect(train.map((r) => r.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
      expect(train.at(-1)!.tokens).toBe(TOKENS);
      const evals = rows.filter((r) => r.val_loss !== undefined);
      expect(evals.length).toBeGreaterThanOrEqual(SWEEP_DEFAULTS.evalPoints);
      expect(evals.at(-1)!.step).toBe(STEPS);
    }
    expect(first.sizes.map((s) => s.status)).toEqual(['trained', 'trained', 'trained', 'trained']);

    // The fit ran on the runs' own numbers: L(N) over the four final validation losses at their
    // analytic parameter counts, the frontier over the learning curves, and the files written.
    expect(first.notes).toEqual([]);
    const pts = first.params!.points;
    expect(pts.map((p) => p.params)).toEqual([nonEmbedding(16, 1), nonEmbedding(24, 1), nonEmbedding(32, 1), nonEmbedding(48, 1)]);
    for (const p of pts) {
      const evals = (await readLines(join(out, p.run, 'metrics.jsonl'))).filter((r) => r.val_loss !== undefined);
      expect(p.loss).toBe(evals.at(-1)!.val_loss);
    }
    expect(Number.isFinite(first.params!.fits.irreducible.fit.r2)).toBe(true);
    expect(first.compute!.points.length).toBeGreaterThanOrEqual(2);
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
    expect(summary.sizes.map((s: { name: string }) => s.name)).toEqual(['16x1', '24x1', '32x1', '48x1']);
    expect(summary.sizes[0].lr).toBeCloseTo(0.003239 - 0.0001395 * Math.log(nonEmbedding(16, 1)), 12);
    expect(summary.sizes[3].compute).toBe(6 * nonEmbedding(48, 1) * TOKENS);
    expect((await readFile(join(out, 'scaling.svg'), 'utf8')).startsWith('<svg')).toBe(true);

    // Second invocation: everything is finished, nothing trains, the logs are untouched.
    const t1 = performance.now();
    const second = await runSweep(options(out));
    const secondSeconds = (performance.now() - t1) / 1000;
    expect(second.sizes.map((s) => s.status)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    expect(secondSeconds).toBeLessThan(firstSeconds / 2);
    for (const [run, text] of Object.entries(metrics)) expect(await readFile(join(run, 'metrics.jsonl'), 'utf8')).toBe(text);

    // An interrupted size: its final checkpoint never got written and its log ran past the last
    // checkpoint it has. It resumes there and ends exactly where the uninterrupted run ended.
    const run = join(out, '32x1');
    await rm(join(run, `ckpt-${STEPS}`), { recursive: true });
    const ckpts = (await readdir(run)).filter((n) => n.startsWith('ckpt-'));
    expect(ckpts.length).toBe(1);
    const from = Number(ckpts[0]!.slice(5));
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThan(STEPS);
    const events: string[] = [];
    const third = await runSweep(options(out), (e) => {
      if (e.kind === 'start') events.push(`${e.size}@${e.resumeFrom}`);
    });
    expect(events).toEqual([`32x1@${from}`]);
    expect(third.sizes.map((s) => s.status)).toEqual(['skipped', 'skipped', 'resumed', 'skipped']);
    // Same rows, same numbers (batches are drawn by step number); only the wall-clock column differs.
    const timeless = (text: string) =>
      text
        .trim()
        .split('\n')
        .map((l) => ({ ...JSON.parse(l), time_s: undefined }));
    expect(timeless(await readFile(join(run, 'metrics.jsonl'), 'utf8'))).toEqual(timeless(metrics[run]!));
    expect(third.sizes[2]!.val_loss).toBe(first.sizes[2]!.val_loss);
  }, 120_000);

  it('refuses a sweep directory made with other options, and budgets too small to fit', async () => {
    const out = join(dir, 'other');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'sweep.json'), JSON.stringify({ tokens: 1 }));
    await expect(runSweep(options(out))).rejects.toThrow(/holds a sweep made with other options: .*tokens 1 there, 8192 now/);
    await expect(runSweep({ ...options(join(dir, 'small')), tokens: 9 * BATCH * BLOCK })).rejects.toThrow(/only 9 steps/);
  });
});

describe('--sizes', () => {
  it('parses dModel×nLayer with heads ≈ dModel/32 (largest divisor), sorted by size', () => {
    const s = parseSizes('160x4, 32x1,48x2,96x3,64x2,128x4,80x1');
    expect(s.map((x) => [x.name, x.nHead])).toEqual([
      ['32x1', 1], // 12·1·32² = 12,288 (≈ non-embedding parameters)
      ['48x2', 1], // 55,296
      ['80x1', 2], // 76,800: 2.5 heads → 2
      ['64x2', 2], // 98,304
      ['96x3', 3],
      ['128x4', 4],
      ['160x4', 5],
    ]);
  });

  it('refuses bad specs with a usage error', async () => {
    for (const bad of ['', ',', '32', '32x', 'x2', '32*1', '0x1', '32x0', '32x1,32x1', '-32x1', '32x1.5']) {
      expect(() => parseSizes(bad), bad).toThrow(TonyError);
    }
    // Through the CLI too, before anything is prepared or trained.
    const program = new Command('tony').exitOverride();
    register(program);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const out = join(dir, 'cli');
      await expect(
        program.parseAsync(['node', 'tony', 'scale', 'sweep', '--sizes', '64x2,64', '--data', corpus, '--tokens', '8192', '--out', out]),
      ).rejects.toThrow(/'64' is not <dModel>x<nLayer>/);
      expect(existsSync(out)).toBe(false);
    } finally {
      stderr.mockRestore();
    }
  });

  it('learning rate follows Kaplan et al.: slowly falling with N', () => {
    expect(sweepLr(1e4)).toBeCloseTo(0.003239 - 0.0001395 * Math.log(1e4), 12);
    expect(sweepLr(1e6)).toBeLessThan(sweepLr(1e4));
  });
});

describe('token budget growing with size', () => {
  it('sizeSteps: tokens·ratio^γ in whole steps (hand-computed)', () => {
    // 2048·100 tokens at ratio 4, γ 0.5 → 2× the tokens → 200 steps of 16·128.
    expect(sizeSteps({ tokens: 2048 * 100, batch: 16, block: 128, tokensExponent: 0.5 }, 4)).toBe(200);
    expect(sizeSteps({ tokens: 2048 * 100, batch: 16, block: 128 }, 4)).toBe(100);
    // 3^0.4 = 1.5518 → 155.18 steps, floored.
    expect(sizeSteps({ tokens: 2048 * 100, batch: 16, block: 128, tokensExponent: 0.4 }, 3)).toBe(155);
  });

  it('plans each size tokens·(N/N_smallest)^γ, with the same number of evaluations, before training anything', async () => {
    const out = join(dir, 'grow');
    let plan: Array<{ name: string; steps: number; tokens: number; nonembedding_params: number }> = [];
    await expect(
      runSweep({ ...options(out), tokensExponent: 0.5 }, (e) => {
        if (e.kind === 'plan') {
          plan = e.sizes;
          throw new Error('planned'); // stop before training: the plan is what is under test
        }
      }),
    ).rejects.toThrow('planned');
    const n0 = nonEmbedding(16, 1);
    expect(plan.map((s) => s.nonembedding_params)).toEqual([
      nonEmbedding(16, 1),
      nonEmbedding(24, 1),
      nonEmbedding(32, 1),
      nonEmbedding(48, 1),
    ]);
    for (const [i, [d, l]] of [
      [16, 1],
      [24, 1],
      [32, 1],
      [48, 1],
    ].entries()) {
      expect(plan[i]!.steps).toBe(Math.floor((TOKENS * Math.sqrt(nonEmbedding(d!, l!) / n0)) / (BATCH * BLOCK)));
    }
    // 48x1 has ~8× the parameters of 16x1: ~2.9× the steps.
    expect(plan[3]!.steps / plan[0]!.steps).toBeCloseTo(Math.sqrt(nonEmbedding(48, 1) / n0), 1);
    // The exponent is part of the directory's key: the same directory with γ = 0 is refused.
    await expect(runSweep(options(out))).rejects.toThrow(/other options: tokensExponent 0.5 there, null now/);
    await expect(runSweep({ ...options(join(dir, 'bad-exponent')), tokensExponent: -1 })).rejects.toThrow(
      /tokens exponent must be in \[0, 2\]/,
    );
  }, 60_000);
});
