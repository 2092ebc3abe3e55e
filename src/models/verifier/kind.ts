/**
 * The GSM8K pipeline's two registry rows (src/models/index.ts), PAPERS.md §3:
 *
 *   math-generator  a byte-level GPT on GSM8K-format problems (`tony math generate` makes them, or
 *                   the real train.jsonl): first `pretrainSteps` steps of language modelling on the
 *                   whole text, then fine-tuning on question → solution (the loss on solution tokens
 *                   only), as the paper pretrains and then fine-tunes. Its checkpoints are plain
 *                   `kind: "gpt"` ones, so `tony sample`, `tony serve` and `tony eval` load them.
 *   verifier        initialised from a generator run (`--set init=runs/math-generator`), trained on
 *                   the generator's labelled samples (`tony math sample --label`) with the value
 *                   and LM losses of verifier.ts.
 */
import { latestCheckpoint, loadCheckpoint } from '../../engine/checkpoint.ts';
import type { HostTensor } from '../../engine/dtype.ts';
import { crossEntropy } from '../../engine/nn.ts';
import * as T from '../../engine/ops/index.ts';
import { input } from '../../engine/tensor.ts';
import { TonyError } from '../../errors.ts';
import { BYTE_VOCAB } from '../../text/corpus.ts';
import { ByteTokenizer, type Tokenizer } from '../../text/tokenizer.ts';
import { loadTokenizer } from '../../text/tokenizers.ts';
import { GPT, type GPTConfig, gptConfig } from '../gpt/gpt.ts';
import { loadCompletionModel } from '../gpt/model.ts';
import type { ModelKind } from '../index.ts';
import { drawExamples, type Encoded, type ExampleSet, encodeExample, layoutBatch, readRows, splitExamples } from './data.ts';
import { loadVerifier } from './model.ts';
import { traceVerifier, type VerifierSettings, verifierSettings } from './verifier.ts';

/**
 * GSM8K solutions are a few hundred characters (the procedural ones up to ~950 with 8 steps):
 * a byte-level context of 512 holds the question and solution of most problems.
 */
const MATH_BLOCK_SIZE = 512;

/** The GPT of a math model: byte-level, 512 positions, unless overridden. */
const mathGpt = (overrides: Record<string, unknown>) => gptConfig({ vocabSize: BYTE_VOCAB, blockSize: MATH_BLOCK_SIZE, ...overrides });

/** Recorded in checkpoints: how a math model's text is laid out (data.ts), and how samplers recognise one. */
export const MATH_FORMAT = 'Question: <question>\\nAnswer: <solution><eot>';

export interface GeneratorConfig {
  model: Readonly<GPTConfig>;
  /** Steps of language modelling on whole problems before fine-tuning on solutions. */
  pretrainSteps: number;
}

export const mathGeneratorKind: ModelKind<GeneratorConfig, ExampleSet> = {
  name: 'math-generator',
  kind: 'gpt',
  summary: 'a GSM8K solution generator: a byte-level GPT pretrained on problems, then fine-tuned on question → solution',
  capabilities: ['complete'],
  config: (overrides) => {
    const { pretrainSteps = 0, ...model } = overrides;
    if (typeof pretrainSteps !== 'number' || !Number.isInteger(pretrainSteps) || pretrainSteps < 0)
      throw new TonyError('config', `math-generator: pretrainSteps must be an integer ≥ 0, got ${JSON.stringify(pretrainSteps)}`);
    return { model: mathGpt(model), pretrainSteps };
  },
  data: async (paths, cfg) => {
    const tok = new ByteTokenizer();
    const all: Encoded[] = [];
    let read = 0;
    for (const path of paths) {
      for (const r of await readRows(path, { question: 'string', answer: 'string' }, 'GSM8K')) {
        read++;
        // The solution follows "Answer:" after a space, and ends with <eot>: the model learns to stop.
        const ex = encodeExample(tok, r.question, ` ${r.answer}`, cfg.model.blockSize, { eot: true });
        if (ex) all.push(ex);
      }
    }
    return splitExamples(all, read, 'math-generator');
  },
  task: (cfg, data, setup) => ({
    trace(mode = 'train') {
      const gpt = new GPT(cfg.model, mode === 'train');
      const shape = [setup.batch, cfg.model.blockSize];
      const idx = input('idx', shape, 'int64');
      const targets = input('targets', shape, 'int64');
      const lmMask = input('lmMask', shape);
      const N = setup.batch * cfg.model.blockSize;
      const logits = T.reshape(gpt.forward(idx), [N, cfg.model.vocabSize]); // (B·T, V)
      return {
        ps: gpt.ps,
        loss: crossEntropy(logits, T.reshape(targets, [N]), { weights: T.reshape(lmMask, [N]) }),
        data: [idx, targets, lmMask],
      };
    },
    batch(split, index) {
      // Validation always measures the fine-tuned objective, so its loss compares across the phases.
      const lm = split === 'train' && index < cfg.pretrainSteps ? 'all' : 'solution';
      const b = layoutBatch(
        drawExamples(data, split, index, setup.batch, setup.seed),
        cfg.model.blockSize,
        new ByteTokenizer().special.eot,
        {
          lm,
          value: 'none',
        },
      );
      return { idx: b.idx, targets: b.targets, lmMask: b.lmMask };
    },
    tokensPerStep: setup.batch * cfg.model.blockSize,
    config: {
      kind: 'gpt',
      model: { ...cfg.model },
      batch: setup.batch,
      seed: setup.seed,
      pretrain_steps: cfg.pretrainSteps,
      format: MATH_FORMAT,
      fim: { rate: 0 },
      tokenizer: { kind: 'bytes' },
      nonembedding_params: new GPT(cfg.model).nonEmbeddingParams,
    },
  }),
  load: (dir, opts = {}) => loadCompletionModel(dir, opts),
};

export interface VerifierConfig {
  settings: VerifierSettings;
  /** GPT keys given on the command line (only without `init`: with it the generator's GPT is used). */
  model: Record<string, unknown>;
}

interface VerifierData extends ExampleSet {
  model: Readonly<GPTConfig>;
  tokenizer: Tokenizer;
  init?: { dir: string; params: Record<string, HostTensor> };
  valueToken: number;
}

export const verifierKind: ModelKind<VerifierConfig, VerifierData> = {
  name: 'verifier',
  kind: 'verifier',
  summary: 'a GSM8K verifier: the generator plus a value head, trained on its labelled samples (token- or solution-level)',
  capabilities: ['score'],
  config: (overrides) => {
    const own = new Set(['level', 'lmWeight', 'valueToken', 'init']);
    const settings = verifierSettings(Object.fromEntries(Object.entries(overrides).filter(([k]) => own.has(k))));
    const model = Object.fromEntries(Object.entries(overrides).filter(([k]) => !own.has(k)));
    const gptKeys = Object.keys(gptConfig({}));
    const unknown = Object.keys(model).filter((k) => !gptKeys.includes(k));
    if (unknown.length)
      throw new TonyError('config', `unknown verifier config key '${unknown[0]}'`, `valid keys: ${[...own, ...gptKeys].join(', ')}`);
    if (settings.init && Object.keys(model).length)
      throw new TonyError(
        'config',
        `verifier: ${Object.keys(model).join(', ')} cannot be set with init: the verifier is the generator's GPT`,
        'drop those --set keys, or train without --set init=…',
      );
    if (!settings.init) mathGpt(model); // validate now, before any data is read
    return { settings, model };
  },
  data: async (paths, cfg) => {
    let model = mathGpt(cfg.model);
    let tokenizer: Tokenizer = new ByteTokenizer();
    let init: VerifierData['init'];
    if (cfg.settings.init) {
      const entry = await latestCheckpoint(cfg.settings.init);
      const ck = await loadCheckpoint<{ kind?: string; model?: Record<string, unknown>; tokenizer?: Record<string, unknown> }>(
        entry?.dir ?? cfg.settings.init,
      );
      if (ck.config.kind !== 'gpt' || !ck.config.model)
        throw new TonyError(
          'checkpoint',
          `verifier init ${ck.dir} is not a GPT checkpoint (kind '${String(ck.config.kind)}')`,
          'pass a run of tony train math-generator',
        );
      model = gptConfig(ck.config.model);
      tokenizer = loadTokenizer(ck.config.tokenizer ?? { kind: 'bytes' });
      init = { dir: ck.dir, params: ck.params };
    }
    const all: Encoded[] = [];
    let read = 0;
    let right = 0;
    for (const path of paths) {
      for (const r of await readRows(path, { question: 'string', completion: 'string', correct: 'boolean' }, 'labelled samples')) {
        read++;
        const ex = encodeExample(tokenizer, r.question, r.completion, model.blockSize, { eot: false });
        if (!ex) continue;
        ex.label = r.correct ? 1 : 0;
        right += ex.label;
        all.push(ex);
      }
    }
    const set = splitExamples(all, read, 'verifier');
    set.notes.push(
      `verifier: ${right} of ${all.length} samples are labelled correct (${((100 * right) / Math.max(1, all.length)).toFixed(1)} %)`,
    );
    const valueToken = cfg.settings.valueToken < 0 ? model.vocabSize - 1 : cfg.settings.valueToken;
    return { ...set, model, tokenizer, ...(init ? { init } : {}), valueToken };
  },
  task: (cfg, data, setup) => ({
    trace: (mode = 'train') => traceVerifier(data.model, cfg.settings, setup.batch, mode === 'train'),
    batch(split, index) {
      const b = layoutBatch(drawExamples(data, split, index, setup.batch, setup.seed), data.model.blockSize, data.tokenizer.special.eot, {
        lm: 'solution',
        value: cfg.settings.level,
      });
      return { ...b };
    },
    tokensPerStep: setup.batch * data.model.blockSize,
    config: {
      kind: 'verifier',
      model: { ...data.model },
      level: cfg.settings.level,
      lmWeight: cfg.settings.lmWeight,
      valueToken: data.valueToken,
      init: data.init?.dir ?? null,
      tokenizer: data.tokenizer.toJSON(),
      batch: setup.batch,
      seed: setup.seed,
      format: MATH_FORMAT,
    },
    ...(data.init ? { initParams: data.init.params } : {}),
  }),
  load: (dir, opts = {}) => loadVerifier(dir, opts),
};
