/**
 * `tony train gpt` and `tony train lm` give the losses of the code before the model registry (commit
 * 57c8fe5): same seed, same data, one runtime thread. The expected losses were recorded by running
 * that commit — test/cli/fixtures/make_losses.sh, which makes the same corpus.
 *
 * Bit-identical on the machine that recorded them (avx512), but not across machines: ONNX Runtime's
 * MLAS picks its kernels by the CPU's instruction set, and on an AVX2-only AMD EPYC (2026-12-02) the
 * 57c8fe5-era code itself gives two of the six training losses 4.8e-7 apart from the recording. So
 * each loss must match to 2e-6 relative: far inside any change a refactor of the step would make (the
 * losses fall 0.04 a step), and outside a CPU's rounding.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const expected = JSON.parse(readFileSync(join(root, 'test/cli/fixtures/losses.json'), 'utf8')) as Record<
  'gpt' | 'lm',
  { loss: number[]; val_loss: number[] }
>;
const dir = mkdtempSync(join(tmpdir(), 'tony-losses-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const src = join(dir, 'pysrc');
mkdirSync(src);
for (let i = 0; i < 30; i++)
  writeFileSync(join(src, `m${i}.py`), `def f${i}(x):\n    y = x * ${i}\n    return y + ${i}\n\n\nclass C${i}:\n    pass\n`);

function losses(kind: 'gpt' | 'lm', args: string[]) {
  const out = join(dir, kind);
  const common = [
    '--preset',
    'tiny',
    '--set',
    'blockSize=16',
    '--steps',
    '6',
    '--batch',
    '4',
    '--eval-every',
    '3',
    '--threads',
    '1',
    '--out',
    out,
  ];
  const r = spawnSync(process.execPath, ['bin/tony.js', 'train', kind, ...args, ...common], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.status, r.stderr).toBe(0);
  const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);
  return {
    loss: rows.filter((x) => 'loss' in x).map((x) => x.loss!),
    val_loss: rows.filter((x) => 'val_loss' in x).map((x) => x.val_loss!),
  };
}

/** Every loss within 2e-6 relative of the recorded one, in the same number. */
function expectLosses(got: { loss: number[]; val_loss: number[] }, want: { loss: number[]; val_loss: number[] }) {
  for (const key of ['loss', 'val_loss'] as const) {
    expect(got[key].length, key).toBe(want[key].length);
    got[key].forEach((v, i) =>
      expect(Math.abs(v - want[key][i]!), `${key}[${i}]: ${v} vs ${want[key][i]}`).toBeLessThan(2e-6 * Math.abs(want[key][i]!)),
    );
  }
}

it('train gpt reproduces the recorded losses', () => {
  expectLosses(losses('gpt', ['--data', src, '--ext', '.py']), expected.gpt);
});

it('train lm reproduces the recorded losses', () => {
  expectLosses(losses('lm', ['--data', src, '--include', '**/*.py', '--vocab', '300', '--fim-window-end', 'cut']), expected.lm);
});
