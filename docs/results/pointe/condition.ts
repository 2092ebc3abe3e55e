/**
 * Does the trained model use its caption at all? On held-out clouds, the ε-prediction error
 * L_simple = mean (ε̂ − ε)² with the same x_t and noise under three conditions: the cloud's own
 * caption, another held-out cloud's caption (the next one in order), and the condition dropped
 * (what guidance subtracts). A model that uses the caption predicts best with its own.
 *
 *   node --import tsx docs/results/pointe/condition.ts <run dir> <data dir> [clouds]
 */

import { latestCheckpoint, loadCheckpoint } from '../../../src/engine/checkpoint.ts';
import { hostTensor } from '../../../src/engine/dtype.ts';
import { exportOnnx } from '../../../src/engine/onnx.ts';
import { Runtime } from '../../../src/engine/runtime.ts';
import { loadWeights, runOnWeights } from '../../../src/engine/state.ts';
import { captionFeeds, encodeCaption } from '../../../src/models/pointe/captions.ts';
import { readShapes } from '../../../src/models/pointe/kind.ts';
import { CHANNELS, condInputList, diffusionOf, PointE, pointeConfig, pointeInputs } from '../../../src/models/pointe/pointe.ts';
import { prng } from '../../../src/random.ts';

const [runDir, dataDir, cloudsArg = '64'] = process.argv.slice(2);
if (!runDir || !dataDir) throw new Error('usage: condition.ts <run dir> <data dir> [clouds]');
const ck = await loadCheckpoint<{ model: Record<string, unknown>; vocab: string[] }>((await latestCheckpoint(runDir))?.dir ?? runDir);
const cfg = pointeConfig(ck.config.model);
const vocab = ck.config.vocab;
const val = (await readShapes([dataDir], cfg)).val.slice(0, Number(cloudsArg));
const B = 16;
const N = cfg.points;
const d = diffusionOf(cfg);
const rt = await Runtime.start({ threads: 1 });
await loadWeights(rt, ck.params);
const model = new PointE(cfg, vocab.length);
const inp = pointeInputs(cfg, B, N, false);
const dd = inp.diffusion;
const session = await rt.load(
  exportOnnx([dd.xt, dd.t, ...condInputList(inp.cond), inp.keep, ...model.ps.inputs], {
    out: model.forward(dd.xt, dd.t, inp.cond, inp.keep),
  }),
);
const STEPS = [50, 200, 400, 600, 800, 1000];
const r = prng(7);
process.stdout.write(`held-out clouds: ${val.length}; L_simple (mean over clouds, points, channels) by condition\n`);
process.stdout.write('t      own caption  other caption  dropped\n');
for (const t of STEPS) {
  const sums = { own: 0, other: 0, dropped: 0 };
  let count = 0;
  for (let b0 = 0; b0 + B <= val.length; b0 += B) {
    const rows = val.slice(b0, b0 + B);
    const x0 = new Float64Array(B * N * CHANNELS);
    rows.forEach((x, j) => x0.set(x.x0, j * N * CHANNELS));
    const noise = Float64Array.from({ length: x0.length }, () => r.normal());
    const tb = new Int32Array(B).fill(t);
    const xt = d.qSample(x0, tb, noise);
    for (const which of ['own', 'other', 'dropped'] as const) {
      const caps = rows.map((_, j) => (which === 'other' ? val[(b0 + j + 1) % val.length]! : rows[j]!).caption);
      const enc = caps.map((c) => encodeCaption(c, vocab, cfg.maxWords));
      const out = await runOnWeights(rt, session, model.ps, {
        xt: hostTensor('float32', [B, N, CHANNELS], xt),
        t: hostTensor('float32', [B], tb),
        ...captionFeeds(enc, cfg.maxWords),
        keep: hostTensor('float32', [B, 1], new Array(B).fill(which === 'dropped' ? 0 : 1)),
      });
      const o = out.out!.data as Float32Array;
      const C = o.length / (B * N);
      let s = 0;
      for (let p = 0; p < B * N; p++) for (let k = 0; k < CHANNELS; k++) s += (o[p * C + k]! - noise[p * CHANNELS + k]!) ** 2;
      sums[which] += s / (B * N * CHANNELS);
    }
    count++;
  }
  const f = (x: number) => (x / count).toFixed(5);
  process.stdout.write(`${String(t).padEnd(5)}  ${f(sums.own)}      ${f(sums.other)}        ${f(sums.dropped)}\n`);
}
await rt.close();
