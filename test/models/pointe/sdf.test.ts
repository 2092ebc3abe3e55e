/**
 * Point-E's SDF model and meshing (src/models/pointe/sdf.ts, sdf-task.ts):
 *  - the loss gradient against central finite differences (float64 interpreter), every parameter;
 *  - the loss value with a constant prediction against the hand-computed mean |clamp(b) − clamp(s)|;
 *  - the cloud is a set (permuting it changes nothing) and queries are independent (changing one
 *    query changes only its own distance);
 *  - meshing through an exact sphere SDF: closed, area and volume within 1 % of 4πr² and 4/3·πr³,
 *    vertex colours from the nearest cloud point (a two-coloured sphere keeps its halves);
 *  - near-surface queries: for a sphere, |s| of a surface point moved by N(0, σ²I) is ≈ |σ·z|,
 *    whose mean is σ√(2/π); uniform queries fill the cube plus the margin.
 */
import { describe, expect, it } from 'vitest';
import { grad } from '../../../src/engine/autodiff.ts';
import { type HostTensor, hostTensor } from '../../../src/engine/dtype.ts';
import { interpret } from '../../../src/engine/interpret.ts';
import { objective } from '../../../src/engine/step.ts';
import { type PointEConfig, pointeConfig } from '../../../src/models/pointe/pointe.ts';
import { meshFromSdf, PointESdf, sdfInputs, sdfObjective } from '../../../src/models/pointe/sdf.ts';
import { drawQueries, NEAR_SIGMA, QUERY_MARGIN } from '../../../src/models/pointe/sdf-task.ts';
import { prng } from '../../../src/random.ts';
import { isWatertight, meshArea, meshVolume } from '../../../src/shape/mesh.ts';
import { weights64 } from '../weights64.ts';

const B = 2;
const N = 5;
const Q = 4;

function cfgOf(over: Partial<PointEConfig> = {}): Readonly<PointEConfig> {
  return pointeConfig({ stage: 'sdf', points: N, queries: Q, width: 8, layers: 1, heads: 2, decoderLayers: 1, truncation: 0.5, ...over });
}

function batch(seed: number, nq = Q) {
  const r = prng(seed);
  return {
    cloud: hostTensor(
      'float64',
      [B, N, 3],
      Float64Array.from({ length: B * N * 3 }, () => r.uniform(-1, 1)),
    ),
    queries: hostTensor(
      'float64',
      [B, nq, 3],
      Float64Array.from({ length: B * nq * 3 }, () => r.uniform(-1, 1)),
    ),
    target: hostTensor(
      'float64',
      [B, nq],
      Float64Array.from({ length: B * nq }, () => r.uniform(-0.4, 0.4)),
    ),
  };
}

describe('Point-E SDF model', () => {
  it('gradient of the L1 loss against central finite differences, every parameter tensor', () => {
    const cfg = cfgOf();
    const model = new PointESdf(cfg);
    const inp = sdfInputs(cfg, B);
    const { losses } = sdfObjective(model, inp);
    const obj = objective({ ps: model.ps, losses, data: [] });
    const feeds: Record<string, HostTensor> = { ...weights64(model.ps, 3), ...batch(4) };
    const params = model.ps.inputs;
    const grads = interpret(grad(obj.loss, params), feeds);
    const H = 1e-6;
    let checked = 0;
    params.forEach((p, k) => {
      for (const i of new Set([0, Math.floor(p.size / 2), p.size - 1])) {
        const at = (dx: number) => {
          const data = Float64Array.from(feeds[p.name!]!.data as Float64Array);
          data[i]! += dx;
          return interpret([obj.loss], { ...feeds, [p.name!]: hostTensor('float64', p.shape, data) })[0]!.data[0] as number;
        };
        const f = (at(H) - at(-H)) / (2 * H);
        const g = grads[k]!.data[i] as number;
        expect(Math.abs(g - f), `${p.name}[${i}]: autodiff ${g}, finite differences ${f}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(f)));
        checked++;
      }
    });
    expect(checked).toBeGreaterThan(40);
  });

  it('with a constant prediction b the loss is mean |clamp(b) − clamp(s)| and the sign error counts near queries', () => {
    const cfg = cfgOf({ truncation: 0.1 });
    const model = new PointESdf(cfg);
    const inp = sdfInputs(cfg, 1, N, 4);
    const { losses, metrics } = sdfObjective(model, inp);
    const w = weights64(model.ps, 1);
    w['output_proj.weight'] = hostTensor('float64', [8, 1], new Float64Array(8));
    w['output_proj.bias'] = hostTensor('float64', [1], [0.04]);
    const target = [0.3, -0.05, 0.02, -0.2];
    // by hand: clamp(s) = 0.1, −0.05, 0.02, −0.1; |0.04 − ·| = 0.06, 0.09, 0.02, 0.14 → mean 0.0775;
    // near (|s| < 0.1): −0.05 and 0.02, of which −0.05 has the wrong sign → 1/2
    const feeds = {
      ...w,
      cloud: hostTensor('float64', [1, N, 3], new Float64Array(N * 3).fill(0.1)),
      queries: hostTensor('float64', [1, 4, 3], new Float64Array(12).fill(0.2)),
      target: hostTensor('float64', [1, 4], target),
    };
    const [l1, sign] = interpret([losses.l1, metrics.sign_error], feeds);
    expect(l1!.data[0] as number).toBeCloseTo(0.0775, 8); // the graph's constants (±truncation) are float32
    expect(sign!.data[0] as number).toBeCloseTo(0.5, 12);
  });

  const cfg = cfgOf();
  const model = new PointESdf(cfg);
  const q = sdfInputs(cfg, B);
  const out = model.predict(q.queries, model.encode(q.cloud)); // (B, Q)
  const w = weights64(model.ps, 7);

  it('reads the cloud as a set: permuting its points leaves every distance unchanged', () => {
    const feeds = { ...w, ...batch(8) };
    const [y] = interpret([out], feeds);
    const perm = [4, 2, 0, 3, 1];
    const c = feeds.cloud.data as Float64Array;
    const pc = new Float64Array(c.length);
    for (let b = 0; b < B; b++)
      for (let j = 0; j < N; j++) pc.set(c.subarray((b * N + perm[j]!) * 3, (b * N + perm[j]! + 1) * 3), (b * N + j) * 3);
    const [py] = interpret([out], { ...feeds, cloud: hostTensor('float64', [B, N, 3], pc) });
    y!.data.forEach((v, i) => expect(py!.data[i] as number).toBeCloseTo(v as number, 10));
  });

  it('answers each query independently of the others', () => {
    const feeds = { ...w, ...batch(9) };
    const [y] = interpret([out], feeds);
    const moved = Float64Array.from(feeds.queries.data as Float64Array);
    moved[0] = moved[0]! + 0.7; // query 0 of row 0
    const [y2] = interpret([out], { ...feeds, queries: hostTensor('float64', [B, Q, 3], moved) });
    expect(Math.abs((y2!.data[0] as number) - (y!.data[0] as number))).toBeGreaterThan(1e-6);
    for (let i = 1; i < B * Q; i++) expect(y2!.data[i] as number).toBeCloseTo(y!.data[i] as number, 12);
  });
});

describe('meshing through a signed-distance function', () => {
  const r = 0.3;
  const sphere = async (qs: Float32Array) => {
    const out = new Float32Array(qs.length / 3);
    for (let i = 0; i < out.length; i++) out[i] = Math.hypot(qs[3 * i]!, qs[3 * i + 1]!, qs[3 * i + 2]!) - r;
    return out;
  };

  it("an exact sphere SDF gives a closed mesh of the sphere's area and volume, coloured by the nearest cloud point", async () => {
    // a cloud on the sphere: red where x < 0, blue where x > 0
    const rng = prng(2);
    const n = 2000;
    const xyz = new Float32Array(3 * n);
    const rgb = new Float32Array(3 * n);
    for (let i = 0; i < n; i++) {
      const v = [rng.normal(), rng.normal(), rng.normal()];
      const l = Math.hypot(...v);
      for (let k = 0; k < 3; k++) xyz[3 * i + k] = (r * v[k]!) / l;
      rgb.set(xyz[3 * i]! < 0 ? [1, 0, 0] : [0, 0, 1], 3 * i);
    }
    let calls = 0;
    const mesh = await meshFromSdf(
      async (qs) => {
        calls++;
        return sphere(qs);
      },
      { xyz, rgb },
      { grid: 48, chunk: 10_000 },
    );
    expect(calls).toBe(Math.ceil(49 ** 3 / 10_000));
    expect(isWatertight(mesh)).toBe(true);
    expect(meshArea(mesh) / (4 * Math.PI * r * r)).toBeCloseTo(1, 2);
    expect(meshVolume(mesh) / ((4 / 3) * Math.PI * r ** 3)).toBeCloseTo(1, 2);
    let checked = 0;
    for (let i = 0; i < mesh.positions.length / 3; i++) {
      const x = mesh.positions[3 * i]!;
      if (Math.abs(x) < 0.05) continue; // near the seam the nearest point may be on either side
      expect(Array.from(mesh.colors!.subarray(3 * i, 3 * i + 3))).toEqual(x < 0 ? [1, 0, 0] : [0, 0, 1]);
      checked++;
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('a distance function negative at the border (a sphere of radius 0.8 > the grid) gives an open mesh, measured not hidden', async () => {
    const mesh = await meshFromSdf(async (qs) => (await sphere(qs)).map((v) => v - 0.5), { xyz: new Float32Array(3) }, { grid: 16 });
    expect(isWatertight(mesh)).toBe(false);
  });
});

describe('SDF training queries', () => {
  it('near-surface queries lie at |σ·z| from a sphere, uniform ones fill the cube plus the margin', () => {
    const r = 0.3;
    const field = { sdf: (x: number, y: number, z: number) => Math.hypot(x, y, z) - r, color: () => {} };
    const rng = prng(5);
    const surface = new Float32Array(3 * 500);
    for (let i = 0; i < 500; i++) {
      const v = [rng.normal(), rng.normal(), rng.normal()];
      const l = Math.hypot(...v);
      for (let k = 0; k < 3; k++) surface[3 * i + k] = (r * v[k]!) / l;
    }
    const Qn = 20_000;
    const { q, s } = drawQueries({ field, surface }, Qn, prng(6));
    let near = 0;
    for (let i = 0; i < Qn / 2; i++) near += Math.abs(s[i]!);
    // radial displacement ≈ N(0, σ²) (curvature adds O(σ²/r)); E|σz| = σ√(2/π); s.e. ≈ σ·0.6/√10⁴
    expect(near / (Qn / 2)).toBeCloseTo(NEAR_SIGMA * Math.sqrt(2 / Math.PI), 3);
    const lim = 0.5 + QUERY_MARGIN;
    let maxAbs = 0;
    let sum = 0;
    for (let i = Qn / 2; i < Qn; i++) {
      for (let k = 0; k < 3; k++) {
        maxAbs = Math.max(maxAbs, Math.abs(q[3 * i + k]!));
        sum += q[3 * i + k]! ** 2;
      }
      expect(s[i]).toBeCloseTo(Math.hypot(q[3 * i]!, q[3 * i + 1]!, q[3 * i + 2]!) - r, 5);
    }
    expect(maxAbs).toBeLessThanOrEqual(lim);
    expect(maxAbs).toBeGreaterThan(0.99 * lim);
    expect(sum / (3 * (Qn / 2))).toBeCloseTo((lim * lim) / 3, 2); // variance of U(−a, a) is a²/3
  });
});
