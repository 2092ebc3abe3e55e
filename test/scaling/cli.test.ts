import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { register } from '../../src/cli/scaling.ts';
import { TonyError } from '../../src/errors.ts';
import { analyzeScaling } from '../../src/scaling/analyze.ts';
import { parseRunsJsonl } from '../../src/scaling/runs.ts';

/**
 * Learning curves of 7 sizes from a known law L(N, D) = 1.8 + (N/300)^-0.3 + (D/1e4)^-0.35: the final
 * losses follow L(N) with an irreducible term, and larger models overtake smaller ones, so the
 * frontier is made of several sizes.
 */
function syntheticRuns(): string {
  const lines: string[] = [];
  [2e4, 5e4, 1.2e5, 3e5, 8e5, 2e6, 5e6].forEach((n, i) => {
    for (let k = 1; k <= 30; k++) {
      const tokens = k * 2.5e6;
      const loss = 1.8 + (n / 300) ** -0.3 + (tokens / 1e4) ** -0.35;
      lines.push(JSON.stringify({ run: `m${i}`, params: Math.round(n * 1.3), nonembedding_params: n, tokens, loss, split: 'val' }));
    }
  });
  return lines.join('\n') + '\n';
}

let dir: string;
let runsPath: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-scaling-cli-'));
  runsPath = join(dir, 'runs.jsonl');
  await writeFile(runsPath, syntheticRuns());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tony(...args: string[]): Promise<string> {
  const program = new Command('tony').exitOverride();
  register(program);
  let out = '';
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await program.parseAsync(['node', 'tony', ...args]);
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return out;
}

describe('tony scale fit', () => {
  it('--x params prints both laws with intervals and writes an SVG', async () => {
    const svgPath = join(dir, 'n.svg');
    const out = await tony('scale', 'fit', runsPath, '--x', 'params', '--bootstrap', '40', '--plot', svgPath);
    expect(out).toMatch(/L\(N\) on the final 'val' loss of 7 runs/);
    expect(out).toMatch(/with irreducible term: L\(N\) = \d\.\d{3} \+ \(N \/ [\d.e+]+\)\^-0\.\d{3}/);
    expect(out).toMatch(/L∞ +\d\.\d{4} +95% CI \[\d\.\d{4}, \d\.\d{4}\]/);
    expect(out).toMatch(/pure power law: /);
    expect(out).toMatch(/R² \(log space\) 0\.9\d{3}/);
    expect(out).toMatch(/leave-one-out: rms error/);
    const svg = await readFile(svgPath, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('non-embedding parameters N');
    expect(svg).toContain('L(N) = ');
  });

  it('--floor refits with L∞ fixed: at the true floor of the law it recovers N0 and α exactly', async () => {
    // The final losses (k = 30, 75 M tokens) are 1.8 + (7500)^-0.35 + (N/300)^-0.3: that floor is exact.
    const floor = 1.8 + 7500 ** -0.35;
    const svgPath = join(dir, 'floor.svg');
    const out = await tony('scale', 'fit', runsPath, '--x', 'params', '--bootstrap', '20', '--floor', String(floor), '--plot', svgPath);
    const section = out.slice(out.indexOf('with L∞ fixed at the given floor'));
    expect(section).toMatch(/L∞ +1\.8440 +95% CI \[1\.8440, 1\.8440\]/);
    expect(section).toMatch(/N0 +3\.000e\+2 /);
    expect(section).toMatch(/α +0\.3000 /);
    expect(section).toMatch(/2 free parameters/);
    expect(await readFile(svgPath, 'utf8')).toContain('known floor');
    await expect(tony('scale', 'fit', runsPath, '--floor', '5')).rejects.toThrow(/the fixed L∞ 5 is not in \[0, /);
  });

  it('--x compute fits the frontier and β, and writes a PNG', async () => {
    const pngPath = join(dir, 'c.png');
    const out = await tony('scale', 'fit', runsPath, '--x', 'compute', '--bootstrap', '40', '--plot', pngPath);
    expect(out).toMatch(/L\(C\) on the compute frontier \(convex hull\): \d+ of 210 'val' points from 7 runs/);
    const env = await tony('scale', 'fit', runsPath, '--x', 'compute', '--frontier', 'envelope', '--bootstrap', '20');
    // Every size is best somewhere on these curves (larger models overtake smaller ones): all 7 on the envelope.
    expect(env).toMatch(/L\(C\) on the compute frontier \(lower envelope\): \d+ of 210 'val' points/);
    expect(env).toMatch(/N_opt\(C\) = A · C\^β on the 7 sizes that make the frontier/);
    expect(out).toMatch(/N_opt\(C\) = A · C\^β on the \d sizes that make the frontier/);
    expect(out).toMatch(/β +0\.\d{4} +95% CI \[\d\.\d{4}, \d\.\d{4}\]/);
    const png = await readFile(pngPath);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // IHDR width: twice the SVG's (PNG_SCALE = 2), and at least the 640-pixel plot area.
    expect(png.readUInt32BE(16)).toBeGreaterThan(2 * 640);
  });

  it('--json prints the fit as JSON', async () => {
    const out = await tony('scale', 'fit', runsPath, '--bootstrap', '20', '--json');
    const parsed = JSON.parse(out) as { fits: { irreducible: { fit: { alpha: number } } }; points: unknown[] };
    expect(parsed.points).toHaveLength(7);
    expect(parsed.fits.irreducible.fit.alpha).toBeGreaterThan(0);
  });

  it('rejects bad flags with usage errors', async () => {
    await expect(tony('scale', 'fit', runsPath, '--x', 'tokens')).rejects.toThrow(/--x must be 'params' or 'compute'/);
    await expect(tony('scale', 'fit', runsPath, '--plot', join(dir, 'x.pdf'), '--bootstrap', '10')).rejects.toThrow(
      /unknown image format '\.pdf'/,
    );
  });
});

describe('analyzeScaling on degenerate sweeps', () => {
  it('needs at least 4 runs for L(N)', () => {
    const rows = parseRunsJsonl(
      [1e4, 1e5, 1e6]
        .map((n, i) => JSON.stringify({ run: `r${i}`, params: n, nonembedding_params: n, tokens: 1e6, loss: 3 - i * 0.2, split: 'val' }))
        .join('\n'),
    );
    let caught: unknown;
    try {
      analyzeScaling(rows, { x: 'params' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TonyError);
    expect((caught as TonyError).message).toMatch(/3 run\(s\) in split 'val'.*needs at least 4 points/);
  });
});
