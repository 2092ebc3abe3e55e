/**
 * The training step in parts. A task's trace gives its parameters, batch inputs, one loss or several
 * named (weighted) losses, scalar metrics and forward-updated buffers; `objective` turns that into
 * the total that is differentiated and the scalars that are logged. From it the trainer builds either
 * the fused step (optim.ts `buildTrainStep`: forward + backward + clip + schedule + AdamW in one
 * graph, the fast default) or the two halves data-parallel training and gradient accumulation need:
 *
 *   buildGradStep   forward + backward → loss, logged scalars, gradients, buffers' new values
 *   buildApplyStep  (optim.ts) gradients → clipping, schedule, AdamW → new parameters and moments
 *
 * Running the halves one after the other computes what the fused step computes (bit-identical on
 * the CPU provider in test/engine/open-step.test.ts). `compileStep` loads whichever the run needs
 * and hides the difference behind one `run(step, lr, batch)`.
 */
import { TonyError } from '../errors.ts';
import { grad } from './autodiff.ts';
import { type HostTensor, hostTensor } from './dtype.ts';
import type { ParamSet } from './nn.ts';
import { type ExportOptions, exportOnnx, type OnnxModel } from './onnx.ts';
import * as T from './ops/index.ts';
import {
  ADAMW_DEFAULTS,
  type AdamWConfig,
  appendWeightsAndOutputs,
  buildApplyStep,
  buildTrainStep,
  type ParamGroup,
  resolveGroups,
  type StateMaps,
} from './optim.ts';
import type { Runtime } from './runtime.ts';
import { type BufferSet, stateKey } from './state.ts';
import { input, Tensor, topoSort } from './tensor.ts';

/** A named loss: its value and its weight in the total (default 1). */
export type NamedLoss = Tensor | { value: Tensor; weight: number };

/** What a task's `trace` returns: `{ ps, loss, data }`, or the same with several losses, metrics and buffers. */
export interface Traced {
  ps: ParamSet;
  /** Batch inputs, in feed order. */
  data: Tensor[];
  /** The scalar loss (exactly one of `loss` and `losses`). */
  loss?: Tensor;
  /** Named scalar losses; the total Σ weight·loss is what is differentiated. Logged as `loss_<name>`. */
  losses?: Record<string, NamedLoss>;
  /** Auxiliary scalars, not differentiated (e.g. codebook perplexity). Logged under their names. */
  metrics?: Record<string, Tensor>;
  /** Forward-updated state (state.ts). */
  buffers?: BufferSet;
}

export interface Objective {
  ps: ParamSet;
  data: Tensor[];
  /** The total loss: what is differentiated. */
  loss: Tensor;
  /** Output name → scalar, for the named losses (`loss_<name>`) and metrics. */
  logged: Record<string, Tensor>;
  buffers?: BufferSet;
}

/** Keys every metrics.jsonl row already has: a named loss or metric may not take them. */
const RESERVED = new Set(['step', 'tokens', 'loss', 'lr', 'lr_t', 'grad_norm', 'grad_sq', 'time_s']);
const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** Total loss and logged scalars of a trace; bad names and non-scalars are errors naming them. */
export function objective(t: Traced): Objective {
  if ((t.loss === undefined) === (t.losses === undefined)) {
    throw new TonyError('usage', `a task's trace must return exactly one of 'loss' and 'losses' (got ${t.loss ? 'both' : 'neither'})`);
  }
  const scalar = (what: string, x: Tensor) => {
    if (x.size !== 1) throw new TonyError('shape', `${what} must be a scalar, got shape [${x.shape}]`, 'reduce it with mean() or sum()');
    return x.rank === 0 ? x : T.reshape(x, []);
  };
  const logged: Record<string, Tensor> = {};
  const name = (n: string, key: string) => {
    if (!NAME.test(n))
      throw new TonyError('usage', `'${n}' is not a valid loss or metric name`, 'use letters, digits and _ (starting with a letter)');
    if (RESERVED.has(key) || key.startsWith('val_') || key in logged)
      throw new TonyError('usage', `the name '${key}' is taken`, `reserved: ${[...RESERVED].join(', ')}, val_*`);
    return key;
  };
  let loss = t.loss && scalar('the loss', t.loss);
  if (t.losses) {
    const entries = Object.entries(t.losses);
    if (entries.length === 0) throw new TonyError('usage', "a task's 'losses' is empty", 'return at least one loss');
    for (const [n, l] of entries) {
      const value = scalar(`loss '${n}'`, l instanceof Tensor ? l : l.value);
      const weight = l instanceof Tensor ? 1 : l.weight;
      if (!Number.isFinite(weight)) throw new TonyError('usage', `loss '${n}' has weight ${weight}`, 'weights must be finite numbers');
      logged[name(n, `loss_${n}`)] = value;
      const term = weight === 1 ? value : T.mul(value, weight);
      loss = loss ? T.add(loss, term) : term;
    }
  }
  for (const [n, m] of Object.entries(t.metrics ?? {})) logged[name(n, n)] = scalar(`metric '${n}'`, m);
  const clash = (t.buffers?.specs ?? []).filter((b) => t.ps.specs.some((s) => s.name === b.name)).map((b) => b.name);
  if (clash.length)
    throw new TonyError(
      'usage',
      `names used by both a parameter and a buffer: ${clash.join(', ')}`,
      'weights share one namespace (model.safetensors): rename one',
    );
  return { ps: t.ps, data: t.data, loss: loss!, logged, ...(t.buffers ? { buffers: t.buffers } : {}) };
}

export interface GradStepGraph extends StateMaps {
  model: OnnxModel;
  /** Output name of each trainable parameter's gradient: `grad.<name>`. */
  gradOutputs: Record<string, string>;
  /**
   * Per parameter named in `lookups`: its embedding lookup's gradient per token, output as
   * `rows.<name>` (K, D), with the ids looked up as `ids.<name>` (K) int64. `grad.<name>` is then
   * the gradient of the table's other uses only (a tied output head), and absent when it has none.
   */
  lookupOutputs: Record<string, { rows: string; ids: string; rest: boolean }>;
}

/**
 * The embedding lookups of a graph: trainable tables read by exactly one `gather` whose ids come
 * from the batch (not constants, like position tables). Their gradients are sparse in rows — what
 * data-parallel training can exchange by unique id (src/distributed/exchange.ts).
 */
export function embeddingLookups(obj: Objective, groups?: readonly ParamGroup[]): string[] {
  const { trainable } = resolveGroups(obj.ps, ADAMW_DEFAULTS, groups);
  const tables = new Map(trainable.map((tp) => [tp.spec.name, 0]));
  const order = topoSort([obj.loss]);
  const fromData = new Set<number>();
  for (const t of order) {
    if ((t.op === 'input' && !tables.has(t.name!)) || t.inputs.some((i) => fromData.has(i.id))) fromData.add(t.id);
  }
  for (const t of order) {
    const table = t.inputs[0];
    if (t.op === 'gather' && table?.op === 'input' && tables.has(table.name!) && fromData.has(t.inputs[1]!.id))
      tables.set(table.name!, tables.get(table.name!)! + 1);
  }
  return [...tables].filter(([, n]) => n === 1).map(([name]) => name);
}

/**
 * The gradients-only graph: forward and backward. Outputs: loss, the logged scalars, `grad.<name>`
 * for each trainable parameter, and the buffers' new values. `update` writes the gradients into
 * runtime state `grad:<name>` (drop those entries to fetch them instead, e.g. to all-reduce them);
 * with `accumulate`, the graph reads `grad:<name>` too and outputs the sum (micro-batches).
 */
export function buildGradStep(
  obj: Objective,
  opts: ExportOptions & { groups?: readonly ParamGroup[]; accumulate?: boolean; lookups?: readonly string[] } = {},
): GradStepGraph {
  const { groups, accumulate, lookups = [], ...exportOpts } = opts;
  const { trainable, frozen } = resolveGroups(obj.ps, ADAMW_DEFAULTS, groups); // weight decay plays no part here
  const byName = new Map(obj.ps.inputs.map((t) => [t.name!, t]));
  const params = trainable.map((tp) => byName.get(tp.spec.name)!);
  // Each lookup's output: its gradient is taken per token and not passed on into the table.
  const found = embeddingLookups(obj, groups);
  const order = lookups.length ? topoSort([obj.loss]) : [];
  const lookupNodes = lookups.map((n) => {
    if (accumulate) throw new TonyError('usage', 'per-token lookup gradients are not accumulated over micro-batches');
    if (!found.includes(n))
      throw new TonyError('usage', `'${n}' is not an embedding lookup of this model`, `lookups here: ${found.join(', ') || 'none'}`);
    return order.find((t) => t.op === 'gather' && t.inputs[0] === byName.get(n))!;
  });
  const all = grad(obj.loss, [...params, ...lookupNodes], { stop: lookupNodes });
  const grads = all.slice(0, params.length);
  const ins: Tensor[] = [...obj.data];
  const outs: Record<string, Tensor> = { loss: obj.loss };
  const maps: StateMaps = { state: {}, update: {} };
  const gradOutputs: Record<string, string> = {};
  const lookupOutputs: GradStepGraph['lookupOutputs'] = {};
  // The table's other uses, if any: a parameter its lookup is the only reader of gets no dense part.
  const readers = (p: Tensor) => order.filter((t) => t.inputs.includes(p)).length;
  lookups.forEach((n, j) => {
    const node = lookupNodes[j]!;
    const [table, ids] = node.inputs as [Tensor, Tensor];
    const K = ids.size;
    outs[`rows.${n}`] = T.reshape(all[params.length + j]!, [K, table.size / table.shape[0]!]); // (K, D)
    outs[`ids.${n}`] = T.reshape(ids, [K]);
    lookupOutputs[n] = { rows: `rows.${n}`, ids: `ids.${n}`, rest: readers(table) > 1 };
  });
  trainable.forEach((tp, i) => {
    const n = tp.spec.name;
    ins.push(params[i]!);
    maps.state[n] = stateKey.param(n);
    if (lookupOutputs[n] && !lookupOutputs[n].rest) return;
    let g = grads[i]!;
    if (accumulate) {
      const acc = input(`acc.${n}`, tp.spec.shape);
      ins.push(acc);
      maps.state[acc.name!] = stateKey.grad(n);
      g = T.add(acc, g);
    }
    outs[`grad.${n}`] = g;
    maps.update[`grad.${n}`] = stateKey.grad(n);
    gradOutputs[n] = `grad.${n}`;
  });
  appendWeightsAndOutputs(
    frozen.map((s) => byName.get(s.name)!),
    { ...(obj.buffers ? { buffers: obj.buffers } : {}), outputs: obj.logged },
    ins,
    outs,
    maps,
  );
  return {
    model: exportOnnx(ins, outs, { name: accumulate ? 'grad_accumulate_step' : 'grad_step', ...exportOpts }),
    ...maps,
    gradOutputs,
    lookupOutputs,
  };
}

/** What one optimizer step reports: the (mean) loss, the logged scalars, and the update's numbers. */
interface StepOutputs {
  loss: number;
  /** Named losses and metrics (means over the micro-batches). */
  logged: Record<string, number>;
  grad_norm: number;
  lr_t: number;
  /** Per trainable parameter, in `paramNames` order: squared gradient norms (for NaN reports). */
  grad_sq: Float32Array;
}

export interface CompiledStep {
  /** The trainable parameters, in grad_sq order. */
  paramNames: string[];
  /** One optimizer step (1-based `step`) on micro-batches `batch(0)` … `batch(k − 1)`. */
  run(step: number, lr: HostTensor, batch: (micro: number) => Record<string, HostTensor>): Promise<StepOutputs>;
}

/**
 * Compile the training step of `obj` in the runtime: the fused graph when there is one micro-batch
 * (the fast default), else — or with `split` — the gradients-only graph for the first micro-batch,
 * its accumulating variant for the rest (gradients summed in runtime state `grad:<name>`), and the
 * apply-only graph on their mean.
 */
export async function compileStep(
  rt: Runtime,
  obj: Objective,
  cfg: AdamWConfig,
  opts: { groups?: readonly ParamGroup[]; accumulate?: number; split?: boolean } = {},
): Promise<CompiledStep> {
  const k = opts.accumulate ?? 1;
  if (!Number.isInteger(k) || k < 1)
    throw new TonyError('config', `accumulate must be a positive integer, got ${k}`, 'pass the number of micro-batches per step');
  const groups = opts.groups;
  const logged = Object.keys(obj.logged);
  const scalar = (r: Record<string, HostTensor>, name: string) => (r[name]!.data as Float32Array)[0]!;
  const report = (losses: number[], r: Record<string, HostTensor>): StepOutputs => ({
    loss: losses[0]!,
    logged: Object.fromEntries(logged.map((n, i) => [n, losses[i + 1]!])),
    grad_norm: scalar(r, 'grad_norm'),
    lr_t: scalar(r, 'lr_t'),
    grad_sq: r.grad_sq!.data as Float32Array,
  });
  const fetchLosses = ['loss', ...logged];
  const fetchUpdate = ['grad_norm', 'lr_t', 'grad_sq'];

  if (k === 1 && !opts.split) {
    const g = buildTrainStep(obj.ps, obj.loss, obj.data, cfg, {}, { groups, buffers: obj.buffers, outputs: obj.logged });
    const session = await rt.load(g.model);
    return {
      paramNames: g.paramNames,
      async run(step, lr, batch) {
        const r = await rt.run(
          session,
          { ...batch(0), step: hostTensor('float32', [], [step]), lr },
          { state: g.state, update: g.update, ...(g.inPlace ? { inPlace: g.inPlace } : {}), fetch: [...fetchLosses, ...fetchUpdate] },
        );
        return report(
          fetchLosses.map((n) => scalar(r, n)),
          r,
        );
      },
    };
  }
  const first = buildGradStep(obj, { groups });
  const more = k > 1 ? buildGradStep(obj, { groups, accumulate: true }) : undefined;
  const apply = buildApplyStep(obj.ps, cfg, { groups, gradScale: 1 / k });
  const sessions = [await rt.load(first.model), more && (await rt.load(more.model))];
  const applySession = await rt.load(apply.model);
  const applyState = { ...apply.state, ...Object.fromEntries(apply.paramNames.map((n) => [`grad.${n}`, stateKey.grad(n)])) };
  return {
    paramNames: apply.paramNames,
    async run(step, lr, batch) {
      const sums = new Array<number>(fetchLosses.length).fill(0);
      for (let j = 0; j < k; j++) {
        const g = j === 0 ? first : more!;
        const r = await rt.run(sessions[j === 0 ? 0 : 1]!, batch(j), { state: g.state, update: g.update, fetch: fetchLosses });
        fetchLosses.forEach((n, i) => (sums[i]! += scalar(r, n)));
      }
      const r = await rt.run(
        applySession,
        { step: hostTensor('float32', [], [step]), lr },
        { state: applyState, update: apply.update, fetch: fetchUpdate },
      );
      return report(
        sums.map((s) => s / k),
        r,
      );
    },
  };
}
