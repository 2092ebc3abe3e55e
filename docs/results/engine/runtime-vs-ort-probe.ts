/**
 * Where generate's decode calls lose time against ONNX Runtime run straight: the same baked
 * 8-step decode graph (small preset, context 320, batch B, one intra-op thread, arena on — what
 * generate loads) run (a) straight on onnxruntime-node in this thread, (b) through Tony's Runtime
 * (worker thread, state-held KV cache, the row writes), over the 32 cache lengths of a 256-token
 * generation after a 64-token prompt. Interleaved rounds; wall ms per token step (medians without
 * the first round), and the ONNX Runtime time the worker reports for (b).
 *
 *   node --import tsx docs/results/engine/runtime-vs-ort-probe.ts [batch = 1] [rounds = 6]
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import * as T from '../../../src/engine/index.ts';
import { decodeMask } from '../../../src/engine/nn.ts';
import { stateKey } from '../../../src/engine/optim.ts';
import { buildStepsDecodeGraph, cacheLength, GPT, GPT_PRESETS, gptConfig } from '../../../src/models/gpt/gpt.ts';

const B = Number(process.argv[2] ?? 1);
const ROUNDS = Number(process.argv[3] ?? 6);
const cfg = gptConfig({ ...GPT_PRESETS.small, vocabSize: 260, blockSize: 320 });
const g = buildStepsDecodeGraph(cfg, B, 8, false);
const init = new GPT(cfg).ps.initialize(0);
const caches = new Set(Object.values(g.writeKeys));
const weights = Object.fromEntries(Object.entries(g.state).filter(([, k]) => !caches.has(k)));
const lengths = Array.from({ length: 32 }, (_, c) => cacheLength(64 + 8 * c + 8, cfg.blockSize));
const at = (c: number) => new Array<number>(B).fill(64 + 8 * c);

// (a) straight
const proto = onnxProto.onnx.ModelProto.decode(g.model.bytes);
proto.graph!.input = proto.graph!.input!.filter((i) => !(i.name! in weights));
for (const name of Object.keys(weights)) {
  const w = init[name]!;
  const data = w.data as Float32Array;
  proto.graph!.initializer!.push({
    name,
    dims: [...w.shape],
    dataType: 1,
    rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
  });
}
const direct = await ort.InferenceSession.create(onnxProto.onnx.ModelProto.encode(proto).finish(), {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  enableCpuMemArena: true,
  enableMemPattern: true,
  extra: { session: { intra_op: { allow_spinning: '0' } } },
});
const cacheSpec = g.model.inputs.find((v) => v.name === 'cache.0.k')!;
const directFeeds = lengths.map((L, c) => {
  const f: Record<string, ort.Tensor> = {
    idx: new ort.Tensor('int64', new BigInt64Array(B).fill(65n), [B, 1]),
    pos: new ort.Tensor('int64', BigInt64Array.from(at(c), BigInt), [B]),
  };
  const m = decodeMask(at(c), L);
  f.hidden = new ort.Tensor('float32', m.data as Float32Array, [...m.shape]);
  for (const v of g.model.inputs)
    if (v.name.startsWith('cache.'))
      f[v.name] = new ort.Tensor('float32', new Float32Array(B * cacheSpec.shape[1]! * L * cacheSpec.shape[3]!), [
        B,
        cacheSpec.shape[1]!,
        L,
        cacheSpec.shape[3]!,
      ]);
  return f;
});

// (b) through the Runtime, as generate runs it
const rt = await T.Runtime.start({ threads: 2 });
await rt.setState(Object.fromEntries(Object.entries(init).map(([k, v]) => [stateKey.param(k), v])));
const session = await rt.load(g.model, { bake: weights, threads: 1, arena: true });

const wall: Record<string, number[]> = { direct: [], runtime: [] };
const ortMs: number[] = [];
const loads: string[] = [];
for (let r = 0; r < ROUNDS; r++) {
  loads.push(loadavg()[0]!.toFixed(1));
  for (const name of r % 2 ? ['runtime', 'direct'] : ['direct', 'runtime']) {
    let inOrt = 0;
    // Empty caches at the first length (a prefill's place); the runtime grows them as generate's do.
    if (name === 'runtime')
      await rt.setState(
        Object.fromEntries(
          [...caches].map((k) => [k, T.hostTensor('float32', [B, cacheSpec.shape[1]!, lengths[0]!, cacheSpec.shape[3]!])]),
        ),
      );
    const t0 = performance.now();
    for (let c = 0; c < lengths.length; c++) {
      if (name === 'direct') await direct.run(directFeeds[c]!);
      else {
        const write = Object.fromEntries(Object.entries(g.writeKeys).map(([o, key]) => [o, { key, at: at(c), length: lengths[c]! }]));
        await rt.run(
          session,
          {
            idx: T.hostTensor('int64', [B, 1], new Array(B).fill(65)),
            pos: T.hostTensor('int64', [B], at(c)),
            hidden: decodeMask(at(c), lengths[c]!),
          },
          { state: g.state, write, fetch: ['tokens'] },
        );
        inOrt += rt.lastOrtMs;
      }
    }
    wall[name]!.push((performance.now() - t0) / (32 * 8));
    if (name === 'runtime') ortMs.push(inOrt / (32 * 8));
  }
}
const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
const m = (xs: number[]) => median(xs.slice(1));
console.log(`small preset, batch ${B}, 8 tokens per call, 32 calls; load before each round: ${loads.join(', ')}`);
console.log(
  `  straight on onnxruntime-node: wall ${m(wall.direct!).toFixed(3)} ms per token step (rounds ${wall.direct!.map((x) => x.toFixed(3)).join(' ')})`,
);
console.log(
  `  through the Runtime:          wall ${m(wall.runtime!).toFixed(3)} (rounds ${wall.runtime!.map((x) => x.toFixed(3)).join(' ')}); of which ONNX Runtime ${m(ortMs).toFixed(3)}`,
);
await rt.close();
