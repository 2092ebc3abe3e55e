/**
 * U against G·K on corpora readable on this machine (docs/results/zipf.md): for global batches of
 * N = G·K tokens — N/T random windows of T = 256 consecutive tokens, as data-parallel training
 * draws them — count the distinct ids U, and fit U ∝ N^α with Tony's power-law fit (src/scaling/),
 * bootstrap intervals beside it.
 *
 *   node --import tsx docs/results/zipf/unique.ts > docs/results/zipf/unique.jsonl 2> docs/results/zipf/unique.stderr.txt
 *
 * Two tokenizations: o200k_base (GPT-4o's BPE, 200k ids — the large-vocabulary regime) and
 * whitespace-separated words (the paper's word-level view; unbounded vocabulary).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { generateProblems } from '../../../src/math/problems.ts';
import { mulberry32 } from '../../../src/random.ts';
import { fitPowerLaw, ols } from '../../../src/scaling/powerlaw.ts';
import { bootstrapPowerLaw } from '../../../src/scaling/resample.ts';
import { o200kBase } from '../../../src/text/o200k.ts';

/** Each corpus is capped here (bytes, after decompression): enough for N up to 2^19 tokens. */
const CAP = 6_000_000;
const T = 256;
const DRAWS = 5;

function files(root: string, keep: (p: string) => boolean, out: string[] = []): string[] {
  for (const e of readdirSync(root, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(root, e.name);
    if (e.isDirectory()) files(p, keep, out);
    else if (e.isFile() && keep(p)) out.push(p);
  }
  return out;
}

function read(paths: string[]): string {
  const parts: string[] = [];
  let n = 0;
  for (const p of paths) {
    if (n >= CAP) break;
    if (statSync(p).size > 4 * CAP) continue;
    const buf = readFileSync(p);
    const text = (p.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
    if (text.includes('\u0000')) continue; // binary
    parts.push(text);
    n += text.length;
  }
  return parts.join('\n').slice(0, CAP);
}

const corpora: Record<string, () => string> = {
  'python-stdlib': () => read(files('/usr/lib/python3.11', (p) => p.endsWith('.py') && !p.includes('/test/'))),
  'typescript-lib': () => read(files('node_modules/typescript/lib', (p) => p.endsWith('.d.ts'))),
  'debian-doc': () => read(files('/usr/share/doc', (p) => /(copyright|changelog[^/]*\.gz|README[^/]*)$/.test(p))),
  'procedural-gsm': () =>
    generateProblems({ split: 'train', count: 40_000, seed: 1 })
      .map((p) => `Question: ${p.question}\nAnswer: ${p.answer}`)
      .join('\n\n')
      .slice(0, CAP),
};

const tokenizers: Record<string, (text: string) => Uint32Array> = {
  o200k: (text) => {
    const tok = o200kBase();
    // Encoding megabytes at once is slow in js-tiktoken's regex; lines keep it linear.
    const ids: number[] = [];
    for (const line of text.split('\n')) for (const id of tok.encode(`${line}\n`)) ids.push(id);
    return Uint32Array.from(ids);
  },
  words: (text) => {
    const vocab = new Map<string, number>();
    const id = (w: string) => {
      if (!vocab.has(w)) vocab.set(w, vocab.size);
      return vocab.get(w)!;
    };
    return Uint32Array.from(text.split(/\s+/).filter(Boolean), id);
  },
};

/** Distinct ids in a global batch of n tokens: ceil(n / T) random windows of min(n, T) tokens. */
function uniqueIn(ids: Uint32Array, n: number, rand: () => number): number {
  const w = Math.min(n, T);
  const seen = new Set<number>();
  for (let k = 0; k < n / w; k++) {
    const start = Math.floor(rand() * (ids.length - w));
    for (let i = start; i < start + w; i++) seen.add(ids[i]!);
  }
  return seen.size;
}

const rows: Record<string, unknown>[] = [];
for (const [corpus, load] of Object.entries(corpora)) {
  const text = load();
  for (const [tk, encode] of Object.entries(tokenizers)) {
    const t0 = performance.now();
    const ids = encode(text);
    const vocab = new Set(ids).size;
    const ns: number[] = [];
    const us: number[] = [];
    process.stderr.write(`${corpus}/${tk}: ${ids.length} tokens, ${vocab} distinct (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    // N from 2^8 while N ≤ tokens/8, so batches do not simply exhaust the corpus.
    for (let n = 256; n <= ids.length / 8; n *= 2) {
      const rand = mulberry32(n);
      const draws = Array.from({ length: DRAWS }, () => uniqueIn(ids, n, rand));
      const mean = draws.reduce((a, b) => a + b, 0) / DRAWS;
      const sd = Math.sqrt(draws.reduce((a, b) => a + (b - mean) ** 2, 0) / (DRAWS - 1));
      for (const u of draws) {
        ns.push(n);
        us.push(u);
      }
      console.log(JSON.stringify({ corpus, tokenizer: tk, N: n, U_mean: mean, U_sd: +sd.toFixed(1), U_over_N: +(mean / n).toFixed(4) }));
    }
    // U = c·N^α is 1/U = (x0/N)^α: Tony's pure power law, fitted in log space, α its exponent.
    const inv = us.map((u) => 1 / u);
    const fit = fitPowerLaw(ns, inv, 'pure', 'N');
    const ci = bootstrapPowerLaw(ns, inv, 'pure', { resamples: 400 }).intervals.alpha;
    // Batches large enough for Zipf's tail to dominate: the upper half of the N range.
    const big = ns.map((n, i) => [n, inv[i]!] as const).filter(([n]) => n >= Math.sqrt(ns[0]! * ns.at(-1)!));
    const fitBig = fitPowerLaw(
      big.map(([n]) => n),
      big.map(([, v]) => v),
      'pure',
      'N',
    );
    const ciBig = bootstrapPowerLaw(
      big.map(([n]) => n),
      big.map(([, v]) => v),
      'pure',
      { resamples: 400 },
    ).intervals.alpha;
    const slope = ols(
      ns.map(Math.log),
      us.map((u) => Math.log(u)),
    ).slope;
    const row = {
      corpus,
      tokenizer: tk,
      tokens: ids.length,
      distinct: vocab,
      N_range: [ns[0], ns.at(-1)],
      alpha: +fit.alpha.toFixed(3),
      alpha_ci95: [+ci.lo.toFixed(3), +ci.hi.toFixed(3)],
      alpha_upper_half: +fitBig.alpha.toFixed(3),
      alpha_upper_half_ci95: [+ciBig.lo.toFixed(3), +ciBig.hi.toFixed(3)],
      ols_log_slope: +slope.toFixed(3),
      r2: +fit.r2.toFixed(4),
    };
    rows.push(row);
    console.log(JSON.stringify({ fit: row }));
  }
}
console.log(JSON.stringify({ summary: rows }));
