/**
 * Convolutions over 1 or 2 spatial axes: conv1d, conv2d and their transposes (conv-transpose1d,
 * conv-transpose2d), with stride, padding, dilation and groups. Layouts and output sizes are exactly
 * ONNX's and PyTorch's (channels first):
 *
 *   conv            x [B, Cin, L…]  w [Cout, Cin/groups, K…]   b [Cout]
 *                   out L' = ⌊(L + padBegin + padEnd − dilation·(K − 1) − 1) / stride⌋ + 1
 *   convTranspose   x [B, Cin, L…]  w [Cin, Cout/groups, K…]   b [Cout]
 *                   out L' = (L − 1)·stride − padBegin − padEnd + dilation·(K − 1) + outputPadding + 1
 *
 * Gradients are built from the two ops themselves: the input gradient of a convolution is the
 * transposed convolution of g with the same weight (and vice versa); both weight gradients are one
 * batched MatMul over the kernel's taps (weightGrad below).
 *
 * On ONNX Runtime a 1-D transposed convolution is lowered to a Conv of its polyphase form
 * (lowerTransposeAsConv), faster than the CPU provider's ConvTranspose. With the weight gradients as
 * MatMuls, the Jukebox VQ-VAE trains 2.29× faster (docs/results/engine.md, "Ninth pass").
 *
 * ONNX Runtime's CPU provider has no float64 Conv or ConvTranspose kernel (checked, 1.30), so the
 * float64 checking mode lowers both to primitives: an im2col built from Pad + one Gather per spatial
 * axis, then one batched MatMul (lowerAsMatMul).
 */
import { isFloat } from '../dtype.ts';
import { defineOp, type LowerCtx, type OnnxAttr, type RefArray, strides as stridesOf } from '../op.ts';
import { fmt, type Tensor } from '../tensor.ts';
import { matmul } from './linalg.ts';
import { concat, pad, reshape, slice, sum, transpose, transposeLast } from './shape.ts';

/** Attributes shared by both ops, one entry per spatial axis (pads in ONNX order: begins, then ends). */
interface ConvAttrs extends Record<string, unknown> {
  strides: number[];
  pads: number[];
  dilations: number[];
  groups: number;
}

interface ConvTransposeAttrs extends ConvAttrs {
  outputPadding: number[];
}

/** ⌊(L + pb + pe − d(K − 1) − 1) / s⌋ + 1: positions a dilated kernel fits in the padded input. */
const convOutSize = (len: number, k: number, s: number, pb: number, pe: number, d: number) =>
  Math.floor((len + pb + pe - d * (k - 1) - 1) / s) + 1;

const convTransposeOutSize = (len: number, k: number, s: number, pb: number, pe: number, d: number, op: number) =>
  (len - 1) * s - pb - pe + d * (k - 1) + op + 1;

const spatialAxes = (rank: number) => Array.from({ length: rank - 2 }, (_, i) => i + 2);
const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

// ---------------------------------------------------------------------------------------------
// Shape rules

type Fail = (msg: string, hint?: string) => never;

/** Checks common to both ops; returns the spatial rank n. */
function checkCommon(inputs: readonly Tensor[], a: ConvAttrs, fail: Fail, wLayout: string): number {
  const [x, w] = inputs;
  const n = a.strides.length;
  const what = n === 1 ? '1-D' : `${n}-D`;
  if (x!.rank !== n + 2) fail(`a ${what} convolution needs x of rank ${n + 2} [B, C, ${n === 1 ? 'L' : 'H, W'}], got rank ${x!.rank}`);
  if (w!.rank !== n + 2) fail(`a ${what} convolution needs w of rank ${n + 2} ${wLayout}, got rank ${w!.rank}`);
  if (!isFloat(x!.dtype)) fail(`needs float tensors, got ${x!.dtype}`, 'cast(x, "float32") first');
  for (const t of inputs) if (t.dtype !== x!.dtype) fail(`dtypes differ (${x!.dtype} vs ${t.dtype})`);
  const ints = (name: string, vs: readonly number[], min: number) => {
    if (vs.length !== (name === 'pads' ? 2 * n : n) || vs.some((v) => !Number.isInteger(v) || v < min)) {
      fail(`bad ${name} [${vs}]: need integers ≥ ${min}`);
    }
  };
  ints('strides', a.strides, 1);
  ints('dilations', a.dilations, 1);
  ints('pads', a.pads, 0);
  if (!Number.isInteger(a.groups) || a.groups < 1) fail(`bad groups ${a.groups}: need an integer ≥ 1`);
  if (x!.shape[1]! % a.groups !== 0) fail(`input channels ${x!.shape[1]} are not divisible by groups ${a.groups}`);
  return n;
}

function checkBias(b: Tensor | undefined, cout: number, fail: Fail) {
  if (b && (b.rank !== 1 || b.shape[0] !== cout)) fail(`bias must be [${cout}] (one per output channel), got ${fmt(b.shape)}`);
}

function inferConv(inputs: readonly Tensor[], a: ConvAttrs, fail: Fail) {
  const [x, w, b] = inputs;
  const n = checkCommon(inputs, a, fail, '[Cout, Cin/groups, K…]');
  const [cout, cinPerGroup] = [w!.shape[0]!, w!.shape[1]!];
  if (cinPerGroup * a.groups !== x!.shape[1]) {
    fail(
      `w expects ${cinPerGroup}·groups = ${cinPerGroup * a.groups} input channels (groups ${a.groups}), x has ${x!.shape[1]}`,
      'w is [Cout, Cin/groups, K…]',
    );
  }
  if (cout % a.groups !== 0) fail(`output channels ${cout} are not divisible by groups ${a.groups}`);
  checkBias(b, cout, fail);
  const out = [x!.shape[0]!, cout];
  for (let i = 0; i < n; i++) {
    const [len, k] = [x!.shape[2 + i]!, w!.shape[2 + i]!];
    const size = convOutSize(len, k, a.strides[i]!, a.pads[i]!, a.pads[n + i]!, a.dilations[i]!);
    if (size < 1) {
      fail(
        `spatial axis ${2 + i}: input size ${len} (+ padding ${a.pads[i]}/${a.pads[n + i]}) is shorter than the kernel's reach ${a.dilations[i]! * (k - 1) + 1} (size ${k}, dilation ${a.dilations[i]})`,
        'pad the input or use a smaller kernel/dilation',
      );
    }
    out.push(size);
  }
  return { shape: out, dtype: x!.dtype };
}

function inferConvTranspose(inputs: readonly Tensor[], a: ConvTransposeAttrs, fail: Fail) {
  const [x, w, b] = inputs;
  const n = checkCommon(inputs, a, fail, '[Cin, Cout/groups, K…]');
  if (w!.shape[0] !== x!.shape[1]) {
    fail(`w has ${w!.shape[0]} input channels on axis 0, x has ${x!.shape[1]}`, "a transposed convolution's w is [Cin, Cout/groups, K…]");
  }
  if (a.outputPadding.length !== n || a.outputPadding.some((v) => !Number.isInteger(v) || v < 0)) {
    fail(`bad outputPadding [${a.outputPadding}]: need ${n} integer(s) ≥ 0`);
  }
  const out = [x!.shape[0]!, w!.shape[1]! * a.groups];
  checkBias(b, out[1]!, fail);
  for (let i = 0; i < n; i++) {
    const [s, d, op] = [a.strides[i]!, a.dilations[i]!, a.outputPadding[i]!];
    // Output padding only restores the positions a stride rounded away. ONNX Runtime requires
    // op < stride (PyTorch also allows op < dilation; ORT rejects that at run time).
    if (op >= s) fail(`outputPadding ${op} on spatial axis ${2 + i} must be smaller than the stride ${s}`);
    const size = convTransposeOutSize(x!.shape[2 + i]!, w!.shape[2 + i]!, s, a.pads[i]!, a.pads[n + i]!, d, op);
    if (size < 1) fail(`spatial axis ${2 + i}: padding ${a.pads[i]}/${a.pads[n + i]} removes the whole output (size ${size})`);
    out.push(size);
  }
  return { shape: out, dtype: x!.dtype };
}

// ---------------------------------------------------------------------------------------------
// Gradients

/** Sum g over batch and spatial axes: the bias gradient. */
const biasGrad = (g: Tensor) => sum(g, [0, ...spatialAxes(g.rank)]);

/**
 * The weight gradient shared by both ops:
 *   r[(γ, q), p, k…] = Σ_{batch, l…} b[batch, (γ, q), l…] · a[batch, (γ, p), l·stride + k·dilation − padBegin]
 * for a [B, G·P, La…], b [B, G·Q, Lb…] → r [G·Q, P, K…]. For a convolution a = x and b = g; for a
 * transposed one a = g and b = x.
 *
 * Small kernels (ΠK ≤ MATMUL_TAPS) take one batched MatMul a kernel tap: the tap's view of a (a
 * strided slice of the zero-padded a) times b's transpose sums over the positions, per batch row and
 * group. The alternative, one grouped convolution in which the batch plays the channel axis and b
 * the kernel (weightGradByConv), runs ONNX Runtime's Conv with a kernel as long as the signal: on a
 * residual layer of the Jukebox VQ-VAE it took 35.7 ms, where the layer's forward Conv of the same
 * FLOPs took 8.2. Large kernels (an STFT's) keep it, since the taps hold ΠK copies of a.
 */
function weightGrad(a: Tensor, b: Tensor, kernel: readonly number[], attrs: ConvAttrs): Tensor {
  if (prod(kernel) > MATMUL_TAPS) return weightGradByConv(a, b, kernel, attrs);
  const G = attrs.groups;
  const [batch, P, Q] = [a.shape[0]!, a.shape[1]! / G, b.shape[1]! / G];
  const outSp = b.shape.slice(2);
  // taps[t] = a[…, l·s + k·d − padBegin, …] over l ∈ [0, Lb) on every spatial axis, for the t-th
  // kernel position k in row-major order; positions outside a read zeros
  let taps = [a];
  kernel.forEach((k, i) => {
    const [axis, s, d, lb] = [2 + i, attrs.strides[i]!, attrs.dilations[i]!, outSp[i]!];
    // padded so that every tap's last read (l = Lb − 1) lies inside, and to a whole number of strides
    const span = s * (lb + Math.floor((d * (k - 1)) / s));
    taps = taps.flatMap((t) => {
      const len = t.shape[axis]!;
      const padded = slice(pad(t, axis, attrs.pads[i]!, Math.max(0, span - attrs.pads[i]! - len)), axis, 0, span);
      // the stride as its own axis: padded[…, j·s + φ, …] = phases[…, j, φ, …]
      const phases = s === 1 ? padded : reshape(padded, [...padded.shape.slice(0, axis), span / s, s, ...padded.shape.slice(axis + 1)]);
      return Array.from({ length: k }, (_, kk) => {
        const off = kk * d;
        if (s === 1) return slice(phases, axis, off, off + lb);
        const phase = slice(phases, axis + 1, off % s, (off % s) + 1);
        const one = reshape(phase, [...padded.shape.slice(0, axis), span / s, ...padded.shape.slice(axis + 1)]);
        return slice(one, axis, Math.floor(off / s), Math.floor(off / s) + lb);
      });
    });
  });
  const n = prod(outSp);
  const bm = reshape(b, [batch, G, Q, n]);
  // one product a tap, [B, G, Q, P] summed over the batch; stacked on a last axis as (k…). (Stacking
  // the taps first for one MatMul cost a Concat of ΠK copies of a: no faster, measured.)
  const r = taps.map((t) => reshape(sum(matmul(bm, transposeLast(reshape(t, [batch, G, P, n]))), 0), [G, Q, P, 1]));
  return reshape(concat(r, 3), [G * Q, P, ...kernel]);
}

/** Kernels with more taps than this take weightGradByConv. */
const MATMUL_TAPS = 16;

/**
 * weightGrad as one grouped convolution: the batch becomes the channel axis (grouped by γ) and b
 * becomes the kernel, with the roles of stride and dilation swapped.
 */
function weightGradByConv(a: Tensor, b: Tensor, kernel: readonly number[], attrs: ConvAttrs): Tensor {
  const n = kernel.length;
  const G = attrs.groups;
  const [batch, ga] = [a.shape[0]!, a.shape[1]!];
  const P = ga / G;
  const sp = spatialAxes(a.rank);
  // a → [P, G·B, La…]: channels (γ, batch), one "batch" row per p
  const aT = reshape(transpose(reshape(a, [batch, G, P, ...a.shape.slice(2)]), [2, 1, 0, ...sp.map((d) => d + 1)]), [
    P,
    G * batch,
    ...a.shape.slice(2),
  ]);
  // b → [G·Q, B, Lb…]: the kernel
  const bT = transpose(b, [1, 0, ...sp]);
  const padsEnd = kernel.map((k, i) => {
    // the least end padding that yields at least k outputs (extra ones are sliced off below)
    const need = attrs.dilations[i]! * (k - 1) + attrs.strides[i]! * (b.shape[2 + i]! - 1) + 1 - a.shape[2 + i]! - attrs.pads[i]!;
    return Math.max(0, need);
  });
  let r = convOp([aT, bT], {
    strides: [...attrs.dilations],
    dilations: [...attrs.strides],
    pads: [...attrs.pads.slice(0, n), ...padsEnd],
    groups: G,
  }); // [P, G·Q, K'…]
  kernel.forEach((k, i) => (r = slice(r, 2 + i, 0, k)));
  return transpose(r, [1, 0, ...sp]); // [G·Q, P, K…]
}

// ---------------------------------------------------------------------------------------------
// ONNX lowering

function nativeAttrs(a: ConvAttrs, w: Tensor): Record<string, OnnxAttr> {
  return {
    kernel_shape: { ints: w.shape.slice(2) },
    strides: { ints: a.strides },
    pads: { ints: a.pads },
    dilations: { ints: a.dilations },
    group: { int: a.groups },
  };
}

/**
 * A 1-D transposed convolution (stride 1, or dilation 1) as one ONNX Conv, by its polyphase form.
 * Output q = p + padBegin of phase r = q mod s receives x[m − j]·w[r + s·j] over j, m = ⌊q / s⌋: for
 * each phase, a full convolution of x with the taps w[r], w[r + s], … (zero past K). So one grouped
 * Conv with the phases' flipped kernels as s·Cout output channels computes every phase at once, and
 * interleaving them gives the output. With stride 1 it is the textbook flipped-kernel convolution
 * (any dilation). ONNX Runtime's CPU ConvTranspose (GEMM, then a col2im) took 49–65 ms for the
 * Jukebox VQ-VAE's upsampling layer, this 19 (one thread); with one output channel its input
 * gradient took 71.7 ms for 12.6 MFLOP (docs/results/engine.md, "Ninth pass").
 */
function lowerTransposeAsConv(ctx: LowerCtx, x: string, w: string, b: string | undefined, a: ConvTransposeAttrs, node: Tensor): string {
  const [xT, wT] = [node.inputs[0]!, node.inputs[1]!];
  const [batch, cin, len] = xT.shape as [number, number, number];
  const [coutG, k] = [wT.shape[1]!, wT.shape[2]!];
  const [s, d, G, pb] = [a.strides[0]!, a.dilations[0]!, a.groups, a.pads[0]!];
  const [cout, lout] = [node.shape[1]!, node.shape[2]!];
  const kp = Math.ceil(k / s); // taps per phase
  const m0 = Math.floor(pb / s); // the first phase position an output needs
  const m = Math.floor((pb + lout - 1) / s) - m0 + 1; // how many, to the last
  // The Conv's output i is phase position m0 + i: pads (Kp − 1)·d − m0 before and m − L + m0 after,
  // or, where either is negative, x cropped (those positions reach no output)
  let [padB, padE] = [(kp - 1) * d - m0, m - len + m0];
  let xc = x;
  if (padB < 0 || padE < 0) {
    const [from, to] = [Math.max(0, -padB), len - Math.max(0, -padE)];
    xc = ctx.emit('Slice', [x, ctx.int64s([from]), ctx.int64s([to]), ctx.int64s([2])]);
    [padB, padE] = [Math.max(0, padB), Math.max(0, padE)];
  }
  // w [Cin, Cout/G, K] → [G·s·Cout/G, Cin/G, Kp]: output channel (γ, r, o) holds w[(γ, c), o, r + s·j] flipped in j
  let wc = k === kp * s ? w : ctx.emit('Pad', [w, ctx.int64s([0, 0, 0, 0, 0, kp * s - k])], { mode: { str: 'constant' } });
  wc = ctx.emit('Reshape', [wc, ctx.int64s([G, cin / G, coutG, kp, s])]);
  if (kp > 1) wc = ctx.emit('Gather', [wc, ctx.int64s(Array.from({ length: kp }, (_, j) => kp - 1 - j))], { axis: { int: 3 } });
  wc = ctx.emit('Transpose', [wc], { perm: { ints: [0, 4, 2, 1, 3] } });
  wc = ctx.emit('Reshape', [wc, ctx.int64s([G * s * coutG, cin / G, kp])]);
  let y = ctx.emit('Conv', [xc, wc], {
    kernel_shape: { ints: [kp] },
    strides: { ints: [1] },
    pads: { ints: [padB, padE] },
    dilations: { ints: [d] },
    group: { int: G },
  }); // [B, G·s·Cout/G, M]
  if (s > 1) {
    y = ctx.emit('Reshape', [y, ctx.int64s([batch, G, s, coutG, m])]);
    y = ctx.emit('Transpose', [y], { perm: { ints: [0, 1, 3, 4, 2] } });
    y = ctx.emit('Reshape', [y, ctx.int64s([batch, cout, m * s])]);
  }
  const off = pb - m0 * s;
  if (off > 0 || m * s > lout) y = ctx.emit('Slice', [y, ctx.int64s([off]), ctx.int64s([off + lout]), ctx.int64s([2])]);
  return b ? ctx.emit('Add', [y, ctx.emit('Reshape', [b, ctx.int64s([cout, 1])])]) : y;
}

/**
 * A convolution or transposed convolution as im2col + MatMul, for float64 checking mode.
 * `table[i]` holds, for spatial axis i, the [K_i, O_i] source positions that kernel tap k reads for
 * output position o; position L_i means "outside the input", which reads the one zero appended by
 * Pad. `wMat` is the weight as [G, Cout/G, (Cin/G)·ΠK].
 */
function lowerAsMatMul(
  ctx: LowerCtx,
  x: string,
  wMat: string,
  bias: string | undefined,
  node: Tensor,
  cin: number,
  groups: number,
  kernel: readonly number[],
  tables: readonly number[][],
): string {
  const rank = kernel.length + 2;
  const outSpatial = node.shape.slice(2);
  const batch = node.shape[0]!;
  const cout = node.shape[1]!;
  // one zero at the end of every spatial axis (ONNX pads: all begins, then all ends)
  const pads = new Array<number>(2 * rank).fill(0);
  for (let i = 2; i < rank; i++) pads[rank + i] = 1;
  let cols = ctx.emit('Pad', [x, ctx.int64s(pads)], { mode: { str: 'constant' } });
  // gather axis by axis: [B, C, L1+1, L2+1] → [B, C, K1, O1, L2+1] → [B, C, K1, O1, K2, O2]
  for (let i = 0; i < kernel.length; i++) {
    cols = ctx.emit('Gather', [cols, ctx.int64s(tables[i]!, [kernel[i]!, outSpatial[i]!])], { axis: { int: 2 + 2 * i } });
  }
  const perm = [0, 1, ...kernel.map((_, i) => 2 + 2 * i), ...kernel.map((_, i) => 3 + 2 * i)];
  cols = ctx.emit('Transpose', [cols], { perm: { ints: perm } }); // [B, C, K…, O…]
  cols = ctx.emit('Reshape', [cols, ctx.int64s([batch, groups, (cin / groups) * prod(kernel), prod(outSpatial)])]);
  let y = ctx.emit('MatMul', [wMat, cols]); // [B, G, Cout/G, ΠO]
  y = ctx.emit('Reshape', [y, ctx.int64s([batch, cout, ...outSpatial])]);
  if (bias) y = ctx.emit('Add', [y, ctx.emit('Reshape', [bias, ctx.int64s([cout, ...outSpatial.map(() => 1)])])]);
  return y;
}

// ---------------------------------------------------------------------------------------------
// Reference implementations (plain loops over flattened spatial positions)

/** Every multi-index of `shape`, row-major. */
function multiIndices(shape: readonly number[]): number[][] {
  const out: number[][] = [];
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < prod(shape); i++) {
    out.push([...idx]);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Flat offset of spatial position `pos` in a [.., .., S…] tensor, or −1 when outside. */
function spatialOffset(pos: readonly number[], size: readonly number[], st: readonly number[]): number {
  let off = 0;
  for (let i = 0; i < pos.length; i++) {
    if (pos[i]! < 0 || pos[i]! >= size[i]!) return -1;
    off += pos[i]! * st[i]!;
  }
  return off;
}

function refConv([x, w, b]: readonly RefArray[], a: ConvAttrs, outShape: readonly number[]): Float64Array {
  const B = x!.shape[0]!;
  const [Cout, cinG] = [w!.shape[0]!, w!.shape[1]!];
  const coutG = Cout / a.groups;
  const xSp = x!.shape.slice(2);
  const kSp = w!.shape.slice(2);
  const xs = stridesOf(x!.shape);
  const ws = stridesOf(w!.shape);
  const outPos = multiIndices(outShape.slice(2));
  const taps = multiIndices(kSp);
  const res = new Float64Array(prod(outShape));
  let at = 0;
  for (let bi = 0; bi < B; bi++) {
    for (let o = 0; o < Cout; o++) {
      const firstC = Math.floor(o / coutG) * cinG;
      for (const op of outPos) {
        let acc = b ? b.data[o]! : 0;
        for (const k of taps) {
          const pos = op.map((v, i) => v * a.strides[i]! + k[i]! * a.dilations[i]! - a.pads[i]!);
          const off = spatialOffset(pos, xSp, xs.slice(2));
          if (off < 0) continue;
          const kOff = k.reduce((s, v, i) => s + v * ws[2 + i]!, 0);
          for (let c = 0; c < cinG; c++) {
            acc += x!.data[bi * xs[0]! + (firstC + c) * xs[1]! + off]! * w!.data[o * ws[0]! + c * ws[1]! + kOff]!;
          }
        }
        res[at++] = acc;
      }
    }
  }
  return res;
}

function refConvTranspose([x, w, b]: readonly RefArray[], a: ConvTransposeAttrs, outShape: readonly number[]): Float64Array {
  const [B, Cin] = [x!.shape[0]!, x!.shape[1]!];
  const Cout = outShape[1]!;
  const cinG = Cin / a.groups;
  const coutG = w!.shape[1]!;
  const outSp = outShape.slice(2);
  const os = stridesOf(outShape);
  const xs = stridesOf(x!.shape);
  const ws = stridesOf(w!.shape);
  const inPos = multiIndices(x!.shape.slice(2));
  const taps = multiIndices(w!.shape.slice(2));
  const res = new Float64Array(prod(outShape));
  if (b) for (let i = 0; i < res.length; i++) res[i] = b.data[Math.floor(i / os[1]!) % Cout]!;
  // scatter: input position l with tap k lands on l·stride + k·dilation − padBegin
  for (let bi = 0; bi < B; bi++) {
    for (let c = 0; c < Cin; c++) {
      const firstO = Math.floor(c / cinG) * coutG;
      for (const l of inPos) {
        const xv = x!.data[bi * xs[0]! + c * xs[1]! + l.reduce((s, v, i) => s + v * xs[2 + i]!, 0)]!;
        for (const k of taps) {
          const pos = l.map((v, i) => v * a.strides[i]! + k[i]! * a.dilations[i]! - a.pads[i]!);
          const off = spatialOffset(pos, outSp, os.slice(2));
          if (off < 0) continue;
          const kOff = k.reduce((s, v, i) => s + v * ws[2 + i]!, 0);
          for (let o = 0; o < coutG; o++) {
            res[bi * os[0]! + (firstO + o) * os[1]! + off]! += xv * w!.data[c * ws[0]! + o * ws[1]! + kOff]!;
          }
        }
      }
    }
  }
  return res;
}

// ---------------------------------------------------------------------------------------------
// The two ops

const convOp: (inputs: readonly Tensor[], attrs: ConvAttrs) => Tensor = defineOp<ConvAttrs>({
  name: 'conv',
  infer: inferConv,
  vjp(g, [x, w, b], _out, a) {
    const n = a.strides.length;
    // output padding restores the input positions the stride rounded away (they get zero gradient)
    const outputPadding = a.strides.map(
      (s, i) => (x!.shape[2 + i]! + a.pads[i]! + a.pads[n + i]! - a.dilations[i]! * (w!.shape[2 + i]! - 1) - 1) % s,
    );
    const gx = convTransposeOp([g, w!], { ...a, outputPadding });
    const gw = weightGrad(x!, g, w!.shape.slice(2), a);
    return b ? [gx, gw, biasGrad(g)] : [gx, gw];
  },
  lower(ctx, [x, w, b], a, node) {
    const [wT, xT] = [node.inputs[1]!, node.inputs[0]!];
    if (!ctx.float64) return ctx.emit('Conv', b ? [x!, w!, b] : [x!, w!], nativeAttrs(a, wT));
    const kernel = wT.shape.slice(2);
    // tap k of output o reads input o·s + k·d − padBegin (or the appended zero when outside)
    const tables = kernel.map((k, i) => {
      const len = xT.shape[2 + i]!;
      const t: number[] = [];
      for (let kk = 0; kk < k; kk++) {
        for (let o = 0; o < node.shape[2 + i]!; o++) {
          const p = o * a.strides[i]! + kk * a.dilations[i]! - a.pads[i]!;
          t.push(p >= 0 && p < len ? p : len);
        }
      }
      return t;
    });
    const cout = wT.shape[0]!;
    const wMat = ctx.emit('Reshape', [w!, ctx.int64s([a.groups, cout / a.groups, prod(wT.shape.slice(1))])]);
    return lowerAsMatMul(ctx, x!, wMat, b, node, xT.shape[1]!, a.groups, kernel, tables);
  },
  ref: (ins, a, out) => refConv(ins, a, out.shape),
});

const convTransposeOp: (inputs: readonly Tensor[], attrs: ConvTransposeAttrs) => Tensor = defineOp<ConvTransposeAttrs>({
  name: 'convTranspose',
  infer: inferConvTranspose,
  vjp(g, [x, w, b], _out, a) {
    const { outputPadding: _op, ...convAttrs } = a;
    // outputPadding < stride, so this convolution of g has exactly x's spatial size
    const gx = convOp([g, w!], convAttrs);
    const gw = weightGrad(g, x!, w!.shape.slice(2), convAttrs);
    return b ? [gx, gw, biasGrad(g)] : [gx, gw];
  },
  lower(ctx, [x, w, b], a, node) {
    const [xT, wT] = [node.inputs[0]!, node.inputs[1]!];
    if (!ctx.float64) {
      if (xT.rank === 3 && !ctx.openEnds && (a.strides[0] === 1 || a.dilations[0] === 1))
        return lowerTransposeAsConv(ctx, x!, w!, b, a, node);
      return ctx.emit('ConvTranspose', b ? [x!, w!, b] : [x!, w!], { ...nativeAttrs(a, wT), output_padding: { ints: a.outputPadding } });
    }
    const kernel = wT.shape.slice(2);
    // output p receives input l from tap k when p = l·s + k·d − padBegin, i.e. l = (p + padBegin − k·d) / s
    const tables = kernel.map((k, i) => {
      const len = xT.shape[2 + i]!;
      const s = a.strides[i]!;
      const t: number[] = [];
      for (let kk = 0; kk < k; kk++) {
        for (let p = 0; p < node.shape[2 + i]!; p++) {
          const num = p + a.pads[i]! - kk * a.dilations[i]!;
          const l = num / s;
          t.push(num % s === 0 && l >= 0 && l < len ? l : len);
        }
      }
      return t;
    });
    const [cin, coutG] = [wT.shape[0]!, wT.shape[1]!];
    const G = a.groups;
    const kk = prod(kernel);
    // w [Cin, Cout/G, K…] → [G, Cout/G, (Cin/G)·ΠK]
    let wMat = ctx.emit('Reshape', [w!, ctx.int64s([G, cin / G, coutG, kk])]);
    wMat = ctx.emit('Transpose', [wMat], { perm: { ints: [0, 2, 1, 3] } });
    wMat = ctx.emit('Reshape', [wMat, ctx.int64s([G, coutG, (cin / G) * kk])]);
    return lowerAsMatMul(ctx, x!, wMat, b, node, cin, G, kernel, tables);
  },
  ref: (ins, a, out) => refConvTranspose(ins, a, out.shape),
});

// ---------------------------------------------------------------------------------------------
// Public API

type PerAxis = number | readonly number[];

/** Expand a per-axis option (a number means the same on every axis). */
const perAxis = (v: PerAxis, n: number): number[] => (typeof v === 'number' ? new Array<number>(n).fill(v) : [...v]);

export interface Conv1dOptions {
  /** Default 1. */
  stride?: number;
  /** Zero padding: both sides, or [left, right]. Default 0. */
  padding?: number | readonly [number, number];
  /** Spacing between kernel taps. Default 1. */
  dilation?: number;
  /** Channel groups (Cin and Cout divisible by it). Default 1. */
  groups?: number;
}

export interface ConvTranspose1dOptions extends Conv1dOptions {
  /** Extra output positions at the end (< stride). Default 0. */
  outputPadding?: number;
}

export interface Conv2dOptions {
  /** Default 1; [sh, sw] per axis. */
  stride?: PerAxis;
  /** Zero padding on both sides of each axis: p or [ph, pw]. Default 0. */
  padding?: PerAxis;
  dilation?: PerAxis;
  groups?: number;
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: PerAxis;
}

const withBias = (x: Tensor, w: Tensor, b: Tensor | null | undefined) => (b ? [x, w, b] : [x, w]);

const attrs1d = (o: Conv1dOptions): ConvAttrs => {
  const p = o.padding ?? 0;
  return {
    strides: [o.stride ?? 1],
    pads: typeof p === 'number' ? [p, p] : [p[0], p[1]],
    dilations: [o.dilation ?? 1],
    groups: o.groups ?? 1,
  };
};

const attrs2d = (o: Conv2dOptions): ConvAttrs => {
  const p = perAxis(o.padding ?? 0, 2);
  return {
    strides: perAxis(o.stride ?? 1, 2),
    pads: [...p, ...p],
    dilations: perAxis(o.dilation ?? 1, 2),
    groups: o.groups ?? 1,
  };
};

/**
 * 1-D convolution (cross-correlation, as in PyTorch and ONNX): x [B, Cin, L], w [Cout, Cin/groups, K],
 * b [Cout] → [B, Cout, L'] with L' = ⌊(L + padLeft + padRight − dilation·(K − 1) − 1) / stride⌋ + 1.
 *
 *   const y = conv1d(x, w, b, { stride: 2, padding: 1 }); // [B, Cout, ⌊(L − 1)/2⌋ + 1] for K = 3
 */
export const conv1d = (x: Tensor, w: Tensor, b?: Tensor | null, opts: Conv1dOptions = {}): Tensor =>
  convOp(withBias(x, w, b), attrs1d(opts));

/**
 * 1-D transposed convolution (the adjoint of conv1d; upsampling by `stride`): x [B, Cin, L],
 * w [Cin, Cout/groups, K], b [Cout] → [B, Cout, L'] with
 * L' = (L − 1)·stride − padLeft − padRight + dilation·(K − 1) + outputPadding + 1.
 */
export const convTranspose1d = (x: Tensor, w: Tensor, b?: Tensor | null, opts: ConvTranspose1dOptions = {}): Tensor =>
  convTransposeOp(withBias(x, w, b), { ...attrs1d(opts), outputPadding: [opts.outputPadding ?? 0] });

/**
 * 2-D convolution: x [B, Cin, H, W], w [Cout, Cin/groups, KH, KW], b [Cout] → [B, Cout, H', W'],
 * each axis sized as in conv1d with symmetric padding.
 */
export const conv2d = (x: Tensor, w: Tensor, b?: Tensor | null, opts: Conv2dOptions = {}): Tensor =>
  convOp(withBias(x, w, b), attrs2d(opts));

/** 2-D transposed convolution: x [B, Cin, H, W], w [Cin, Cout/groups, KH, KW], b [Cout]. */
export const convTranspose2d = (x: Tensor, w: Tensor, b?: Tensor | null, opts: ConvTranspose2dOptions = {}): Tensor =>
  convTransposeOp(withBias(x, w, b), { ...attrs2d(opts), outputPadding: perAxis(opts.outputPadding ?? 0, 2) });
