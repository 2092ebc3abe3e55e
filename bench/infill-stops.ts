/**
 * How infills end (issue 21, item 9): greedy infills of held-out lines and spans by a model, counted
 * by what stopped them — <EOT>, reaching the suffix (model.ts, suffixHead), or the token limit —
 * with how often the middle is then exactly right. The figures docs/results/serving.md reports.
 *
 *   node --import tsx bench/infill-stops.ts <model dir> <shard dir> [tasks=100] [max_tokens=48] [psm|spm]
 */

import { heldOutTasks, type InfillSpan } from '../src/models/gpt/infill-eval.ts';
import { loadCompletionModel } from '../src/models/gpt/model.ts';
import { openShards } from '../src/text/dataset.ts';
import { fimPrompt } from '../src/text/fim.ts';

const [modelDir, dataDir, tasksArg = '100', maxArg = '48', format = 'psm'] = process.argv.slice(2);
if (!modelDir || !dataDir) throw new Error('usage: infill-stops.ts <model dir> <shard dir> [tasks] [max_tokens] [psm|spm]');
const shards = await openShards(dataDir);
const model = await loadCompletionModel(modelDir, { threads: 2, infillFormat: format as 'psm' | 'spm' });
for (const span of ['line', 'span'] as InfillSpan[]) {
  const tasks = heldOutTasks(shards, Number(tasksArg), 0, 400, span);
  const ended: Record<string, number> = {};
  let exact = 0;
  for (const t of tasks) {
    // Fit the context as evaluateInfill does: trim the prefix's start and the suffix's end.
    let { prefix, suffix } = t;
    while (fimPrompt(model.tokenizer, prefix, suffix, model.infillFormat).length + Number(maxArg) > model.contextLength) {
      prefix = prefix.slice(Math.ceil(prefix.length * 0.1));
      suffix = suffix.slice(0, Math.floor(suffix.length * 0.9));
    }
    const c = (await model.complete({ prompt: prefix, suffix, maxTokens: Number(maxArg), temperature: 0, topP: 1, n: 1, stop: [] }))
      .choices[0]!;
    const why = c.finishReason === 'length' ? 'length' : (c.stopReason ?? 'stop');
    ended[why] = (ended[why] ?? 0) + 1;
    // A line middle ends with its newline, which the suffix cut leaves to the suffix.
    if (c.text === t.middle || `${c.text}\n` === t.middle) exact++;
  }
  const pct = (k: number) => `${((100 * k) / tasks.length).toFixed(0)} %`;
  console.log(
    `${span}: ${tasks.length} tasks, ${format}; ended by ${Object.entries(ended)
      .map(([k, v]) => `${k} ${v} (${pct(v)})`)
      .join(', ')}; exact ${exact} (${pct(exact)})`,
  );
}
shards.close();
await model.close();
