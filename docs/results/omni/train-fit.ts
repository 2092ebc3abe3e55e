/**
 * How well the model answers its own training examples (the fit, not generalisation): the first 25
 * spoken-question and 25 speech → text training examples, prompted with their own codes, greedy.
 *   npx tsx docs/results/omni/train-fit.ts <omni run> <mixture dir>
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { editDistance, normalise } from '../../../src/models/omni/eval.ts';
import { loadOmni } from '../../../src/models/omni/model.ts';
import type { Example } from '../../../src/models/omni/tasks.ts';

const [run, mix] = process.argv.slice(2) as [string, string];
const model = await loadOmni(run, { threads: 2 });
const v = model.vocab;
const train = readFileSync(join(mix, 'train.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Example);
const end = v.marker('end');
for (const task of ['sqa', 'asr'] as const) {
  const ex = train.filter((e) => e.task === task).slice(0, 25);
  let score = 0;
  for (const e of ex) {
    const prompt = e.ids.slice(0, e.from);
    const target = v.decodeText(e.ids.slice(e.from, e.ids.indexOf(end, e.from)));
    // biome-ignore lint/suspicious/noExplicitAny: the private sampler, used here for the fit only
    const ids: number[] = await (model as any).sample(prompt, { maxNewTokens: 64, temperature: 0, stop: [end] });
    const got = v.decodeText(ids);
    score +=
      task === 'sqa'
        ? normalise(got) === normalise(target)
          ? 1
          : 0
        : editDistance(normalise(got), normalise(target)) / Math.max(1, normalise(target).length);
    console.log(`${task}\t${JSON.stringify(target)}\t→ ${JSON.stringify(got)}`);
  }
  console.log(
    `${task}: ${task === 'sqa' ? 'answers right' : 'character error rate'} ${(score / ex.length).toFixed(3)} over ${ex.length} training examples`,
  );
}
await model.close();
