/**
 * `npm run bench -- exec [--programs 164] [--js 24]`: sandboxed executions per second and the
 * per-execution overhead over a bare interpreter start, on HumanEval-style programs, with 1 and 2
 * workers. The peer is what the reference harness does per sample minus its in-process guard: one
 * bare `python3` (or `node`) running `prompt + completion + test + check(entry_point)` unisolated.
 * Tony is measured with full isolation (cgroups + prlimit + nobody + bwrap + seccomp, two-process
 * judge) and, to split the cost, with the judge alone (`--unsafe-no-sandbox`).
 * Goal (issue 3): a full 164-problem, 1-sample run in under 10 s with full isolation.
 */
import { spawn } from 'node:child_process';
import { executeProgram, type Language, type Program } from '../src/evals/execute.ts';
import { Sandbox } from '../src/evals/sandbox.ts';
import { pool } from '../src/pool.ts';
import { PROBLEMS } from '../test/evals/toy-problems.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const N_PY = arg('programs', 164);
const N_JS = arg('js', 24);

const JS_PROBLEM = {
  prompt: 'function sorted(xs) {\n',
  canonical_solution: '  return [...xs].sort((a, b) => a - b);\n}\n',
  test: "const assert = require('node:assert');\nfunction check(candidate) {\n  assert.deepStrictEqual(candidate([3, 1, 2]), [1, 2, 3]);\n  assert.deepStrictEqual(candidate([]), []);\n}\n",
  entry_point: 'sorted',
};

function programs(language: Language, n: number): Program[] {
  return Array.from({ length: n }, (_, i) => {
    const p = language === 'python' ? PROBLEMS[i % PROBLEMS.length]! : JS_PROBLEM;
    const code = p.prompt + p.canonical_solution;
    return { language, candidate: code, reference: code, test: p.test, entryPoint: p.entry_point };
  });
}

/** The peer: one bare interpreter per program, the reference harness's concatenation. */
function bare(p: Program): Promise<boolean> {
  const [cmd, args] =
    p.language === 'python'
      ? ['/usr/bin/python3', ['-c', `${p.candidate}\n${p.test}\ncheck(${p.entryPoint})\n`]]
      : [process.execPath, ['-e', `${p.candidate}\n${p.test}\ncheck(${p.entryPoint});\n`]];
  return new Promise((resolve) => {
    const c = spawn(cmd as string, args as string[], { stdio: 'ignore' });
    c.on('close', (code) => resolve(code === 0));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(fn: () => Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  if (!(await fn())) throw new Error('a canonical program did not pass');
  return performance.now() - t0;
}

const sandbox = await Sandbox.open();
const unsafe = await Sandbox.open({ unsafeNoSandbox: true });
const run = {
  bare,
  judge: async (p: Program) => (await executeProgram(unsafe, p)).passed,
  sandboxed: async (p: Program) => (await executeProgram(sandbox, p)).passed,
};
const pad = (s: string | number, w: number) => String(s).padStart(w);
process.stdout.write(`machine: ${process.arch}, 2 cores shared with other agents (noisy); wall clock\n`);

// 1. Latency of one execution, one at a time, the three variants interleaved program by program
//    so that load from other processes hits them alike; medians.
const latency: Record<string, Record<string, number>> = {};
for (const [language, n] of [
  ['python', Math.min(N_PY, 60)],
  ['js', N_JS],
] as const) {
  const items = programs(language, n);
  await pool(items.slice(0, 4), 2, run.sandboxed); // warm the page cache
  const t: Record<string, number[]> = { bare: [], judge: [], sandboxed: [] };
  for (const p of items) for (const k of ['bare', 'judge', 'sandboxed'] as const) t[k]!.push(await timed(() => run[k](p)));
  latency[language] = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
}
process.stdout.write(
  `\nper-execution latency, median ms (1 at a time)\n${'language'.padEnd(10)} ${pad('bare', 8)} ${pad('judge', 8)} ${pad('sandboxed', 10)} ${pad('overhead', 9)}\n`,
);
for (const [lang, m] of Object.entries(latency)) {
  process.stdout.write(
    `${lang.padEnd(10)} ${pad(m.bare!.toFixed(1), 8)} ${pad(m.judge!.toFixed(1), 8)} ${pad(m.sandboxed!.toFixed(1), 10)} ${pad((m.sandboxed! - m.bare!).toFixed(1), 9)}\n`,
  );
}

// 2. Throughput of a full run, 1 and 2 workers, bare and sandboxed alternating, 2 repetitions.
const REPS = 2;
const through: Array<{ language: string; workers: number; variant: string; s: number; n: number }> = [];
for (const [language, n] of [
  ['python', N_PY],
  ['js', N_JS],
] as const) {
  const items = programs(language, n);
  for (const workers of [1, 2]) {
    const t: Record<string, number[]> = { bare: [], sandboxed: [] };
    for (let rep = 0; rep < REPS; rep++) {
      for (const k of ['bare', 'sandboxed'] as const) {
        const t0 = performance.now();
        const ok = await pool(items, workers, run[k]);
        if (ok.some((x) => !x)) throw new Error(`${language} ${k}: a canonical program did not pass`);
        t[k]!.push((performance.now() - t0) / 1000);
      }
    }
    for (const [variant, v] of Object.entries(t))
      through.push({ language, workers, variant, n, s: v.reduce((a, b) => a + b, 0) / v.length });
  }
}
process.stdout.write(
  `\nfull runs, mean of ${REPS}\n${'language'.padEnd(10)} ${pad('workers', 7)} ${'variant'.padEnd(10)} ${pad('programs', 8)} ${pad('total s', 8)} ${pad('exec/s', 7)}\n`,
);
for (const r of through) {
  process.stdout.write(
    `${r.language.padEnd(10)} ${pad(r.workers, 7)} ${r.variant.padEnd(10)} ${pad(r.n, 8)} ${pad(r.s.toFixed(2), 8)} ${pad((r.n / r.s).toFixed(1), 7)}\n`,
  );
}
const get = (language: string, workers: number, variant: string) =>
  through.find((r) => r.language === language && r.workers === workers && r.variant === variant)!.s;
const summary = {
  python_164_sandboxed_2w_s: +((get('python', 2, 'sandboxed') * 164) / N_PY).toFixed(2),
  python_overhead_ms: +(latency.python!.sandboxed! - latency.python!.bare!).toFixed(1),
  js_overhead_ms: +(latency.js!.sandboxed! - latency.js!.bare!).toFixed(1),
  python_sandboxed_over_bare_2w: +(get('python', 2, 'sandboxed') / get('python', 2, 'bare')).toFixed(2),
  js_sandboxed_over_bare_2w: +(get('js', 2, 'sandboxed') / get('js', 2, 'bare')).toFixed(2),
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
