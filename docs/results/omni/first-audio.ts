/**
 * Model-side time to first audio (no server, no network): respond() on held-out spoken questions,
 * from the call to the first transcript delta and to the first audio delta, warm (after one
 * untimed response). `npx tsx docs/results/omni/first-audio.ts <omni run> <mixture dir> <n> <threads>`
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeWav, toMono } from '../../../src/audio/wav.ts';
import { loadOmni } from '../../../src/models/omni/model.ts';
import type { EvalItem } from '../../../src/models/omni/prepare.ts';

const [run, mix, n, threads] = process.argv.slice(2) as [string, string, string, string];
const model = await loadOmni(run, { threads: Number(threads) });
const items = readFileSync(join(mix, 'eval.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as EvalItem)
  .filter((i) => i.task === 'sqa');
const ask = async (it: EvalItem) => {
  const pcm = Float32Array.from(toMono(decodeWav(new Uint8Array(readFileSync(join(mix, it.wav!))), it.wav!).audio));
  const t0 = performance.now();
  let text = Number.NaN;
  let audio = Number.NaN;
  let end = 0;
  for await (const d of model.respond([{ role: 'user', content: [{ type: 'audio', pcm }] }], {
    modalities: ['audio', 'text'],
    voice: model.voices[0]!,
    temperature: 0,
    maxOutputTokens: 160,
    signal: new AbortController().signal,
  })) {
    if (d.type === 'transcript' && Number.isNaN(text)) text = performance.now() - t0;
    if (d.type === 'audio' && Number.isNaN(audio)) audio = performance.now() - t0;
  }
  end = performance.now() - t0;
  return { text, audio, end, seconds: pcm.length / 16000 };
};
await ask(items[0]!);
const rows = [];
for (const it of items.slice(1, 1 + Number(n))) {
  const r = await ask(it);
  rows.push(r);
  console.log(
    `${it.voice}\t${it.input}\tquestion ${r.seconds.toFixed(2)} s\tfirst text ${r.text.toFixed(0)} ms\tfirst audio ${r.audio.toFixed(0)} ms\tdone ${r.end.toFixed(0)} ms`,
  );
}
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
for (const k of ['text', 'audio', 'end'] as const) {
  const xs = rows.map((r) => r[k]).filter((x) => !Number.isNaN(x));
  console.log(`${k}: p50 ${q(xs, 0.5).toFixed(0)} ms, p95 ${q(xs, 0.95).toFixed(0)} ms (n ${xs.length})`);
}
await model.close();
