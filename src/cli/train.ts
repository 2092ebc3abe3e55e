/**
 * `tony start`, `tony train gpt`: flags → typed config → library calls.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { dataParallel, shardTask } from '../distributed/data-parallel.ts';
import { EMBEDDING_EXCHANGES, type EmbeddingExchange } from '../distributed/exchange.ts';
import { runWorkers, workerArgv } from '../distributed/launch.ts';
import { openMpi } from '../distributed/mpi.ts';
import { latestCheckpoint } from '../engine/checkpoint.ts';
import { type Device, Runtime } from '../engine/runtime.ts';
import type { DataParallel, TrainTask } from '../engine/trainer.ts';
import { TonyError } from '../errors.ts';
import { checkWritable } from '../io.ts';
import { generate } from '../models/gpt/generate.ts';
import { GPT_PRESETS, type GPTConfig } from '../models/gpt/gpt.ts';
import { BYTE_CORPUS_EXTENSIONS, BYTE_CORPUS_MAX_BYTES, gptKind, lmKind } from '../models/gpt/kind.ts';
import { type ModelKind, modelKinds } from '../models/index.ts';
import { trainWithRecipe } from '../models/recipe.ts';
import { BYTE_VOCAB, loadByteCorpus } from '../text/corpus.ts';
import type { FimOptions } from '../text/fim.ts';
import { prepareShards } from '../text/prepare.ts';
import { ByteTokenizer, type Tokenizer } from '../text/tokenizer.ts';
import { collect, count, fraction, integer, parseSets, positive, runtimeOptions } from './flags.ts';
import { progressBar } from './progress.ts';

// Kinds from TONY_MODEL_KINDS (src/models/index.ts) get `tony train <name>` too: read them before
// commands are registered.
const kinds = await modelKinds();

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
  keepBest?: boolean;
  device: Device;
  threads?: number;
  evalEvery: number;
  seed: number;
  maxBytes: number;
  set: string[];
}

function modelConfig(preset: string, sets: readonly string[]): Readonly<GPTConfig> {
  const p = GPT_PRESETS[preset];
  if (!p) throw new TonyError('config', `unknown preset '${preset}'`, `presets: ${Object.keys(GPT_PRESETS).join(', ')}`);
  // Byte-level corpus: the vocabulary is fixed at 260 unless a preset or --set says otherwise.
  return gptKind.config({ ...p, vocabSize: BYTE_VOCAB, ...parseSets(sets) });
}

/**
 * Before any long work: the run directory must be writable, and a run resumes only on the data it
 * was trained on — otherwise its batches would silently come from other files. The data options are
 * kept in config.json as `corpus`; a run saved before they were has nothing to compare and resumes.
 */
async function checkRunDir(f: TrainFlags, corpus: Record<string, unknown>): Promise<void> {
  await checkWritable(f.out);
  if (!f.resume || !(await latestCheckpoint(f.out))) return;
  const prev = await readFile(join(f.out, 'config.json'), 'utf8').then(
    (t) => JSON.parse(t).corpus as Record<string, unknown> | undefined,
    () => undefined,
  );
  if (!prev) return;
  const changed = Object.keys({ ...prev, ...corpus }).filter((k) => JSON.stringify(prev[k]) !== JSON.stringify(corpus[k]));
  if (changed.length === 0) return;
  const was = changed.map((k) => `${k} ${JSON.stringify(prev[k])} there, ${JSON.stringify(corpus[k])} now`).join('; ');
  throw new TonyError(
    'config',
    `${f.out} was trained on other data (${was})`,
    'pass the same data options to resume it, use a new --out, or --no-resume to start over',
  );
}

async function runTraining(f: TrainFlags): Promise<void> {
  const cfg = modelConfig(f.preset, f.set);
  for (const d of f.data) {
    if (!existsSync(d)) throw new TonyError('data', `--data '${d}' does not exist`, 'pass a directory of text files');
  }
  const data = { data: f.data.map((d) => resolve(d)), ext: f.ext, maxBytes: f.maxBytes };
  await checkRunDir(f, data);
  const corpus = await loadByteCorpus(f.data, { extensions: f.ext, maxBytes: f.maxBytes, exclude: ['.min.'] });
  const rt = await Runtime.start({ device: f.device, threads: f.threads });
  process.stderr.write(
    `tony: corpus ${corpus.files} files, ${(corpus.bytes / 1e6).toFixed(1)} MB (${corpus.train.length} train / ${corpus.val.length} val tokens)\n` +
      `tony: model gpt/${f.preset} ${JSON.stringify(cfg)}\n` +
      `tony: device ${rt.description}\n`,
  );
  try {
    const task = withCorpus(gptKind.task(cfg, corpus, { batch: f.batch, seed: f.seed, preset: f.preset }), data);
    await trainAndReport(rt, task, f, { evalBatches: 4, checkpointEvery: Math.max(f.evalEvery, 50), unit: 'nats/byte' });
    await printSamples(rt, cfg, new ByteTokenizer(), ['function ', 'import ', 'export class ', 'const '], 160, 0.8, f.seed);
  } finally {
    await rt.close();
  }
}

const withCorpus = (task: TrainTask, corpus: Record<string, unknown>): TrainTask => ({ ...task, config: { ...task.config, corpus } });

/** Train with a progress bar, resuming from the run directory when asked, and report the outcome. */
async function trainAndReport(
  rt: Runtime,
  task: TrainTask,
  f: TrainFlags,
  o: { evalBatches: number; checkpointEvery: number; unit: string; next?: string; parallel?: DataParallel },
) {
  // Under data parallelism every rank trains, rank 0 alone reports.
  const say = (text: string) => (o.parallel?.rank ?? 0) === 0 && process.stderr.write(text);
  const ckpt = f.resume ? await latestCheckpoint(f.out) : undefined;
  if (ckpt) say(`tony: resuming from ${ckpt.dir}\n`);
  const drawn = progressBar('train', 'steps');
  const bar = (o.parallel?.rank ?? 0) === 0 ? drawn : { update: () => {}, stop: () => {} };
  try {
    const res = await trainWithRecipe(rt, task, {
      steps: f.steps,
      lr: f.lr,
      warmup: f.warmup,
      seed: f.seed,
      evalEvery: f.evalEvery,
      evalBatches: o.evalBatches,
      checkpointEvery: o.checkpointEvery,
      out: f.out,
      resume: f.resume,
      keepBest: f.keepBest,
      onProgress: (p) => bar.update(p),
      ...(o.parallel ? { parallel: o.parallel } : {}),
    });
    bar.stop();
    for (const n of res.notices) say(`tony: ${n}\n`);
    const last = res.evals.at(-1);
    // The kept best may predate this invocation (a resumed run): read what is on disk.
    const best = f.keepBest
      ? await readFile(join(f.out, 'best', 'state.json'), 'utf8').then(
          (t) => JSON.parse(t) as { step: number; val_loss: number },
          () => undefined,
        )
      : undefined;
    say(
      `tony: ${res.params.toLocaleString()} parameters; step ${res.finalStep}` +
        (res.history.length ? `; ${Math.round(res.tokensPerSecond).toLocaleString()} tokens/s` : '') +
        (last ? `; validation loss ${last.val_loss.toFixed(3)} ${o.unit}` : '') +
        `\ntony: run saved in ${f.out} (${o.next ?? `serve it: tony serve --model ${f.out}`})\n` +
        (best ? `tony: lowest validation loss ${best.val_loss.toFixed(3)} at step ${best.step}, kept in ${join(f.out, 'best')}\n` : ''),
    );
  } finally {
    bar.stop();
  }
}

async function runLm(f: TrainFlags & Record<string, any>): Promise<void> {
  for (const d of f.data) {
    if (!existsSync(d)) throw new TonyError('data', `--data '${d}' does not exist`, 'pass a directory of text files');
  }
  if (f.workers !== undefined && f.distributed)
    throw new TonyError('usage', '--workers starts its own MPI ranks; under mpirun pass --distributed mpi alone');
  if (f.workers !== undefined) {
    if (f.batch % f.workers !== 0)
      throw new TonyError(
        'config',
        `--batch ${f.batch} cannot be shared evenly by ${f.workers} workers`,
        `use a batch divisible by ${f.workers}`,
      );
    // Without --threads, the cores are shared out: G ranks × all cores each would fight for them.
    const threads = f.threads === undefined ? Math.max(1, Math.floor(availableParallelism() / f.workers)) : undefined;
    const code = await runWorkers(f.workers, [
      process.execPath,
      ...process.execArgv,
      process.argv[1]!,
      ...workerArgv(process.argv.slice(2), threads),
    ]);
    if (code !== 0) process.exitCode = code;
    return;
  }
  const comm = f.distributed ? await openMpi() : undefined;
  if (comm && f.batch % comm.size !== 0)
    throw new TonyError(
      'config',
      `--batch ${f.batch} cannot be shared evenly by ${comm.size} ranks`,
      `use a batch divisible by ${comm.size}`,
    );
  const lead = (comm?.rank ?? 0) === 0;
  const say = (text: string) => lead && process.stderr.write(text);
  const data = { data: f.data.map((d: string) => resolve(d)), include: f.include, exclude: f.exclude, maxBytes: f.maxBytes };
  await checkRunDir(f, data);
  const fim: Partial<FimOptions> = { rate: f.fimRate, mode: f.fimMode, span: f.fimSpan, windowEnd: f.fimWindowEnd };
  let bar = progressBar('prepare', 'it');
  let stage = '';
  // Rank 0 prepares the shards; the others wait, then find them prepared (prepareShards reuses them).
  if (comm && !lead) comm.barrier();
  const shards = await prepareShards(
    {
      roots: f.data,
      include: f.include.length ? f.include : undefined,
      exclude: ['**/node_modules/**', '**/*.min.*', ...f.exclude],
      maxBytes: f.maxBytes,
      tokenizer: f.tokenizer,
      vocabSize: f.vocab,
      ...(f.fimLevel === 'document' && f.fimRate > 0 ? { documentFim: { ...fim, seed: f.seed } } : {}),
      out: join(f.out, 'data'),
    },
    (s, p) => {
      if (!lead) return;
      if (s !== stage) {
        bar.stop();
        bar = progressBar(s, s === 'tokenizer' ? 'merges' : 'files');
        stage = s;
      }
      bar.update(p);
    },
  );
  bar.stop();
  if (comm && lead) comm.barrier();
  const tok = shards.tokenizer;
  const p = GPT_PRESETS[f.preset];
  if (!p) throw new TonyError('config', `unknown preset '${f.preset}'`, `presets: ${Object.keys(GPT_PRESETS).join(', ')}`);
  const cfg = lmKind.config({ ...p, vocabSize: tok.vocabSize, ...parseSets(f.set) });
  const rt = await Runtime.start({ device: f.device, threads: f.threads });
  say(
    `tony: data ${shards.index.stats.files} files, ${shards.tokenCount('train').toLocaleString()} train / ${shards.tokenCount('val').toLocaleString()} val tokens (${tok.name}, vocabulary ${tok.vocabSize})\n` +
      `tony: model gpt/${f.preset} ${JSON.stringify(cfg.model)}; FIM ${f.fimRate > 0 ? `${f.fimRate} ${f.fimMode} ${f.fimLevel}-level ${f.fimSpan} spans` : 'off'}\n` +
      `tony: device ${rt.description}\n` +
      (comm
        ? `tony: data-parallel over ${comm.size} MPI ranks, ${f.batch / comm.size} sequences each; embedding exchange ${f.embeddingExchange}\n`
        : ''),
  );
  try {
    const lmTask = (batch: number) =>
      withCorpus(lmKind.task(f.fimLevel === 'context' ? { ...cfg, fim } : cfg, shards, { batch, seed: f.seed, preset: f.preset }), data);
    const task = comm ? shardTask(lmTask(f.batch / comm.size), lmTask(f.batch), comm) : lmTask(f.batch);
    await trainAndReport(rt, task, f, {
      evalBatches: 8,
      checkpointEvery: Math.max(f.evalEvery, 100),
      unit: 'nats/token',
      ...(comm ? { parallel: dataParallel(comm, { exchange: f.embeddingExchange as EmbeddingExchange }) } : {}),
    });
    if (lead) await printSamples(rt, cfg.model, tok, ['import', 'def', 'class'], 96, 0.8, f.seed);
  } finally {
    shards.close();
    await rt.close();
  }
  comm?.close(); // after success only: a rank that fails exits without it, and mpirun ends the job
}

async function printSamples(
  rt: Runtime,
  cfg: Readonly<GPTConfig>,
  tok: Tokenizer,
  prompts: string[],
  tokens: number,
  temperature: number,
  seed: number,
) {
  const s = tok.special;
  const outs = await generate(
    rt,
    cfg,
    tok,
    prompts.map((p) => tok.encode(p)),
    {
      maxNewTokens: tokens,
      temperature,
      topK: 40,
      seed,
      stopTokens: [s.fimPrefix, s.fimMiddle, s.fimSuffix],
    },
  );
  prompts.forEach((p, i) => {
    process.stdout.write(`\n--- sample ${i + 1} (prompt ${JSON.stringify(p)}) ---\n${p}${outs[i]!.text}\n`);
  });
}

const trainOptions = (cmd: Command, defaults: { steps: number; out: string }) =>
  recipeOptions(cmd, { ...defaults, batch: 16, lr: 2e-3, warmup: 30, evalEvery: 50 })
    .option('--preset <name>', `model preset (${Object.keys(GPT_PRESETS).join(', ')})`, 'small')
    .option('--data <dir>', 'directory of text files (repeatable)', collect, [])
    .option('--ext <ext>', 'file extension to include (repeatable)', collect, [])
    .option('--max-bytes <n>', 'corpus size cap in bytes', count('max-bytes'), BYTE_CORPUS_MAX_BYTES)
    .option('--set <key=value>', 'override a model config key (repeatable), e.g. --set nLayer=6', collect, []);

/** What every `tony train <kind>` takes: the recipe (src/models/recipe.ts), the run, the runtime. */
function recipeOptions(
  cmd: Command,
  defaults: { steps: number; out: string; batch: number; lr: number; warmup: number; evalEvery: number },
): Command {
  cmd
    .option('--steps <n>', 'training steps', count('steps'), defaults.steps)
    .option('--batch <n>', 'examples (sequences) per step', count('batch'), defaults.batch)
    .option('--lr <x>', 'peak learning rate', positive('lr'), defaults.lr)
    .option('--warmup <n>', 'warmup steps', count('warmup'), defaults.warmup)
    .option('--out <dir>', 'run directory (metrics.jsonl, checkpoints)', defaults.out)
    .option('--no-resume', 'start over even if the run directory has a checkpoint')
    .option('--eval-every <n>', 'evaluate on validation data every n steps', count('eval-every'), defaults.evalEvery)
    .option('--keep-best', 'also keep the parameters with the lowest validation loss in <out>/best (early stopping)')
    .option('--seed <n>', 'seed for initialisation, batches and samples', integer('seed', 0), 0);
  for (const o of runtimeOptions()) cmd.addOption(o);
  return cmd;
}

export function register(program: Command): void {
  const trainCmd = program.command('train').description('train models');
  trainOptions(trainCmd.command(gptKind.name).description(`train ${gptKind.summary}`), {
    steps: 1000,
    out: 'runs/gpt',
  }).action((opts) => {
    if (!opts.data.length) throw new TonyError('usage', 'train gpt needs --data <dir>', 'e.g. --data node_modules/typescript/lib');
    return runTraining({ ...opts, ext: opts.ext.length ? opts.ext : BYTE_CORPUS_EXTENSIONS });
  });

  trainOptions(trainCmd.command(lmKind.name).description(`train ${lmKind.summary}`), {
    steps: 2000,
    out: 'runs/lm',
  })
    .option('--include <glob>', 'files to include, relative to each --data root (repeatable)', collect, [])
    .option('--exclude <glob>', 'files to leave out (repeatable)', collect, [])
    .addOption(new Option('--tokenizer <kind>', 'tokenizer').choices(['bpe', 'o200k', 'bytes']).default('bpe'))
    .option('--vocab <n>', 'BPE vocabulary size', count('vocab'), 4096)
    .option('--fim-rate <x>', 'fraction of training contexts transformed to fill-in-the-middle (0 = none)', fraction('fim-rate'), 0.5)
    .addOption(new Option('--fim-mode <mode>', 'FIM formats').choices(['joint', 'psm', 'spm']).default('joint'))
    .addOption(
      new Option('--fim-level <level>', 'apply FIM to packed contexts or to documents').choices(['context', 'document']).default('context'),
    )
    .addOption(new Option('--fim-span <span>', 'how the middle is cut').choices(['char', 'line', 'token']).default('char'))
    .option('--workers <n>', 'data-parallel ranks on this host (starts them with mpirun; Open MPI)', count('workers'))
    .addOption(
      new Option('--distributed <how>', 'run as one rank of an mpirun job (mpirun -np G tony train lm … --distributed mpi)').choices([
        'mpi',
      ]),
    )
    .addOption(
      new Option('--embedding-exchange <how>', "how ranks exchange the token table's gradient (docs/results/zipf.md)")
        .choices([...EMBEDDING_EXCHANGES])
        .default('dense'),
    )
    .addOption(
      new Option(
        '--fim-window-end <how>',
        "a fragment the context cuts off: 'eot' ends its middle with <EOT> inside the window; 'cut' (Tony's behaviour before this option) loses it",
      )
        .choices(['eot', 'cut'])
        .default('eot'),
    )
    .action(async (opts) => {
      if (!opts.data.length)
        throw new TonyError('usage', 'train lm needs --data <dir>', 'e.g. --data /usr/lib/python3.11 --include "**/*.py"');
      return runLm(opts);
    });

  // Every other row (plugin kinds): its config from --set, its data from --data, the same recipe.
  for (const kind of kinds) {
    if (kind === gptKind || kind === lmKind) continue;
    recipeOptions(trainCmd.command(kind.name).description(`train ${kind.summary}`), {
      steps: 1000,
      out: `runs/${kind.name}`,
      batch: 16,
      lr: 2e-3,
      warmup: 30,
      evalEvery: 50,
    })
      .option('--data <path>', 'training data (repeatable; what it is depends on the kind)', collect, [])
      .option('--eval-batches <n>', 'validation batches per evaluation', count('eval-batches'), 4)
      .option('--set <key=value>', 'override a config key (repeatable)', collect, [])
      .option(
        '--stage <name>',
        'which stage of a multi-stage kind to train, the same as --set stage=<name> (pointe: base, upsample, sdf, classifier; shape-e: encoder, diffusion)',
      )
      .option(
        '--level <name>',
        'which level of a multi-level kind to train, the same as --set level=<name> (vqvae, prior: bottom, middle, top; verifier: token, solution)',
      )
      .action((opts) => runKind(kind, opts));
  }
}

/** `tony train <name>` for any registry row that reads its own data. */
async function runKind(kind: ModelKind, f: TrainFlags & { evalBatches: number; stage?: string; level?: string }): Promise<void> {
  if (!kind.data)
    throw new TonyError(
      'usage',
      `model kind '${kind.name}' has no data reader; train it from the library`,
      "call its row's task() with your data",
    );
  if (!f.data.length) throw new TonyError('usage', `train ${kind.name} needs --data <path>`);
  for (const d of f.data) if (!existsSync(d)) throw new TonyError('data', `--data '${d}' does not exist`);
  const cfg = kind.config({
    ...parseSets(f.set),
    ...(f.stage !== undefined ? { stage: f.stage } : {}),
    ...(f.level !== undefined ? { level: f.level } : {}),
  });
  const data = await kind.data(f.data, cfg);
  // A reader may say what it did on the way in (e.g. resampled clips): `notes: string[]`.
  const notes = (data as { notes?: unknown })?.notes;
  if (Array.isArray(notes)) for (const n of notes) process.stderr.write(`tony: ${String(n)}\n`);
  const rt = await Runtime.start({ device: f.device, threads: f.threads });
  process.stderr.write(`tony: model ${kind.name} ${JSON.stringify(cfg)}\ntony: device ${rt.description}\n`);
  try {
    await trainAndReport(rt, kind.task(cfg, data, { batch: f.batch, seed: f.seed }), f, {
      evalBatches: f.evalBatches,
      checkpointEvery: f.evalEvery,
      unit: '(loss)',
      // what to do with the run depends on what the kind can do
      next: kind.capabilities.includes('complete')
        ? undefined
        : kind.capabilities.includes('vocode')
          ? `use it: tony audio vocode in.wav --model ${f.out} --out out.wav`
          : `load it: loadModel('${f.out}')`,
    });
  } finally {
    await rt.close();
  }
}
