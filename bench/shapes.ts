/**
 * `npm run bench -- shapes [--quick]`: Tony's 3D foundations against numpy implementations of the
 * same algorithms (bench/shapes.py), on the same inputs, in the same run:
 *
 *   marching cubes on 64³, 128³, 256³ grids (same derived case table, shared edge vertices),
 *   area-uniform surface sampling (200k points from a ~100k-face mesh),
 *   rendering at 256²: sphere tracing an SDF, splatting 100k points, rasterising a mesh.
 *
 * Each timing is the median of several repeats after one warm-up run. numpy's runs are vectorised where the algorithm
 * allows (marching cubes, sampling, sphere tracing, splats); its rasteriser loops over triangles
 * with vectorised pixels inside each bounding box, the usual numpy way. Sanity columns compare the
 * outputs (face counts, areas, covered pixels). Ratios (numpy time / Tony time; > 1 means Tony is
 * faster) are on the last line. Skipped with a message where python3 or numpy is absent.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { caseTable, type Grid, marchingCubes, sampleGrid } from '../src/shape/marching-cubes.ts';
import { type Mesh, meshArea } from '../src/shape/mesh.ts';
import { sampleSurface } from '../src/shape/pointcloud.ts';
import { type Camera, type Image, renderField, renderMesh, renderPoints } from '../src/shape/render.ts';
import { compileShape, type ShapeNode } from '../src/shape/sdf.ts';

const quick = process.argv.includes('--quick');
const here = dirname(fileURLToPath(import.meta.url));
const REPEATS = quick ? 1 : 5;
const MC_SIZES = quick ? [64, 128] : [64, 128, 256];
const SAMPLE_N = 200_000;
const SPLAT_N = 100_000;
const SIZE = 256;

// The benchmark scene: a sphere beside a torus (exact SDFs that numpy re-implements in closed form).
const SPHERE = { r: 0.22, at: [-0.2, 0.05, 0] as [number, number, number] };
const TORUS = { R: 0.18, r: 0.07, at: [0.22, -0.05, 0.02] as [number, number, number] };
const scene: ShapeNode = {
  op: 'union',
  parts: [
    { op: 'primitive', primitive: { kind: 'sphere', radius: SPHERE.r }, at: SPHERE.at, color: [0.85, 0.12, 0.1] },
    { op: 'primitive', primitive: { kind: 'torus', major: TORUS.R, minor: TORUS.r, axis: 'y' }, at: TORUS.at, color: [0.12, 0.3, 0.85] },
  ],
};
const field = compileShape(scene);
const LO: [number, number, number] = [-0.5, -0.5, -0.5];
const HI: [number, number, number] = [0.5, 0.5, 0.5];
const camera: Camera = { eye: [0.6, 0.5, 1.6], target: [0, 0, 0], up: [0, 1, 0], fovY: 40, width: SIZE, height: SIZE };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
function time<T>(fn: () => T, repeats = REPEATS): { ms: number; out: T } {
  let out = fn(); // warm-up: JIT compilation is not what we measure
  const ts: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    out = fn();
    ts.push(performance.now() - t0);
  }
  return { ms: median(ts), out };
}
const covered = (img: Image) => img.alpha.reduce((n, a) => n + (a > 127 ? 1 : 0), 0);

// ---- Tony ----------------------------------------------------------------------------------
const work = mkdtempSync(join(tmpdir(), 'tony-bench-shapes-'));
const tony: Record<string, { ms: number; check: string }> = {};
const grids: Record<number, Grid> = {};
let mesh128!: Mesh;
let mesh64!: Mesh;
for (const n of MC_SIZES) {
  const grid = sampleGrid(field, LO, HI, n);
  grids[n] = grid;
  writeFileSync(join(work, `grid${n}.bin`), grid.values);
  // Small grids run in milliseconds: more repeats steady the median; 256³ takes a while, so fewer.
  const r = time(() => marchingCubes(grid), n >= 256 ? Math.min(REPEATS, 3) : n <= 64 ? 3 * REPEATS : REPEATS);
  if (n === 128) mesh128 = r.out;
  if (n === 64) mesh64 = r.out;
  tony[`mc${n}`] = { ms: r.ms, check: `${r.out.indices.length / 3} faces, area ${meshArea(r.out).toFixed(5)}` };
}
writeFileSync(join(work, 'mesh128_pos.bin'), mesh128.positions);
writeFileSync(join(work, 'mesh128_idx.bin'), mesh128.indices);
writeFileSync(join(work, 'mesh64_pos.bin'), mesh64.positions);
writeFileSync(join(work, 'mesh64_idx.bin'), mesh64.indices);
{
  const r = time(() => sampleSurface(mesh128, SAMPLE_N, { seed: 1 }));
  const zMean = r.out.xyz.reduce((s, v, i) => (i % 3 === 2 ? s + v : s), 0) / SAMPLE_N;
  tony.sample = { ms: r.ms, check: `${SAMPLE_N} pts from ${mesh128.indices.length / 3} faces, mean z ${zMean.toFixed(4)}` };
}
const splatCloud = sampleSurface(mesh128, SPLAT_N, { seed: 2 });
writeFileSync(join(work, 'splat_xyz.bin'), splatCloud.xyz);
const SPLAT_RADIUS = 0.004;
{
  const r = time(() => renderField(field, camera, { lo: LO, hi: HI }));
  tony.trace = { ms: r.ms, check: `${covered(r.out)} px covered` };
  const p = time(() => renderPoints(splatCloud, camera, { radius: SPLAT_RADIUS }));
  tony.splat = { ms: p.ms, check: `${covered(p.out)} px covered` };
  const m = time(() => renderMesh(mesh64, camera));
  tony.raster = { ms: m.ms, check: `${covered(m.out)} px covered (${mesh64.indices.length / 3} faces)` };
}

// ---- numpy ---------------------------------------------------------------------------------
writeFileSync(
  join(work, 'meta.json'),
  JSON.stringify({
    repeats: REPEATS,
    mcSizes: MC_SIZES,
    lo: LO,
    hi: HI,
    table: caseTable(),
    sampleN: SAMPLE_N,
    sphere: SPHERE,
    torus: TORUS,
    camera,
    splatRadius: SPLAT_RADIUS,
  }),
);
const py = spawnSync('python3', [join(here, 'shapes.py'), work], { encoding: 'utf8', maxBuffer: 1 << 24 });
let numpy: Record<string, { ms: number; check: string }> | undefined;
let skipped = '';
if (py.error || py.status !== 0) {
  skipped = py.error
    ? `python3 not runnable (${py.error.message})`
    : py.stderr.includes('No module named')
      ? 'numpy is not installed'
      : `python3 failed: ${py.stderr.slice(-500)}`;
} else numpy = JSON.parse(readFileSync(join(work, 'numpy.json'), 'utf8'));
rmSync(work, { recursive: true, force: true });

// ---- report ---------------------------------------------------------------------------------
const rows = Object.keys(tony);
const pad = (s: string, n: number) => s.padEnd(n);
console.log(
  `shapes benchmark — median of ${REPEATS} runs (64³: ${3 * REPEATS}, 256³: up to 3) after a warm-up, ${SIZE}² renders; node ${process.version}`,
);
console.log(pad('task', 8), pad('tony ms', 10), pad('numpy ms', 10), pad('tony check', 52), 'numpy check');
for (const k of rows) {
  const n = numpy?.[k];
  console.log(pad(k, 8), pad(tony[k]!.ms.toFixed(1), 10), pad(n ? n.ms.toFixed(1) : '-', 10), pad(tony[k]!.check, 52), n?.check ?? '');
}
if (!numpy) console.log(`numpy peer skipped: ${skipped}`);
console.log(
  numpy
    ? `ratios (numpy ms / tony ms): ${rows.map((k) => `${k} ${(numpy![k]!.ms / tony[k]!.ms).toFixed(2)}x`).join(', ')}`
    : `ratios: skipped (${skipped})`,
);
