/**
 * Exported graphs are standard ONNX: the ONNX project's own checker (python3-onnx, Debian; an
 * independent implementation of the spec) accepts them with full type and shape inference, and the
 * shapes it infers are the shapes Tony declared.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../../src/engine/index.ts';
import { adamwConfig, buildApplyStep, buildTrainStep } from '../../src/engine/optim.ts';
import { BufferSet } from '../../src/engine/state.ts';
import { buildGradStep, objective } from '../../src/engine/step.ts';
import { GPT, gptConfig } from '../../src/models/gpt/gpt.ts';
import { PYTHON3_ONNX, requires } from '../system.ts';

// Debian's python3-onnx 1.12 knows opsets up to 17: export at 17 for the check.
const OPSET = 17;
const CHECK = `
import json, sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
out = {o.name: [d.dim_value for d in o.type.tensor_type.shape.dim] for o in inferred.graph.output}
print(json.dumps({"ir": m.ir_version, "opset": m.opset_import[0].version, "nodes": len(m.graph.node), "outputs": out}))
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-onnx-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function onnxCheck(model: T.OnnxModel, name: string): { ir: number; opset: number; nodes: number; outputs: Record<string, number[]> } {
  const path = join(dir, `${name}.onnx`);
  return writeFile(path, model.bytes).then(() => {
    try {
      return JSON.parse(execFileSync('/usr/bin/python3', ['-c', CHECK, path], { encoding: 'utf8' }));
    } catch (err) {
      throw new Error(
        `onnx.checker rejected ${name}: ${(err as { stderr?: string }).stderr ?? err}\n(needs Debian's python3-onnx: apt-get install python3-onnx)`,
      );
    }
  }) as never;
}

describe('ONNX export', () => {
  const cfg = gptConfig({ vocabSize: 50, blockSize: 16, nLayer: 2, nHead: 2, dModel: 16 });

  it('a GPT forward graph passes the ONNX checker with strict shape inference', async (ctx) => {
    requires(ctx, PYTHON3_ONNX);
    const gpt = new GPT(cfg);
    const idx = T.input('idx', [2, 16], 'int64');
    const model = T.exportOnnx([idx, ...gpt.ps.inputs], { logits: gpt.forward(idx) }, { opset: OPSET });
    const r = await onnxCheck(model, 'gpt_forward');
    expect(r.opset).toBe(OPSET);
    expect(r.outputs.logits).toEqual([2, 16, 50]);
  });

  it('a whole GPT training step (forward + backward + AdamW) passes too', async (ctx) => {
    requires(ctx, PYTHON3_ONNX);
    const gpt = new GPT(cfg);
    const idx = T.input('idx', [2, 16], 'int64');
    const tg = T.input('targets', [2, 16], 'int64');
    const g = buildTrainStep(gpt.ps, gpt.loss(idx, tg), [idx, tg], adamwConfig(), { opset: OPSET });
    const r = await onnxCheck(g.model, 'gpt_train_step');
    expect(r.outputs.loss).toEqual([]);
    for (const s of gpt.ps.specs) expect(r.outputs[`new.param.${s.name}`]).toEqual([...s.shape]);
  });

  it('the open step’s graphs pass too: fused with groups, buffers and metrics; gradients-only; apply-only', async () => {
    const gpt = new GPT(cfg);
    const idx = T.input('idx', [2, 16], 'int64');
    const tg = T.input('targets', [2, 16], 'int64');
    const buffers = new BufferSet();
    const ema = buffers.buffer('ema.ln_f.weight', [16], { kind: 'ones' });
    buffers.update(ema, T.add(T.mul(ema, 0.99), T.mul(gpt.lnF.w, 0.01)));
    const obj = objective({ ps: gpt.ps, data: [idx, tg], losses: { lm: gpt.loss(idx, tg) }, metrics: { ema_mean: T.mean(ema) }, buffers });
    const groups = [
      { params: /^wpe\./, frozen: true },
      { params: /^h\.0\./, lrScale: 0.5, weightDecay: 0 },
    ];
    const fused = buildTrainStep(obj.ps, obj.loss, obj.data, adamwConfig(), { opset: OPSET }, { groups, buffers, outputs: obj.logged });
    const f = await onnxCheck(fused.model, 'open_fused');
    expect(f.outputs['new.buffer.ema.ln_f.weight']).toEqual([16]);
    expect(f.outputs.loss_lm).toEqual([]);
    expect(f.outputs['new.param.wpe.weight']).toBeUndefined(); // frozen: no update
    const g = await onnxCheck(buildGradStep(obj, { groups, accumulate: true, opset: OPSET }).model, 'open_grads');
    expect(g.outputs['grad.wte.weight']).toEqual([50, 16]);
    const a = await onnxCheck(buildApplyStep(obj.ps, adamwConfig(), { groups, gradScale: 0.5, opset: OPSET }).model, 'open_apply');
    const trainable = gpt.ps.specs.filter((s) => !s.name.startsWith('wpe.'));
    expect(Object.keys(a.outputs).sort()).toEqual(
      ['grad_norm', 'grad_sq', 'lr_t', ...trainable.flatMap((s) => ['param', 'm', 'v'].map((k) => `new.${k}.${s.name}`))].sort(),
    );
    expect(a.outputs.grad_sq).toEqual([trainable.length]);
  });
});

describe('constants stored once', () => {
  /** The model's initializers, as the ONNX checker's own Python package reads them: name → shape. */
  function initializers(model: T.OnnxModel, name: string): Promise<[string, number[]][]> {
    const path = join(dir, `${name}.onnx`);
    return writeFile(path, model.bytes).then(() =>
      JSON.parse(
        execFileSync(
          '/usr/bin/python3',
          [
            '-c',
            'import json, sys, onnx\nm = onnx.load(sys.argv[1])\nprint(json.dumps([[i.name, list(i.dims)] for i in m.graph.initializer]))',
            path,
          ],
          { encoding: 'utf8' },
        ),
      ),
    );
  }

  it('equal constants of 1 KB or more become one initializer; different or small ones stay apart; the values are right', async (ctx) => {
    requires(ctx, PYTHON3_ONNX);
    const x = T.input('x', [256]);
    const ramp = () =>
      T.constant(
        T.hostTensor(
          'float32',
          [256],
          Array.from({ length: 256 }, (_, i) => i),
        ),
      );
    const small = () => T.constant(T.hostTensor('float32', [4], [1, 2, 3, 4]));
    const other = T.constant(
      T.hostTensor(
        'float32',
        [256],
        Array.from({ length: 256 }, (_, i) => 2 * i),
      ),
    );
    const y = T.add(T.add(T.add(x, ramp()), ramp()), other); // x + 4i
    const z = T.add(T.slice(x, 0, 0, 4), T.add(small(), small())); // x[:4] + 2·(1, 2, 3, 4)
    const model = T.exportOnnx([x], { y, z }, { opset: OPSET });
    const inits = await initializers(model, 'shared_constants');
    expect(inits.filter(([, d]) => d.length === 1 && d[0] === 256)).toHaveLength(2); // the two ramps as one, and `other`
    expect(inits.filter(([, d]) => d.length === 1 && d[0] === 4)).toHaveLength(2); // small: not shared
    const rt = await T.Runtime.start({ threads: 1 });
    try {
      const out = await rt.run(await rt.load(model), { x: T.hostTensor('float32', [256], new Array(256).fill(1)) });
      expect(Array.from(out.y!.data as Float32Array)).toEqual(Array.from({ length: 256 }, (_, i) => 1 + 4 * i));
      expect(Array.from(out.z!.data as Float32Array)).toEqual([3, 5, 7, 9]);
    } finally {
      await rt.close();
    }
  });

  it('a GPT past 256 positions stores each causal-mask block once, not once per layer', async (ctx) => {
    requires(ctx, PYTHON3_ONNX);
    const gpt = new GPT(gptConfig({ vocabSize: 50, blockSize: 512, nLayer: 3, nHead: 2, dModel: 16 }));
    const idx = T.input('idx', [1, 512], 'int64');
    const inits = await initializers(T.exportOnnx([idx, ...gpt.ps.inputs], { logits: gpt.forward(idx) }, { opset: OPSET }), 'gpt_masks');
    // Two query blocks of 256 rows: their masks are (256, 256) and (256, 512), whatever the depth.
    expect(inits.filter(([, d]) => d.join() === '256,256')).toHaveLength(1);
    expect(inits.filter(([, d]) => d.join() === '256,512')).toHaveLength(1);
  });
});
