/**
 * Rewrites a prepared omni mixture's spoken questions into the heard-first layout (vocab.ts) without
 * re-synthesising anything: prepare writes each spoken question's speech → text example right after
 * its spoken-answer example, with the same codes, so the transcript is at hand. The result is what
 * `tony omni prepare` now writes for the same voices and drills.
 *
 *   node --import tsx docs/results/omni/heard-first.ts <mix in> <mix out>
 */
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../src/io.ts';
import type { Example } from '../../../src/models/omni/tasks.ts';
import { OmniVocab, type OmniVocabJSON } from '../../../src/models/omni/vocab.ts';

const [mixIn, mixOut] = process.argv.slice(2) as [string, string];
const vj = JSON.parse(await readFile(join(mixIn, 'vocab.json'), 'utf8')) as OmniVocabJSON;
if (vj.heardFirst) {
  process.stderr.write(`${mixIn} is heard-first already: nothing to rewrite\n`);
  process.exit(1);
}
await cp(mixIn, mixOut, { recursive: true });
const v = OmniVocab.fromJSON(vj);
const [speech, end, answer, turn] = [v.marker('speech'), v.marker('end'), v.marker('answer'), v.marker('turn')];
const train = (await readFile(join(mixIn, 'train.jsonl'), 'utf8'))
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Example);
let rewritten = 0;
const out = train.map((e, i) => {
  if (e.task !== 'sqa' || e.ids[0] !== speech) return e;
  const q = e.ids.indexOf(end); // <|speech|> Q <|end|> <|answer|> reply…
  const asr = train[i + 1]; // <|speech|> Q <|end|> <|transcribe|> <|text|> Q' <|end|> <|turn|>
  if (!asr || asr.task !== 'asr' || e.ids[q + 1] !== answer || asr.ids.slice(0, q + 1).join() !== e.ids.slice(0, q + 1).join())
    throw new Error(`${mixIn}: example ${i} is a spoken question without its transcript after it`);
  if (asr.ids.at(-1) !== turn) throw new Error(`${mixIn}: example ${i + 1} does not end its turn`);
  rewritten++;
  return { task: 'sqa', ids: [...asr.ids.slice(0, -1), answer, ...e.ids.slice(q + 2)], from: asr.from } as Example;
});
await writeFileAtomic(join(mixOut, 'vocab.json'), JSON.stringify({ ...vj, heardFirst: true }));
await writeFileAtomic(join(mixOut, 'train.jsonl'), out.map((e) => JSON.stringify(e)).join('\n') + '\n');
process.stdout.write(`${mixOut}: ${rewritten} spoken questions heard first, of ${out.length} training examples\n`);
