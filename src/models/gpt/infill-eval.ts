/**
 * Infilling on held-out documents, for comparing FIM and non-FIM models trained on the same tokens
 * (PAPERS.md §2, "FIM for free"). Tasks are drawn from the validation split of a shard directory:
 * one non-blank line of a document is the middle, the text around it (trimmed to fit the context)
 * the prefix and suffix — the shape of HumanEval's single-line infilling.
 *
 * Two measures, both on the model's infilling prompt (PSM <PRE> prefix <SUF> suffix <MID>, or SPM):
 *  - infilling loss: mean negative log-likelihood of the middle and the closing <EOT> (teacher
 *    forcing, one forward pass per task) — the paper's headline comparison;
 *  - exact match: greedy generation up to <EOT> equals the middle line.
 * Left-to-right validation loss comes from the training log (`val_loss`, same batches for every run).
 */

import { hostTensor } from '../../engine/dtype.ts';
import { exportOnnx } from '../../engine/onnx.ts';
import { runOnWeights } from '../../engine/state.ts';
import { input } from '../../engine/tensor.ts';
import { Rng } from '../../random.ts';
import type { Shards } from '../../text/dataset.ts';
import { fimPrompt } from '../../text/fim.ts';
import { GPT } from './gpt.ts';
import type { TonyTextModel } from './model.ts';

/** Longest generated middle (one line of code). */
const MAX_MIDDLE_TOKENS = 48;

export interface InfillTask {
  path: string;
  prefix: string;
  middle: string;
  suffix: string;
}

/** 'line': the middle is one whole line; 'span': a random 2–12 character piece of one line. */
export type InfillSpan = 'line' | 'span';

/**
 * `n` infilling tasks from the validation documents, deterministic in `seed`. With span 'line' the
 * middle is a whole non-blank line (with its newline); with 'span' a random 2–12 character piece
 * inside a line (HumanEval random-span-light in miniature). Prefix and suffix keep at most
 * `contextChars` each.
 */
export function heldOutTasks(shards: Shards, n: number, seed = 0, contextChars = 400, span: InfillSpan = 'line'): InfillTask[] {
  const docs = [...shards.documents('val')].map((d) => ({ path: d.path, text: shards.tokenizer.decode([...d.ids].slice(0, -1)) }));
  const r = new Rng(seed);
  const tasks: InfillTask[] = [];
  for (let tries = 0; tasks.length < n && tries < n * 50; tries++) {
    const doc = r.pick(docs);
    const lines = doc.text.split('\n');
    const i = r.int(1, Math.max(1, lines.length - 2));
    const line = lines[i];
    if (line === undefined || line.trim().length < 4) continue;
    let before = lines.slice(0, i).join('\n') + '\n';
    let middle = `${line}\n`;
    let after = lines.slice(i + 1).join('\n');
    if (span === 'span') {
      const len = r.int(2, Math.min(12, line.length));
      const at = r.int(0, line.length - len);
      before += line.slice(0, at);
      middle = line.slice(at, at + len);
      after = `${line.slice(at + len)}\n${after}`;
      if (middle.trim().length === 0) continue;
    }
    tasks.push({ path: doc.path, prefix: before.slice(-contextChars), middle, suffix: after.slice(0, contextChars) });
  }
  return tasks;
}

export interface InfillReport {
  tasks: number;
  /** Mean NLL per middle token (nats), <EOT> included. */
  infillLoss: number;
  exactMatch: number;
}

/** Evaluate `model` on `tasks` (see the module comment). */
export async function evaluateInfill(
  model: TonyTextModel,
  tasks: readonly InfillTask[],
  onProgress?: (done: number) => void,
): Promise<InfillReport> {
  const { cfg, tokenizer: tok, runtime: rt } = model;
  const gpt = new GPT(cfg);
  const idx = input('idx', [1, cfg.blockSize], 'int64');
  const fwd = await rt.load(exportOnnx([idx, ...gpt.ps.inputs], { logits: gpt.forward(idx) }, { name: 'gpt_forward' }));
  let nll = 0;
  let count = 0;
  let exact = 0;
  for (const [k, t] of tasks.entries()) {
    // Fit the context: trim the prefix's start and the suffix's end until prompt + middle + room fits.
    let { prefix, suffix } = t;
    const target = [...tok.encode(t.middle), tok.special.eot];
    let prompt = fimPrompt(tok, prefix, suffix, model.infillFormat);
    while (prompt.length + Math.max(target.length, MAX_MIDDLE_TOKENS) > cfg.blockSize && prefix.length + suffix.length > 0) {
      prefix = prefix.slice(Math.ceil(prefix.length * 0.1));
      suffix = suffix.slice(0, Math.floor(suffix.length * 0.9));
      prompt = fimPrompt(tok, prefix, suffix, model.infillFormat);
    }
    // Teacher forcing: the prompt, then the middle and <EOT>; score the tokens after <MID>.
    const seq = [...prompt, ...target].slice(0, cfg.blockSize);
    const padded = [...seq, ...new Array<number>(cfg.blockSize - seq.length).fill(tok.special.eot)];
    const r = await runOnWeights(rt, fwd, gpt.ps, { idx: hostTensor('int64', [1, cfg.blockSize], padded) }, { fetch: ['logits'] });
    const logits = r.logits!.data as Float32Array;
    for (let p = prompt.length - 1; p < seq.length - 1; p++) {
      const row = logits.subarray(p * cfg.vocabSize, (p + 1) * cfg.vocabSize);
      let m = -Infinity;
      for (const v of row) m = Math.max(m, v);
      let z = 0;
      for (const v of row) z += Math.exp(v - m);
      nll -= row[seq[p + 1]!]! - m - Math.log(z);
      count++;
    }
    // A line middle ends at its newline; a span middle at <EOT> (the model decides where it stops).
    const line = t.middle.endsWith('\n');
    const out = await model.complete({
      prompt: prefix,
      suffix,
      maxTokens: MAX_MIDDLE_TOKENS,
      temperature: 0,
      topP: 1,
      n: 1,
      stop: line ? ['\n'] : [],
    });
    if ((line ? `${out.choices[0]!.text}\n` : out.choices[0]!.text) === t.middle) exact++;
    onProgress?.(k + 1);
  }
  return { tasks: tasks.length, infillLoss: nll / Math.max(1, count), exactMatch: exact / Math.max(1, tasks.length) };
}
