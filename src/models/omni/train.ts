/**
 * Training the omni transformer: Tony's GPT (src/models/gpt/gpt.ts) over the one vocabulary, on the
 * mixture prepare.ts wrote. Examples are packed into rows (packRows), padded with <|pad|>; the loss is the next-token
 * cross-entropy over each example's response only (from `from` on: the prompt is conditioning, and
 * the few minutes of CPU go to what the model must say). Tasks are drawn uniformly, spoken
 * question → answer twice as often (the headline task).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hostTensor } from '../../engine/dtype.ts';
import { crossEntropy } from '../../engine/nn.ts';
import * as T from '../../engine/ops/index.ts';
import { input } from '../../engine/tensor.ts';
import type { TrainTask } from '../../engine/trainer.ts';
import { TonyError } from '../../errors.ts';
import { readText } from '../../io.ts';
import { prng } from '../../random.ts';
import { GPT, type GPTConfig, gptConfig } from '../gpt/gpt.ts';
import type { TrainSetup } from '../index.ts';
import type { Example } from './tasks.ts';
import { OmniVocab, type OmniVocabJSON } from './vocab.ts';

/** The omni row's defaults: sized for two shared CPU cores (docs/results/omni.md "Model"). */
const OMNI_GPT = { blockSize: 256, nLayer: 4, nHead: 4, dModel: 192 } as const;

/** How often each task is drawn, relative. */
const TASK_WEIGHTS: Record<Example['task'], number> = { lm: 1, tts: 1, asr: 1, sqa: 2, tqa: 1, img2cap: 1, cap2img: 1 };

export interface OmniData {
  dir: string;
  vocab: OmniVocab;
  train: Example[];
  val: Example[];
  /** Where the tokenizers and the vocoder are (components.json): loadOmni's fallback. */
  components: Record<string, string>;
}

async function readExamples(path: string): Promise<Example[]> {
  const out: Example[] = [];
  (await readText(path)).split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let e: Example;
    try {
      e = JSON.parse(line) as Example;
    } catch (err) {
      throw new TonyError('data', `${path}:${i + 1}: not JSON (${(err as Error).message})`, 'make it with tony omni prepare');
    }
    if (!Array.isArray(e.ids) || typeof e.from !== 'number' || !(e.task in TASK_WEIGHTS))
      throw new TonyError('data', `${path}:${i + 1}: an example needs task, ids and from`, 'make it with tony omni prepare');
    out.push(e);
  });
  return out;
}

/** A `tony omni prepare` directory. */
export async function readOmniData(paths: readonly string[]): Promise<OmniData> {
  if (paths.length !== 1)
    throw new TonyError('usage', `omni trains on one prepared directory, got ${paths.length}`, 'tony omni prepare --out <dir>');
  const dir = paths[0]!;
  const vocab = OmniVocab.fromJSON(JSON.parse(await readText(join(dir, 'vocab.json'))) as OmniVocabJSON);
  const [train, val] = [await readExamples(join(dir, 'train.jsonl')), await readExamples(join(dir, 'val.jsonl'))];
  if (train.length === 0 || val.length === 0)
    throw new TonyError('data', `${dir} has ${train.length} training and ${val.length} held-out examples`);
  for (const e of [...train, ...val])
    for (const id of e.ids)
      if (!(id >= 0 && id < vocab.size)) throw new TonyError('data', `${dir}: token ${id} is outside the vocabulary of ${vocab.size}`);
  const componentsPath = join(dir, 'components.json');
  const components = existsSync(componentsPath) ? (JSON.parse(await readText(componentsPath)) as Record<string, string>) : {};
  return { dir, vocab, train, val, components };
}

/** The GPT config for a vocabulary: OMNI_GPT, overrides, and the vocabulary's size. */
export function omniConfig(overrides: Record<string, unknown>): Readonly<GPTConfig> {
  if ('vocabSize' in overrides) throw new TonyError('config', 'omni: vocabSize comes from the prepared vocabulary', 'leave it out');
  return gptConfig({ ...OMNI_GPT, ...overrides });
}

/**
 * Rows of a batch, each several examples back to back (packed: a row of one example would be two
 * thirds padding): idx = ids[0 … T), targets = ids[1 … T], weight 1 where the target is part of an
 * example's response (its index ≥ that example's `from`) and not padding. Every example starts with
 * its own markers and ends with <|turn|>, so the model learns where one ends; what does not fit is
 * cut at T + 1 tokens.
 */
export function packRows(rows: readonly (readonly Example[])[], T: number, pad: number) {
  const B = rows.length;
  const idx = new Array<number>(B * T).fill(pad);
  const targets = new Array<number>(B * T).fill(pad);
  const weights = new Float32Array(B * T);
  rows.forEach((examples, b) => {
    const ids: number[] = [];
    const respond: boolean[] = [];
    for (const e of examples) {
      ids.push(...e.ids);
      respond.push(...e.ids.map((_, i) => i >= e.from));
    }
    const n = Math.min(ids.length, T + 1);
    for (let t = 0; t + 1 < n; t++) {
      idx[b * T + t] = ids[t]!;
      targets[b * T + t] = ids[t + 1]!;
      if (respond[t + 1]) weights[b * T + t] = 1;
    }
  });
  return { idx, targets, weights };
}

export function omniTask(base: Readonly<GPTConfig>, data: OmniData, setup: TrainSetup): TrainTask {
  const cfg = gptConfig({ ...base, vocabSize: data.vocab.size });
  const B = setup.batch;
  const Tn = cfg.blockSize;
  const pad = data.vocab.marker('pad');
  const byTask = new Map<string, Example[]>();
  for (const e of data.train) byTask.set(e.task, [...(byTask.get(e.task) ?? []), e]);
  const tasks = [...byTask.keys()];
  const cum: number[] = [];
  tasks.reduce((s, t, i) => (cum[i] = s + TASK_WEIGHTS[t as Example['task']]), 0);
  const feeds = (rows: Example[][]) => {
    const { idx, targets, weights } = packRows(rows, Tn, pad);
    return {
      idx: hostTensor('int64', [B, Tn], idx),
      targets: hostTensor('int64', [B, Tn], targets),
      weights: hostTensor('float32', [B * Tn], weights),
    };
  };
  return {
    trace(mode = 'train') {
      const gpt = new GPT(cfg, mode === 'train');
      const idx = input('idx', [B, Tn], 'int64');
      const targets = input('targets', [B, Tn], 'int64');
      const weights = input('weights', [B * Tn]);
      const logits = T.reshape(gpt.forward(idx), [B * Tn, cfg.vocabSize]);
      return { ps: gpt.ps, loss: crossEntropy(logits, T.reshape(targets, [B * Tn]), { weights }), data: [idx, targets, weights] };
    },
    batch(split, index) {
      // Validation: one held-out example a row, unpacked (the loss reads the same whatever the packing).
      if (split === 'val') return feeds(Array.from({ length: B }, (_, j) => [data.val[(index * B + j) % data.val.length]!]));
      const g = prng(Math.imul(setup.seed + 1, 0x9e3779b1) ^ index);
      const draw = () => {
        const r = g.next() * cum.at(-1)!;
        const list = byTask.get(tasks[cum.findIndex((c) => r < c)]!)!;
        return list[g.int(0, list.length - 1)]!;
      };
      // Training: examples drawn until the next would overflow the row (the first always goes in).
      return feeds(
        Array.from({ length: B }, () => {
          const row = [draw()];
          let used = row[0]!.ids.length;
          for (;;) {
            const e = draw();
            if (used + e.ids.length > Tn + 1) break;
            row.push(e);
            used += e.ids.length;
          }
          return row;
        }),
      );
    },
    tokensPerStep: B * Tn,
    config: {
      kind: 'omni',
      model: { ...cfg },
      batch: B,
      seed: setup.seed,
      vocab: data.vocab.toJSON(),
      components: data.components,
      data: {
        dir: data.dir,
        train: data.train.length,
        val: data.val.length,
        tasks: Object.fromEntries([...byTask].map(([k, v]) => [k, v.length])),
      },
    },
  };
}
