/**
 * The tables of docs/results/zipf.md, from the committed logs:
 *
 *   node --import tsx docs/results/zipf/tables.ts
 */
import { existsSync, readFileSync } from 'node:fs';

// biome-ignore lint/suspicious/noExplicitAny: rows of three logs with different fields, read by name
type Row = Record<string, any>;

const here = new URL('.', import.meta.url).pathname;
const rows = (name: string) =>
  existsSync(here + name)
    ? readFileSync(here + name, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Row)
    : [];
const mb = (b: number) => (b / 1e6).toFixed(3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// 1. Bytes per step, measured against the formula.
const bytes = rows('bytes.jsonl');
if (bytes.length) {
  const mismatched = bytes.filter((r) => r.measured !== r.formula);
  console.log(`bytes: ${bytes.length} step records, ${mismatched.length} differ from the formula\n`);
  for (const model of ['gpt', 'lookup']) {
    console.log(`| ${model} | G | K | G·K | U | dense MB | tokens MB | unique MB | unique / dense |`);
    console.log('| --- | --: | --: | --: | --: | --: | --: | --: | --: |');
    const keys = [...new Set(bytes.filter((r) => r.model === model).map((r) => `${r.G}/${r.K}`))];
    for (const key of keys) {
      const [G, K] = key.split('/').map(Number);
      const at = (scheme: string) => bytes.filter((r) => r.model === model && r.G === G && r.K === K && r.scheme === scheme);
      const mean = (rs: Row[], f: string) => rs.reduce((a, r) => a + r[f], 0) / rs.length;
      const d = mean(at('dense'), 'measured');
      const u = mean(at('unique'), 'measured');
      console.log(
        `| | ${G} | ${K} | ${G! * K!} | ${mean(at('unique'), 'U').toFixed(0)} | ${mb(d)} | ${mb(mean(at('tokens'), 'measured'))} | ${mb(u)} | ${(u / d).toFixed(3)} |`,
      );
    }
    console.log('');
  }
}

// 2. U against G·K: the fitted exponents.
const unique = rows('unique.jsonl');
const fits = unique.filter((r) => r.fit).map((r) => r.fit);
if (fits.length) {
  console.log('| corpus | tokens | ids | distinct | N range | α, all N (95 % CI) | α, upper half of N (95 % CI) | R² |');
  console.log('| --- | --- | --: | --: | --- | --- | --- | --: |');
  for (const f of fits)
    console.log(
      `| ${f.corpus} | ${f.tokenizer} | ${f.tokens.toLocaleString('en')} | ${f.distinct.toLocaleString('en')} | 2^${Math.log2(f.N_range[0])}–2^${Math.log2(f.N_range[1])} | ${f.alpha} (${f.alpha_ci95.join('–')}) | ${f.alpha_upper_half} (${f.alpha_upper_half_ci95.join('–')}) | ${f.r2} |`,
    );
  console.log('');
  const pts = unique.filter((r) => r.N && r.corpus === 'python-stdlib');
  console.log('| N = G·K | U (o200k) | U / N | U (words) | U / N |');
  console.log('| --: | --: | --: | --: | --: |');
  for (const n of [...new Set(pts.map((r) => r.N))]) {
    const o = pts.find((r) => r.N === n && r.tokenizer === 'o200k');
    const w = pts.find((r) => r.N === n && r.tokenizer === 'words');
    console.log(`| ${n} | ${o?.U_mean ?? ''} | ${o?.U_over_N ?? ''} | ${w?.U_mean ?? ''} | ${w?.U_over_N ?? ''} |`);
  }
  console.log('');
}

// 3. Step time against G: the median over rounds of each run's median step.
const time = rows('time.jsonl');
if (time.length) {
  console.log(
    `time: ${time.length} runs, load average ${Math.min(...time.map((r) => r.load1))}–${Math.max(...time.map((r) => r.load1))} on ${time[0]!.cores} cores\n`,
  );
  console.log('| model | G | dense ms/step | unique ms/step | dense table bytes | unique table bytes |');
  console.log('| --- | --: | --: | --: | --: | --: |');
  for (const model of ['lookup', 'gpt'])
    for (const G of [1, 2, 4]) {
      const at = (s: string) => time.filter((r) => r.model === model && r.G === G && r.scheme === s);
      if (!at('dense').length) continue;
      const ms = (s: string) =>
        `${median(at(s).map((r) => r.step_ms)).toFixed(0)} (${at(s)
          .map((r) => r.step_ms.toFixed(0))
          .join(', ')})`;
      console.log(
        `| ${model} | ${G} | ${ms('dense')} | ${ms('unique')} | ${mb(at('dense')[0]!.embedding_bytes)} MB | ${mb(at('unique')[0]!.embedding_bytes)} MB |`,
      );
    }
}
