/**
 * Why long-context training holds more than its live tensors (issue 22): ONNX Runtime's allocation
 * planner gives a new tensor the buffer of a freed one of the same size, and the buffer then stays
 * allocated from the first tensor's birth to the second's death. Block-causal attention
 * (`blockCausalAttention`) makes one score tensor per query block, each of another size; the next
 * layer's blocks have the same sizes, so every block buffer of one layer is held until the next
 * layer reuses it. The probe: `layers` block-causal attention layers in a row on (2, 4, 2,048, 32)
 * q = k = v (the long2k bench shape), run once on onnxruntime-node as Tony's runtime sets it up
 * (arena and pattern off), peak RSS before and after the run — with every layer's query blocks of 256
 * rows, and with odd layers' of 128 (`vary`: no two adjacent layers share a size, so no reuse).
 *
 *   node --import tsx docs/results/engine/reuse-probe.ts <layers> [vary]
 */
import * as ort from 'onnxruntime-node';
import * as T from '../../../src/engine/index.ts';
import { blockCausalAttention } from '../../../src/engine/nn.ts';

const layers = Number(process.argv[2]);
const vary = process.argv[3] === 'vary';
const [B, H, Tn, D] = [2, 4, 2048, 32];
const q = T.input('q', [B, H, Tn, D]);
let x = q;
for (let l = 0; l < layers; l++) x = T.add(x, blockCausalAttention(x, x, x, undefined, vary && l % 2 ? 128 : 256));
const model = T.exportOnnx([q], { y: T.sum(x) });
const rss = () => Math.round(process.resourceUsage().maxRSS / 1024);
const s = await ort.InferenceSession.create(model.bytes, {
  intraOpNumThreads: 2,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  enableCpuMemArena: false,
  enableMemPattern: false,
});
const before = rss();
await s.run({ q: new ort.Tensor('float32', new Float32Array(B * H * Tn * D).fill(0.01), [B, H, Tn, D]) });
console.log(
  `${layers} layer(s), query blocks ${vary ? '256 / 128 alternating' : 'of 256'}: peak RSS ${before} → ${rss()} MB (+${rss() - before})`,
);
