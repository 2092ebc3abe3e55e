/**
 * `tony start`, `tony train gpt`, `tony sample`: flags → typed config → library calls.
 */
import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import { TonyError } from '../errors.ts';
import { latestCheckpoint } from '../engine/checkpoint.ts';
import { type Device, Runtime } from '../engine/runtime.ts';
import { adamwConfig } from '../engine/optim.ts';
import { train } from '../engine/trainer.ts';
import { BYTE_VOCAB, loadByteCorpus } from '../text/corpus.ts';
import { generate } from '../text/generate.ts';
import { GPT_PRESETS, type GPTConfig, gptConfig } from '../text/gpt.ts';
import { loadCompletionModel } from '../text/model.ts';
import { ByteTokenizer, type Tokenizer } from '../text/tokenizer.ts';
import { gptTask } from '../text/lm.ts';
import { progressBar } from './progress.ts';

interface TrainFlags {
  preset: string;
  data: string[];
  ext: string[];
  steps: number;
  batch: number;
  lr: number;
  warmup: number;
  out: string;
  resume: boolean;
  device: Device;
  threads?: number;
  evalEvery: number;
  seed: number;
  maxBytes: number;
  set: string[];
}

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new TonyError('usage', `--${name} must be a positive integer, got '${v}'`);
  return n;
};
const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new TonyError('usage', `--${name} must be a positive number, got '${v}'`);
  return n;
};
const collect = (v: string, prev: string[]) => [...prev, v];

/** `--set nLayer=6` → { nLayer: 6 }: values parsed as JSON when they look like it. */
function parseSets(sets: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq < 1) throw new TonyError('usage', `--set expects key=value, got '${s}'`);
    const raw = s.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      /* a plain string */
    }
    out[s.slice(0, eq)] = value;
  }
  return out;
}

function modelConfig(preset: string, sets: readonly string[]): Readonly<GPTConfig> {
  const p = GPT_PRESETS[preset];
  if (!p) throw new TonyError('config', `unknown preset '${preset}'`, `presets: ${Object.keys(GPT_PRESETS).join(', ')}`);
  // Byte-level corpus: the vocabulary is fixed at 257 unless a preset or --set says otherwise.
  return gptConfig({ ...p, vocabSize: BYTE_VOCAB, ...parseSets(sets) });
}

async function runTraining(f: TrainFlags): Promise<void> {
  const cfg = modelConfig(f.preset, f.set);
  for (const d of f.data) {
    if (!existsSync(d)) throw new TonyError('data', `--data '${d}' does not exist`, 'pass a directory of text files');
  }
  const corpus = await loadByteCorpus(f.data, { extensions: f.ext, maxBytes: f.maxBytes, exclude: ['.min.'] });
  const rt = await Runtime.start({ device: f.device, threads: f.threads });
  process.stderr.write(
    `tony: corpus ${corpus.files} files, ${(corpus.bytes / 1e6).toFixed(1)} MB (${corpus.train.length} train / ${corpus.val.length} val tokens)\n` +
      `tony: model gpt/${f.preset} ${JSON.stringify(cfg)}\n` +
      `tony: device ${rt.description}\n`,
  );
  const ckpt = f.resume ? await latestCheckpoint(f.out) : undefined;
  if (ckpt) process.stderr.write(`tony: resuming from ${ckpt.dir}\n`);
  const bar = progressBar('train', 'steps');
  try {
    const task = gptTask(cfg, corpus, { batch: f.batch, seed: f.seed, preset: f.preset });
    const res = await train(rt, task, {
      steps: f.steps,
      optimizer: adamwConfig({ lr: f.lr, warmupSteps: f.warmup, decaySteps: f.steps }),
      seed: f.seed,
      evalEvery: f.evalEvery,
      evalBatches: 4,
      checkpointEvery: Math.max(f.evalEvery, 50),
      outDir: f.out,
      resume: f.resume,
      onProgress: (p) => bar.update(p),
    });
    bar.stop();
    const last = res.evals.at(-1);
    process.stderr.write(
      `tony: ${res.params.toLocaleString()} parameters; step ${res.finalStep}` +
        (res.history.length ? `; ${Math.round(res.tokensPerSecond).toLocaleString()} tokens/s` : '') +
        (last ? `; validation loss ${last.val_loss.toFixed(3)} nats/byte` : '') +
        `\ntony: run saved in ${f.out}\n`,
    );
    await printSamples(rt, cfg, new ByteTokenizer(), ['function ', 'import ', 'export class ', 'const '], 160, 0.8, f.seed);
  } finally {
    bar.stop();
    await rt.close();
  }
}

async function printSamples(rt: Runtime, cfg: Readonly<GPTConfig>, tok: Tokenizer, prompts: string[], tokens: number, temperature: number, seed: number) {
  const outs = await generate(rt, cfg, tok, prompts.map((p) => tok.encode(p)), { maxNewTokens: tokens, temperature, topK: 40, seed });
  prompts.forEach((p, i) => {
    process.stdout.write(`\n--- sample ${i + 1} (prompt ${JSON.stringify(p)}) ---\n${p}${outs[i]!.text}\n`);
  });
}

const trainOptions = (cmd: Command, defaults: { steps: number; out: string; data: string[] }) =>
  cmd
    .option('--preset <name>', `model preset (${Object.keys(GPT_PRESETS).join(', ')})`, 'small')
    .option('--data <dir>', 'directory of text files (repeatable)', collect, [])
    .option('--ext <ext>', 'file extension to include (repeatable)', collect, [])
    .option('--steps <n>', 'training steps', int('steps'), defaults.steps)
    .option('--batch <n>', 'sequences per step', int('batch'), 16)
    .option('--lr <x>', 'peak learning rate', num('lr'), 2e-3)
    .option('--warmup <n>', 'warmup steps', int('warmup'), 30)
    .option('--out <dir>', 'run directory (metrics.jsonl, checkpoints)', defaults.out)
    .option('--no-resume', 'start over even if the run directory has a checkpoint')
    .addOption(new Option('--device <device>', 'execution provider').choices(['cpu', 'webgpu']).default('cpu'))
    .option('--threads <n>', 'CPU threads (default: all cores)', int('threads'))
    .option('--eval-every <n>', 'evaluate on validation data every n steps', int('eval-every'), 50)
    .option('--seed <n>', 'seed for initialisation, batches and samples', (v) => Number(v), 0)
    .option('--max-bytes <n>', 'corpus size cap in bytes', int('max-bytes'), 8 << 20)
    .option('--set <key=value>', 'override a model config key (repeatable), e.g. --set nLayer=6', collect, []);

export function register(program: Command): void {
  trainOptions(
    program
      .command('start')
      .description("Tony's main job on bundled defaults: train the small GPT on the JavaScript/TypeScript in node_modules, then print samples"),
    { steps: 300, out: 'runs/start', data: ['node_modules'] },
  ).action((opts) =>
    runTraining({ ...opts, data: opts.data.length ? opts.data : ['node_modules'], ext: opts.ext.length ? opts.ext : ['.ts', '.js', '.mjs'] }),
  );

  const trainCmd = program.command('train').description('train models');
  trainOptions(trainCmd.command('gpt').description('train a byte-level GPT on a directory of text files'), {
    steps: 1000,
    out: 'runs/gpt',
    data: [],
  }).action((opts) => {
    if (!opts.data.length) throw new TonyError('usage', 'train gpt needs --data <dir>', 'e.g. --data node_modules/typescript/lib');
    return runTraining({ ...opts, ext: opts.ext.length ? opts.ext : ['.ts', '.js', '.py', '.txt', '.md'] });
  });

  program
    .command('sample')
    .description('sample text from a trained GPT run')
    .requiredOption('--run <dir>', 'run directory (its latest checkpoint) or a checkpoint directory')
    .option('--prompt <text>', 'prompt (repeatable)', collect, [])
    .option('--tokens <n>', 'new tokens per sample', int('tokens'), 200)
    .option('--temperature <x>', 'sampling temperature (0 = greedy)', (v) => Number(v), 0.8)
    .option('--seed <n>', 'sampling seed', (v) => Number(v), 0)
    .addOption(new Option('--device <device>', 'execution provider').choices(['cpu', 'webgpu']).default('cpu'))
    .action(async (opts) => {
      const model = await loadCompletionModel(opts.run, { device: opts.device });
      try {
        process.stderr.write(`tony: model ${model.id}, device ${model.runtime.description}\n`);
        await printSamples(model.runtime, model.cfg, model.tokenizer, opts.prompt.length ? opts.prompt : ['function '], opts.tokens, opts.temperature, opts.seed);
      } finally {
        await model.close();
      }
    });
}
