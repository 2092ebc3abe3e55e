/**
 * `tony sample` and `tony infill`: text from a trained model directory, streamed to stdout.
 */
import { readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { TonyError } from '../errors.ts';
import { checkWritable } from '../io.ts';
import type { CompletionRequest } from '../models/gpt/completion.ts';
import { exportModel, loadTextModel } from '../models/index.ts';
import { collect, integer, number, runtimeOptions } from './flags.ts';

function samplingOptions(cmd: Command): Command {
  cmd
    .requiredOption('--model <dir>', 'model or run directory (its latest checkpoint)')
    .option('--max-tokens <n>', 'new tokens per sample', integer('max-tokens', 1, 1 << 20), 200)
    .option('--temperature <x>', 'sampling temperature (0 = greedy)', number('temperature', { min: 0, max: 10 }), 0.8)
    .option('--top-p <x>', 'nucleus sampling mass', number('top-p', { min: 0, max: 1 }), 0.95)
    .option('--top-k <n>', 'sample from the k most likely tokens', integer('top-k', 1, 1 << 20))
    .option('--n <n>', 'samples', integer('n', 1, 64), 1)
    .option('--stop <text>', 'stop string (repeatable, at most 4)', collect, [])
    .option('--seed <n>', 'sampling seed', integer('seed', 0, 2 ** 31), 0);
  for (const o of runtimeOptions()) cmd.addOption(o);
  return cmd;
}

async function run(opts: Record<string, any>, prompt: string, suffix?: string) {
  if (opts.stop.length > 4) throw new TonyError('usage', `at most 4 --stop strings, got ${opts.stop.length}`);
  const model = await loadTextModel(
    opts.model,
    { device: opts.device, threads: opts.threads, infillFormat: opts.format },
    suffix === undefined ? 'tony sample' : 'tony infill',
  );
  try {
    if (suffix !== undefined && !model.capabilities.includes('infill'))
      throw new TonyError('usage', `${model.id} is a '${model.kind}' model that does not infill`);
    if (suffix !== undefined) model.checkCanInfill?.();
    process.stderr.write(`tony: model ${model.id}, device ${model.provider}\n`);
    const req: CompletionRequest = {
      prompt,
      ...(suffix !== undefined ? { suffix } : {}),
      maxTokens: opts.maxTokens,
      temperature: opts.temperature,
      topP: opts.topP,
      topK: opts.topK,
      n: opts.n,
      stop: opts.stop,
      seed: opts.seed,
    };
    // One sample streams as it is generated; several print whole, one after another.
    const stream = opts.n === 1;
    if (stream) process.stdout.write(suffix !== undefined ? '' : prompt);
    // Stop generating once the reader has gone (`| head`): nothing would read the rest.
    const readerGone = new AbortController();
    process.stdout.once('close', () => readerGone.abort());
    const res = await model.complete(req, stream ? (d) => process.stdout.write(d.text) : undefined, readerGone.signal);
    if (stream) process.stdout.write('\n');
    else
      res.choices.forEach((c) =>
        process.stdout.write(`\n--- sample ${c.index + 1} ---\n${suffix !== undefined ? c.text : prompt + c.text}\n`),
      );
    if (suffix !== undefined) {
      // Where each middle ended: <EOT>, where it started writing the suffix, or at --max-tokens.
      const why = (c: (typeof res.choices)[number]) =>
        c.stopReason === 'eot'
          ? 'end of text'
          : c.stopReason === 'suffix'
            ? 'reached the suffix'
            : c.finishReason === 'length'
              ? 'max tokens'
              : `stop ${JSON.stringify(c.stopReason)}`;
      process.stderr.write(`tony: infill ended: ${res.choices.map(why).join(', ')}\n`);
    }
  } finally {
    await model.close();
  }
}

export function register(program: Command): void {
  samplingOptions(program.command('sample').description('sample text from a trained model'))
    .option('--prompt <text>', 'prompt', '')
    .action((opts) => run(opts, opts.prompt));

  samplingOptions(
    program.command('infill').description('fill in the middle between a prefix and a suffix (the model must be trained with FIM)'),
  )
    .requiredOption('--prefix <text>', 'text before the gap')
    .requiredOption('--suffix <text>', 'text after the gap')
    .addOption(
      new Option('--format <fmt>', 'prompt layout: prefix-suffix-middle or suffix-prefix-middle').choices(['psm', 'spm']).default('psm'),
    )
    .action((opts) => run(opts, opts.prefix, opts.suffix));

  program
    .command('export')
    .description("copy a run's latest weights (no optimizer state) into a model directory to ship or serve")
    .requiredOption('--run <dir>', 'run directory')
    .requiredOption('--out <dir>', 'model directory to write')
    .option('--force', 'replace the model files in a directory that is not empty (never a training run)')
    .addOption(
      new Option('--dtype <dtype>', 'weights as stored (float16 halves the size; loading widens back to float32)')
        .choices(['float32', 'float16'])
        .default('float32'),
    )
    .action(async (opts) => {
      // Export writes config.json and the weights: never over a run's own files, and over anything
      // else already there only when asked.
      const there = (await readdir(opts.out).catch(() => [] as string[])).sort();
      const what =
        resolve(opts.out) === resolve(opts.run)
          ? 'the --run directory itself'
          : there.some((f) => f === 'metrics.jsonl' || f.startsWith('ckpt-'))
            ? 'a training run'
            : undefined;
      if (what)
        throw new TonyError(
          'usage',
          `--out '${opts.out}' is ${what}: export would overwrite its config.json`,
          'export to a new directory, e.g. --out models/mine',
        );
      if (there.length > 0 && !opts.force) {
        throw new TonyError(
          'usage',
          `--out '${opts.out}' is not empty (${there.slice(0, 3).join(', ')}${there.length > 3 ? ', …' : ''})`,
          'export to a new directory, or pass --force to replace the model files there',
        );
      }
      await checkWritable(opts.out);
      const step = await exportModel(opts.run, opts.out, { float16: opts.dtype === 'float16' });
      process.stderr.write(`tony: exported step ${step} of ${opts.run} to ${opts.out}\n`);
    });
}
