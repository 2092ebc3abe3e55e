/**
 * `tony omni …`: the omni model (issue 18; PAPERS.md §10). Flags → options → src/models/omni;
 * nothing here computes. `prepare` makes the training mixture that `tony train omni` reads.
 */
import type { Command } from 'commander';
import { checkWritable } from '../io.ts';
import { prepareMixture } from '../models/omni/prepare.ts';
import { count, integer, runtimeOptions } from './flags.ts';
import { progressBar } from './progress.ts';

export function register(program: Command): void {
  const omni = program.command('omni').description('Tony-o: one transformer over text, speech and images (issue 18)');

  const prepare = omni
    .command('prepare')
    .description('synthesize and tokenize the training mixture (questions in many voices, answers in the presets, captions, images)')
    .requiredOption('--speech <dir>', 'speech tokenizer (a tony train omni-speech run)')
    .requiredOption('--image <dir>', 'image tokenizer (a tony train omni-image run)')
    .option('--vocoder <dir>', 'the MCNN the model speaks through', 'models/mcnn')
    .requiredOption('--corpus <dir>', 'speech corpus with transcripts (tony audio corpus --kind speech)')
    .requiredOption('--out <dir>', 'output directory (vocab.json, train/val/eval.jsonl, wavs/)')
    .option('--voices-per-question <n>', 'input voices each trained question is spoken in', count('voices-per-question'), 3)
    .option('--text-vocab <n>', 'BPE vocabulary size', count('text-vocab'), 512)
    .option('--seed <n>', 'seed of voices and deliveries', integer('seed', 0), 0);
  for (const o of runtimeOptions()) prepare.addOption(o);
  prepare.action(
    async (o: {
      speech: string;
      image: string;
      vocoder: string;
      corpus: string;
      out: string;
      voicesPerQuestion: number;
      textVocab: number;
      seed: number;
      threads?: number;
    }) => {
      await checkWritable(o.out, 'dir');
      const bar = progressBar('prepare');
      const r = await prepareMixture({ ...o, onProgress: bar.update });
      bar.stop();
      process.stdout.write(`tony: ${r.train} training, ${r.val} held-out examples, ${r.eval} eval items → ${o.out}\n`);
    },
  );
}
