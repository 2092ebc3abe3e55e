/**
 * `tony eval humaneval|infilling|gsm8k|sandbox` — flags → options → src/evals. Each scoring command
 * prints a progress bar, a summary table, and as its last line one JSON object of the metrics.
 */
import { fileURLToPath } from 'node:url';
import { type Command, Option } from 'commander';
import type { Device } from '../engine/runtime.ts';
import { TonyError } from '../errors.ts';
import { loadMathProblems, loadProblems, resultsPath } from '../evals/data.ts';
import { LANGUAGES, type Language } from '../evals/execute.ts';
import { CODE_SAMPLING, sampleCode, writeSamples } from '../evals/generate.ts';
import { evaluateGsm8k, GSM8K_TEST_URL } from '../evals/gsm8k.ts';
import { DEFAULT_KS, evaluateHumanEval, HUMANEVAL_URL, INFILLING_BENCHMARKS, type InfillingBenchmark } from '../evals/humaneval.ts';
import { type Api, openProvider } from '../evals/providers.ts';
import { describeLevel, enforcement, formatReport, probeIsolation } from '../evals/sandbox.ts';
import { checkWritable } from '../io.ts';
import { openMathGenerator, sampleSolutions } from '../math/sample.ts';
import { count, integer, parseNumber, runtimeOptions } from './flags.ts';
import { rankSamples } from './math.ts';
import { type Progress, progressBar } from './progress.ts';

interface CommonFlags {
  samples?: string;
  model?: string;
  modelName?: string;
  api: Api;
  apiKeyEnv: string;
  n: string;
  temperature?: string;
  topP: string;
  maxTokens?: string;
  concurrency: string;
}

/** An optional string flag as a number (flags.ts's rules); undefined when not given. */
const num = (flag: string, v: string | undefined, { int = false, min = -Infinity } = {}): number | undefined =>
  v === undefined ? undefined : parseNumber(flag, v, { integer: int, min });

/** Where `--model DIR` runs: the runtime flags every model-running command takes. */
const runtimeOf = (o: { device?: Device; threads?: number }) => ({ device: o.device, threads: o.threads });

function addGenerationFlags(cmd: Command): Command {
  for (const o of runtimeOptions()) cmd.addOption(o);
  return cmd
    .option(
      '--model <url|dir>',
      'sample first from an OpenAI-compatible base URL or a Tony model (checkpoint or run directory), then score',
    )
    .option('--model-name <name>', 'the `model` field sent to the server (default: the one model its /v1/models lists)')
    .addOption(new Option('--api <api>', 'which OpenAI API to call').choices(['completions', 'chat']).default('completions'))
    .option('--api-key-env <VAR>', 'environment variable holding the API key', 'OPENAI_API_KEY')
    .option('--n <n>', 'samples per problem when sampling', '1')
    .option('--temperature <t>', 'sampling temperature (default 0.2 for code, 0 for math)')
    .option('--top-p <p>', 'nucleus sampling', '0.95')
    .option('--max-tokens <m>', 'tokens per sample')
    .option('--concurrency <c>', 'requests in flight', '4');
}

function addSandboxFlags(cmd: Command): Command {
  return cmd
    .option('--workers <n>', 'programs run at once', '2')
    .option('--timeout <s>', 'seconds per program (the whole process tree is killed then)', '3')
    .option('--unsafe-no-sandbox', 'run programs WITHOUT isolation (only for code you trust)');
}

type GsmFlags = { data: string; calculator: boolean; verifier?: string; vote: string; device?: Device; threads?: number };

function defaultSamplesPath(bench: string): string {
  return `runs/evals/${bench}-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`;
}

function table(rows: Array<[string, string | number]>): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(4) : v}`).join('\n');
}

async function withBar<T>(label: string, unit: string, fn: (onProgress: (p: Progress) => void) => Promise<T>): Promise<T> {
  const bar = progressBar(label, unit);
  try {
    return await fn((p) => bar.update(p));
  } finally {
    bar.stop();
  }
}

async function runCode(kind: 'humaneval' | 'infilling', opts: CommonFlags & Record<string, string | boolean | undefined>): Promise<void> {
  const benchmark = kind === 'infilling' ? (opts.benchmark as InfillingBenchmark) : undefined;
  const problemsSource = (opts.problems as string | undefined) ?? (benchmark ? INFILLING_BENCHMARKS[benchmark] : HUMANEVAL_URL);
  const language = opts.language as Language;
  let samples = opts.samples;
  if (opts.model) samples ??= defaultSamplesPath(benchmark ? `infilling-${benchmark}` : 'humaneval');
  // Samples and results are written side by side: find out now, not after sampling and running every program.
  if (samples) await checkWritable(resultsPath(samples), 'file');
  let tooLong: number | undefined;
  if (opts.model) {
    const problems = await loadProblems(problemsSource, { infilling: !!benchmark });
    const provider = await openProvider(opts.model, {
      modelName: opts.modelName,
      api: opts.api,
      apiKeyEnv: opts.apiKeyEnv,
      concurrency: num('concurrency', opts.concurrency, { int: true, min: 1 })!,
      ...runtimeOf(opts as { device?: Device; threads?: number }),
    });
    const generated = await withBar(`sampling ${provider.name}`, 'problems', (onProgress) =>
      sampleCode(provider, problems.values(), {
        n: num('n', opts.n, { int: true, min: 1 })!,
        temperature: num('temperature', opts.temperature, { min: 0 }) ?? CODE_SAMPLING.temperature,
        topP: num('top-p', opts.topP, { min: 0 })!,
        maxTokens: num('max-tokens', opts.maxTokens, { int: true, min: 1 }) ?? CODE_SAMPLING.maxTokens,
        concurrency: num('concurrency', opts.concurrency, { int: true, min: 1 })!,
        api: opts.api,
        onProgress,
      }),
    ).finally(() => provider.close?.());
    await writeSamples(samples!, generated);
    process.stderr.write(`wrote ${generated.length} samples to ${samples}\n`);
    tooLong = new Set(generated.filter((g) => g.error).map((g) => g.task_id)).size;
    if (tooLong)
      process.stderr.write(
        `note: ${tooLong} problems did not fit the model's context; their samples are empty and scored as failed (reason in the samples' "error")\n`,
      );
  }
  if (!samples) throw new TonyError('usage', 'nothing to score: pass --samples FILE, or --model URL to sample first');
  const ks = String(opts.k)
    .split(',')
    .map((s) => num('k', s.trim(), { int: true, min: 1 })!);
  const report = await withBar('executing', 'programs', (onProgress) =>
    evaluateHumanEval({
      problems: problemsSource,
      samples: samples!,
      ...(benchmark ? { infilling: benchmark } : {}),
      ks,
      workers: num('workers', opts.workers as string, { int: true, min: 1 })!,
      language,
      unsafeNoSandbox: !!opts.unsafeNoSandbox,
      limits: { timeoutMs: num('timeout', opts.timeout as string, { min: 0.1 })! * 1000 },
      onProgress,
    }),
  );
  const passed = report.results.filter((r) => r.passed).length;
  process.stdout.write(
    `${table([
      ['benchmark', benchmark ? `humaneval-infilling/${benchmark}` : 'humaneval'],
      ['problems attempted', `${report.attempted} of ${report.problems}`],
      ['samples', report.samples],
      ['passed', `${passed} (${((100 * passed) / report.samples).toFixed(1)} %)`],
      ['timed out', report.results.filter((r) => r.result === 'timed out').length],
      ...(tooLong !== undefined ? [['prompt longer than the context', `${tooLong} problems (failed)`] as [string, string]] : []),
      ...Object.entries(report.metrics),
      ['wall time', `${(report.wallMs / 1000).toFixed(1)} s`],
      ['results', report.resultsFile ?? '-'],
    ])}\n`,
  );
  if (Object.keys(report.metrics).length < ks.length) {
    process.stderr.write(`note: pass@k is reported only for k ≤ the fewest samples any problem has\n`);
  }
  process.stdout.write(`${JSON.stringify(report.metrics)}\n`);
}

/** Registers `tony eval …`. */
export function register(program: Command): void {
  const evalCmd = program
    .command('eval')
    .description('evaluate code and math samples (HumanEval, HumanEval-infilling, GSM8K) in a sandbox');
  registerTiny(evalCmd);

  const he = evalCmd
    .command('humaneval')
    .description('HumanEval functional correctness, pass@k')
    .option('--samples <file>', 'samples {task_id, completion} (.jsonl[.gz]); with --model, where to write them')
    .option('--problems <path|url>', 'problems file', HUMANEVAL_URL)
    .option('--k <list>', 'k values for pass@k', DEFAULT_KS.join(','))
    .addOption(new Option('--language <lang>', 'language of the problems').choices([...LANGUAGES]).default('python'));
  addSandboxFlags(he);
  addGenerationFlags(he).action((o) => runCode('humaneval', o));

  const inf = evalCmd
    .command('infilling')
    .description('HumanEval-infilling (FIM) functional correctness, pass@k')
    .addOption(
      new Option('--benchmark <name>', 'which infilling benchmark').choices(Object.keys(INFILLING_BENCHMARKS)).makeOptionMandatory(),
    )
    .option('--samples <file>', 'samples {task_id, completion}; with --model, where to write them')
    .option('--problems <path|url>', 'problems file (default: the benchmark upstream)')
    .option('--k <list>', 'k values for pass@k', DEFAULT_KS.join(','))
    .addOption(
      new Option('--language <lang>')
        .choices([...LANGUAGES])
        .default('python')
        .hideHelp(),
    );
  addSandboxFlags(inf);
  addGenerationFlags(inf).action((o) => runCode('infilling', o));

  const gsm = evalCmd
    .command('gsm8k')
    .description('GSM8K exact match and majority vote')
    .option('--samples <file>', 'samples {task_id: "gsm8k/<i>" | question, completion}; with --model, where to write them')
    .option('--data <path|url>', 'GSM8K test file', GSM8K_TEST_URL)
    .option('--no-calculator', 'when sampling, let the model do its own arithmetic')
    .option('--verifier <dir>', 'also rank the samples with a verifier (tony train verifier): best-of-N and top-k vote against N')
    .option('--vote <k>', 'with --verifier: the top k by score vote on the answer', '5');
  addGenerationFlags(gsm).action(async (o: CommonFlags & GsmFlags) => {
    const vote = num('vote', o.vote, { int: true, min: 1 })!; // before any sampling
    let samples = o.samples;
    if (o.model) samples ??= defaultSamplesPath('gsm8k');
    if (samples) await checkWritable(resultsPath(samples), 'file');
    if (o.model) {
      const problems = await loadMathProblems(o.data);
      // A math-generator run samples in its own Question/Answer layout (src/math/sample.ts).
      const provider =
        (await openMathGenerator(o.model, runtimeOf(o))) ??
        (await openProvider(o.model, {
          modelName: o.modelName,
          api: o.api,
          apiKeyEnv: o.apiKeyEnv,
          concurrency: num('concurrency', o.concurrency, { int: true, min: 1 })!,
          ...runtimeOf(o),
        }));
      const generated = await withBar(`sampling ${o.model}`, 'problems', (onProgress) =>
        sampleSolutions(provider, problems, {
          n: num('n', o.n, { int: true, min: 1 })!,
          temperature: num('temperature', o.temperature, { min: 0 }) ?? 0,
          topP: num('top-p', o.topP, { min: 0 })!,
          maxTokens: num('max-tokens', o.maxTokens, { int: true, min: 1 }) ?? 400,
          concurrency: num('concurrency', o.concurrency, { int: true, min: 1 })!,
          calculator: o.calculator,
          seed: 0,
          onProgress,
        }),
      ).finally(() => provider.close?.());
      await writeSamples(samples!, generated);
      process.stderr.write(`wrote ${generated.length} samples to ${samples}\n`);
    }
    if (!samples) throw new TonyError('usage', 'nothing to score: pass --samples FILE, or --model URL to sample first');
    const r = await evaluateGsm8k({ data: o.data, samples });
    process.stdout.write(
      `${table([['problems', r.problems], ['samples', r.samples], ...Object.entries(r.metrics), ['results', r.resultsFile ?? '-']])}\n`,
    );
    process.stdout.write(`${JSON.stringify(r.metrics)}\n`);
    if (o.verifier) process.stdout.write(await rankSamples({ ...runtimeOf(o), verifier: o.verifier, samples, data: o.data, vote }));
  });

  evalCmd
    .command('sandbox')
    .description('check which isolation layers work here and which level runs will use (exit 1: cannot isolate)')
    .action(async () => {
      const r = await probeIsolation();
      process.stdout.write(`${formatReport(r)}\n`);
      if (r.level) {
        const limits = enforcement(r.level)
          .map(([limit, layer]) => `  ${limit.padEnd(16)} ${layer}`)
          .join('\n');
        process.stdout.write(`which layer enforces each limit:\n${limits}\nsandbox: ready — isolation level ${describeLevel(r.level)}\n`);
      } else {
        process.stdout.write(
          'sandbox: CANNOT ISOLATE — tony eval refuses to run programs here (install the MISSING layers, or pass --unsafe-no-sandbox for code you trust)\n',
        );
        process.exitCode = 1;
      }
      process.stdout.write(`${JSON.stringify({ ok: r.ok })}\n`);
    });

  const vocoder = evalCmd
    .command('vocoder')
    .description(
      'spectrogram inversion on whole held-out utterances: MCNN against Griffin-Lim, spectral convergence and log-spectral distance (dB), wall time',
    )
    .option(
      '--model <dir>',
      'an MCNN run or model directory (default: the bundled models/mcnn)',
      fileURLToPath(new URL('../../models/mcnn', import.meta.url)),
    )
    .requiredOption('--data <path>', 'a speech or music dataset (tony audio corpus, LJSpeech/LibriSpeech, a WAV folder)')
    .addOption(
      new Option('--split <which>', "'val': the clips tony train mcnn holds out (unseen voices and sentences); 'all': every clip")
        .choices(['val', 'all'])
        .default('val'),
    )
    .option('--clips <n>', 'clips scored at most (the first, in id order)', count('clips'), 40)
    .option('--griffin-lim <iters>', "Griffin-Lim (fast, momentum 0.99) iterations to compare, comma-separated; '' for none", '8,32');
  for (const opt of runtimeOptions()) vocoder.addOption(opt);
  vocoder.action(
    async (o: {
      model: string;
      data: string;
      split: 'val' | 'all';
      clips: number;
      griffinLim: string;
      device: Device;
      threads?: number;
    }) => {
      const iters = o.griffinLim
        .split(',')
        .filter((s) => s.trim() !== '')
        .map((s) => parseNumber('griffin-lim', s.trim(), { integer: true, min: 1 }));
      const [{ loadModel }, { readClips }, { scoreMcnn, scoreGriffinLim }] = await Promise.all([
        import('../models/index.ts'),
        import('../models/mcnn/kind.ts'),
        import('../models/mcnn/eval.ts'),
      ]);
      const m = await loadModel(o.model ?? fileURLToPath(new URL('../../models/mcnn', import.meta.url)), runtimeOf(o));
      try {
        if (!m.capabilities.includes('vocode'))
          throw new TonyError(
            'usage',
            `${o.model} is a '${m.kind}' model; tony eval vocoder scores an MCNN`,
            'pass a run of tony train mcnn',
          );
        const v = m as unknown as import('../models/mcnn/vocoder.ts').MCNNVocoder;
        const data = await readClips([o.data], v.cfg);
        for (const n of data.notes) process.stderr.write(`tony: ${n}\n`);
        const pool = o.split === 'val' ? data.val : [...data.train, ...data.val];
        const clips = [...pool].sort((a, b) => a.id.localeCompare(b.id)).slice(0, o.clips);
        const rows = [];
        rows.push(await withBar('mcnn', 'clips', (p) => scoreMcnn(v, clips, (done) => p({ done, total: clips.length }))));
        for (const k of iters)
          rows.push(
            await withBar(`griffin-lim ${k}`, 'clips', (p) =>
              scoreGriffinLim(v.cfg, clips, k, {}, (done) => p({ done, total: clips.length })),
            ),
          );
        const secs = rows[0]!.seconds;
        process.stdout.write(
          `${clips.length} ${o.split === 'val' ? 'held-out ' : ''}clips, ${secs.toFixed(1)} s of audio (${o.data})\n` +
            `  ${'method'.padEnd(18)} ${'SC (dB)'.padStart(8)} ${'LSD (dB)'.padStart(9)} ${'wall (s)'.padStart(9)} ${'× real time'.padStart(12)}\n` +
            rows
              .map(
                (r) =>
                  `  ${r.method.padEnd(18)} ${r.scDb.toFixed(2).padStart(8)} ${r.lsd.toFixed(2).padStart(9)} ${r.wallSeconds.toFixed(2).padStart(9)} ${(r.seconds / r.wallSeconds).toFixed(1).padStart(12)}` +
                  (r.nonFinite ? `  (${r.nonFinite} clips not finite)` : ''),
              )
              .join('\n') +
            '\n',
        );
        process.stdout.write(
          `${JSON.stringify({ clips: clips.length, seconds: secs, results: rows.map((r) => ({ method: r.method, sc_db: r.scDb, lsd: r.lsd, wall_s: r.wallSeconds, non_finite: r.nonFinite })) })}\n`,
        );
      } finally {
        await m.close();
      }
    },
  );

  const heldout = evalCmd
    .command('heldout-infill')
    .description('single-line infilling on held-out documents of a shard directory: infilling loss and exact match (FIM vs non-FIM)')
    .requiredOption('--model <dir>', 'Tony model or run directory')
    .requiredOption('--data <dir>', 'shard directory (e.g. runs/<name>/data) whose validation split holds the documents')
    .option('--n <n>', 'tasks', count('n'), 200)
    .option('--seed <n>', 'task seed', integer('seed', 0), 0)
    .option('--format <fmt>', 'infilling prompt layout: psm or spm', 'psm')
    .option('--span <kind>', "middle: a whole 'line', or a 2–12 character 'span' inside a line", 'line');
  for (const opt of runtimeOptions()) heldout.addOption(opt);
  heldout.action(
    async (o: {
      model: string;
      data: string;
      n: number;
      seed: number;
      format: 'psm' | 'spm';
      span: 'line' | 'span';
      device: Device;
      threads?: number;
    }) => {
      if (o.span !== 'line' && o.span !== 'span') throw new TonyError('usage', `--span must be line or span, got '${o.span}'`);
      if (o.format !== 'psm' && o.format !== 'spm') throw new TonyError('usage', `--format must be psm or spm, got '${o.format}'`);
      const [{ loadTextModel }, { TonyTextModel }, { openShards }, { evaluateInfill, heldOutTasks }] = await Promise.all([
        import('../models/index.ts'),
        import('../models/gpt/model.ts'),
        import('../text/dataset.ts'),
        import('../models/gpt/infill-eval.ts'),
      ]);
      const shards = await openShards(o.data);
      const model = await loadTextModel(o.model, { infillFormat: o.format, ...runtimeOf(o) }, 'tony eval heldout-infill');
      // The infilling loss reads the GPT's own logits, so this eval is for GPT checkpoints.
      if (!(model instanceof TonyTextModel)) {
        await model.close();
        throw new TonyError('usage', `${o.model} is a '${model.kind}' model; heldout-infill scores GPT checkpoints`);
      }
      try {
        const tasks = heldOutTasks(shards, o.n, o.seed, 400, o.span);
        const r = await withBar('infill', 'tasks', (onProgress) =>
          evaluateInfill(model, tasks, (done) => onProgress({ done, total: tasks.length })),
        );
        process.stdout.write(
          `${table([
            ['model', o.model],
            ['format', o.format],
            ['span', o.span],
            ['tasks', r.tasks],
            ['infill loss (nats/token)', r.infillLoss],
            ['exact match', r.exactMatch],
          ])}\n`,
        );
        process.stdout.write(
          `${JSON.stringify({ infill_loss: r.infillLoss, exact_match: r.exactMatch, tasks: r.tasks, format: o.format, span: o.span })}\n`,
        );
      } finally {
        shards.close();
        await model.close();
      }
    },
  );
}

/** Comma-separated numbers of a flag, each checked by flags.ts's rules. */
const numberList = (flag: string, v: string, rule: Parameters<typeof parseNumber>[2]) =>
  v
    .split(',')
    .filter((x) => x.trim() !== '')
    .map((x) => parseNumber(flag, x.trim(), rule));

/**
 * `tony eval tiny-generate|tiny-passk|tiny-infill`: the procedural tiny-function benchmark
 * (src/evals/tinyfuncs.ts) — its training corpus and held-out problems, pass@k by temperature, and
 * infilling success (FIM prompt or prefix only).
 */
function registerTiny(evalCmd: Command): void {
  evalCmd
    .command('tiny-generate')
    .description('write the tiny-function training corpus (<out>/train/*.py) and held-out problems (problems.jsonl, infill-<span>.jsonl)')
    .requiredOption('--out <dir>', 'directory to write')
    .option('--train <n>', 'training functions', count('train'), 20000)
    .option('--test <n>', 'held-out functions', count('test'), 40)
    .option('--per-file <n>', 'functions per training file (a file is one document)', count('per-file'), 50)
    .option('--seed <n>', 'seed', integer('seed', 0), 0)
    .action(async (o: { out: string; train: number; test: number; perFile: number; seed: number }) => {
      const [{ tinyFunctions, infillProblem, corpusText, INFILL_SPANS }, { Rng }, { writeFileAtomic }, { join }] = await Promise.all([
        import('../evals/tinyfuncs.ts'),
        import('../random.ts'),
        import('../io.ts'),
        import('node:path'),
      ]);
      await checkWritable(o.out, 'dir');
      const { train, test } = tinyFunctions({ train: o.train, test: o.test, seed: o.seed });
      for (let i = 0; i * o.perFile < train.length; i++) {
        const name = join(o.out, 'train', `tiny-${String(i).padStart(4, '0')}.py`);
        await writeFileAtomic(name, `${corpusText(train.slice(i * o.perFile, (i + 1) * o.perFile))}\n`);
      }
      const row = (p: import('../evals/data.ts').Problem) =>
        JSON.stringify({
          task_id: p.task_id,
          prompt: p.prompt,
          entry_point: p.entry_point,
          canonical_solution: p.canonical_solution,
          test: p.test,
          ...(p.suffix !== undefined ? { suffix: p.suffix } : {}),
        });
      await writeFileAtomic(join(o.out, 'problems.jsonl'), `${test.map(row).join('\n')}\n`);
      // One task per held-out function and span kind; its own stream per kind, so kinds do not shift each other.
      for (const [k, span] of INFILL_SPANS.entries()) {
        const rng = new Rng(o.seed * 31 + k + 1);
        await writeFileAtomic(join(o.out, `infill-${span}.jsonl`), `${test.map((f) => row(infillProblem(f, span, rng))).join('\n')}\n`);
      }
      process.stderr.write(
        `tony: wrote ${train.length} training functions (${Math.ceil(train.length / o.perFile)} files) and ${test.length} held-out problems (${new Set(test.map((f) => f.structure)).size} structures none of the training functions has) to ${o.out}\n`,
      );
    });

  const passk = evalCmd
    .command('tiny-passk')
    .description('pass@k against sampling temperature on held-out tiny functions (n samples per problem, sandboxed)')
    .requiredOption('--model <dir>', 'Tony text model (checkpoint or run directory)')
    .requiredOption('--problems <file>', 'problems.jsonl from tony eval tiny-generate (or any HumanEval-format file)')
    .option('--n <n>', 'samples per problem and temperature', count('n'), 200)
    .option('--temperatures <list>', 'temperatures', '0.2,0.4,0.6,0.8,1.0')
    .option('--k <list>', 'k values', '1,10,100')
    .option('--top-p <p>', 'nucleus mass (Codex: 0.95)', '0.95')
    .option('--seed <n>', 'sampling seed', integer('seed', 0), 0)
    .option('--limit <n>', 'only the first n problems', count('limit'))
    .option('--out <file>', 'also write per-problem pass counts as JSON');
  addSandboxFlags(passk);
  for (const opt of runtimeOptions()) passk.addOption(opt);
  passk.action(
    async (o: {
      model: string;
      problems: string;
      n: number;
      temperatures: string;
      k: string;
      topP: string;
      seed: number;
      limit?: number;
      out?: string;
      workers: string;
      timeout: string;
      unsafeNoSandbox?: boolean;
      device: Device;
      threads?: number;
    }) => {
      const temperatures = numberList('temperatures', o.temperatures, { min: 0, exclusiveMin: true });
      const ks = numberList('k', o.k, { integer: true, min: 1 });
      const tooBig = ks.filter((k) => k > o.n);
      if (tooBig.length)
        throw new TonyError('usage', `pass@${tooBig[0]} needs at least ${tooBig[0]} samples; --n is ${o.n}`, `raise --n or drop k`);
      if (o.out) await checkWritable(o.out, 'file');
      const [{ loadTextModel }, { Sandbox }, { passAtKByTemperature }, { writeFileAtomic }] = await Promise.all([
        import('../models/index.ts'),
        import('../evals/sandbox.ts'),
        import('../evals/tinyfuncs-run.ts'),
        import('../io.ts'),
      ]);
      const problems = [...(await loadProblems(o.problems)).values()].slice(0, o.limit);
      const sb = await Sandbox.open({
        unsafeNoSandbox: !!o.unsafeNoSandbox,
        limits: { timeoutMs: parseNumber('timeout', o.timeout, { min: 0.1 }) * 1000 },
      });
      const model = await loadTextModel(o.model, runtimeOf(o), 'tony eval tiny-passk');
      const started = performance.now();
      const rows = await withBar('tiny-passk', 'prompts', (onProgress) =>
        passAtKByTemperature(model, sb, problems, {
          n: o.n,
          temperatures,
          ks,
          topP: parseNumber('top-p', o.topP, { min: 0, max: 1, exclusiveMin: true }),
          seed: o.seed,
          workers: parseNumber('workers', o.workers, { integer: true, min: 1 }),
          onProgress,
        }),
      ).finally(() => model.close());
      const head = `  ${'T'.padEnd(5)}${ks.map((k) => `pass@${k}`.padStart(11)).join('')}   distinct programs`;
      const lines = rows.map(
        (r) =>
          `  ${r.temperature.toFixed(2).padEnd(5)}${ks.map((k) => r.metrics[`pass@${k}`]!.toFixed(4).padStart(11)).join('')}   ${r.executed}`,
      );
      const best = ks.map((k) => {
        const top = rows.reduce((a, b) => (b.metrics[`pass@${k}`]! > a.metrics[`pass@${k}`]! ? b : a));
        return `pass@${k}: T = ${top.temperature}`;
      });
      process.stdout.write(
        `${problems.length} problems × ${o.n} samples (${o.model}), ${((performance.now() - started) / 1000).toFixed(0)} s\n${head}\n${lines.join('\n')}\n  best temperature — ${best.join(', ')}\n`,
      );
      const json = { problems: problems.length, n: o.n, top_p: Number(o.topP), seed: o.seed, rows };
      if (o.out) await writeFileAtomic(o.out, `${JSON.stringify(json)}\n`);
      process.stdout.write(`${JSON.stringify({ rows: rows.map((r) => ({ temperature: r.temperature, ...r.metrics })) })}\n`);
    },
  );

  const infill = evalCmd
    .command('tiny-infill')
    .description('greedy infilling success (exact match, pass rate) on held-out tiny functions: FIM prompt or prefix only')
    .requiredOption('--model <dir>', 'Tony text model (checkpoint or run directory)')
    .requiredOption('--problems <dir>', 'directory from tony eval tiny-generate (its infill-<span>.jsonl)')
    .addOption(
      new Option('--mode <mode>', "'fim': prefix and suffix in the model's FIM layout; 'prefix': the left-to-right baseline, prefix only")
        .choices(['fim', 'prefix'])
        .default('fim'),
    )
    .addOption(new Option('--format <fmt>', 'FIM layout').choices(['psm', 'spm']).default('psm'))
    .option('--spans <list>', 'span kinds', 'identifier,expression,line,span');
  addSandboxFlags(infill);
  for (const opt of runtimeOptions()) infill.addOption(opt);
  infill.action(
    async (o: {
      model: string;
      problems: string;
      mode: 'fim' | 'prefix';
      format: 'psm' | 'spm';
      spans: string;
      workers: string;
      timeout: string;
      unsafeNoSandbox?: boolean;
      device: Device;
      threads?: number;
    }) => {
      const [{ loadTextModel }, { Sandbox }, { infillSuccess }, { INFILL_SPANS }, { join }] = await Promise.all([
        import('../models/index.ts'),
        import('../evals/sandbox.ts'),
        import('../evals/tinyfuncs-run.ts'),
        import('../evals/tinyfuncs.ts'),
        import('node:path'),
      ]);
      const spans = o.spans.split(',').map((s) => s.trim());
      for (const s of spans)
        if (!(INFILL_SPANS as readonly string[]).includes(s))
          throw new TonyError('usage', `--spans: '${s}' is not a span kind`, `choose from ${INFILL_SPANS.join(', ')}`);
      const sb = await Sandbox.open({
        unsafeNoSandbox: !!o.unsafeNoSandbox,
        limits: { timeoutMs: parseNumber('timeout', o.timeout, { min: 0.1 }) * 1000 },
      });
      // No checkCanInfill: a FIM-0 model's score on the sentinel layout is the paper's (unfair) baseline, reported beside the fair one.
      const model = await loadTextModel(o.model, { infillFormat: o.format, ...runtimeOf(o) }, 'tony eval tiny-infill');
      const results: Record<string, import('../evals/tinyfuncs-run.ts').InfillScore> = {};
      try {
        for (const span of spans) {
          const problems = [...(await loadProblems(join(o.problems, `infill-${span}.jsonl`), { infilling: true })).values()];
          const r = await withBar(`infill ${span}`, 'tasks', (onProgress) =>
            infillSuccess(model, sb, problems, o.mode, {
              // Identifiers, expressions and lines lie within one line by construction; random spans may not.
              singleLine: span !== 'span',
              workers: parseNumber('workers', o.workers, { integer: true, min: 1 }),
              onProgress,
            }),
          );
          results[span] = r.score;
        }
      } finally {
        await model.close();
      }
      process.stdout.write(
        `${o.model}, mode ${o.mode}${o.mode === 'fim' ? ` (${o.format})` : ''}\n${table(
          Object.entries(results).map(([span, r]) => [
            span,
            `exact ${(100 * r.exactMatch).toFixed(1)} %   pass ${(100 * r.passRate).toFixed(1)} %   (${r.tasks} tasks)` +
              (r.firstLine
                ? `   cut at the first newline: exact ${(100 * r.firstLine.exactMatch).toFixed(1)} %   pass ${(100 * r.firstLine.passRate).toFixed(1)} %`
                : ''),
          ]),
        )}\n`,
      );
      process.stdout.write(`${JSON.stringify({ model: o.model, mode: o.mode, format: o.format, results })}\n`);
    },
  );
}
