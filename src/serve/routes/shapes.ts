/**
 * 3D routes: procedural captioned shapes (src/shape/scenes.ts) meshed by marching cubes on their
 * exact SDFs, as GLB with vertex colours — what the 3D page turns.
 *
 *   GET  /api/shapes/scene?seed=0&index=17     → { id, caption } (a dataset item, as tony shapes generate makes it)
 *   POST /api/shapes/mesh {caption | item, grid} → model/gltf-binary; X-Vertices, X-Faces headers
 *
 * A caption outside the vocabulary is a 400 listing the words the parser knows.
 *
 * Point-E (`pointeRoutes`, the Point-E page): a base model from a run under the runs folder samples
 * a coloured cloud for a caption, and the bundled SDF model (models/pointe/sdf) meshes it.
 *
 *   GET  /api/pointe/models                              → { runs: [name], conds: { name: text|image|image-pooled }, sdf, train }
 *                                                           (base-model runs, what each is conditioned on; how to train one)
 *   POST /api/pointe/sample { run, caption | image, guidance?, steps?, seed? } → { xyz, rgb, seconds }
 *        `caption` for a text model, `image` (a base64 PNG: a rendered view) for an image model
 *   POST /api/pointe/mesh { xyz, rgb, grid? }             → model/gltf-binary; X-Vertices, X-Faces, X-Watertight headers
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadPointE, loadPointESdf, type PointEModel, type PointESdfModel } from '../../models/pointe/model.ts';
import { writeGlb } from '../../shape/glb.ts';
import { meshField } from '../../shape/marching-cubes.ts';
import { faceCount, isWatertight, vertexCount } from '../../shape/mesh.ts';
import { decodePng, type Image } from '../../shape/render.ts';
import { buildScene, generateScene, parseCaption, parseItemId } from '../../shape/scenes.ts';
import { compileShape } from '../../shape/sdf.ts';
import { listRuns, runDetail } from '../../studio/runs.ts';
import { badRequest, HttpError } from '../core/http.ts';
import type { RouteModule } from '../core/server.ts';

/** Marching-cubes grid: 64³ meshes in a fraction of a second; 160³ is already seconds of one core. */
const GRID = { min: 8, max: 160, default: 64 };

export function shapeRoutes(): RouteModule {
  return {
    routes: [
      {
        method: 'GET',
        path: '/api/shapes/scene',
        public: true,
        async handle(ctx) {
          const q = new URL(ctx.req.url ?? '/', 'http://x').searchParams;
          const nat = (name: string) => {
            const v = q.get(name) ?? '0';
            if (!/^\d{1,9}$/.test(v)) throw badRequest(`'${name}' must be a whole number, got ${JSON.stringify(v)}.`, name);
            return Number(v);
          };
          const item = generateScene(nat('seed'), nat('index'));
          ctx.send(200, { id: item.id, caption: item.caption });
        },
      },
      {
        method: 'POST',
        path: '/api/shapes/mesh',
        public: true,
        async handle(ctx) {
          const body = await ctx.json();
          const b = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
          const { caption, item } = b;
          if (
            (caption === undefined) === (item === undefined) ||
            (caption !== undefined && typeof caption !== 'string') ||
            (item !== undefined && typeof item !== 'string')
          )
            throw badRequest(
              'Send exactly one of "caption" (e.g. "a small red cube on top of a large blue sphere") or "item" (e.g. "0-17"), as a string.',
            );
          const grid = b.grid ?? GRID.default;
          if (typeof grid !== 'number' || !Number.isInteger(grid) || grid < GRID.min || grid > GRID.max)
            throw badRequest(`'grid' must be an integer from ${GRID.min} to ${GRID.max}, got ${JSON.stringify(b.grid)}.`, 'grid');
          const scene =
            caption !== undefined
              ? buildScene(parseCaption(caption))
              : (() => {
                  const { seed, index } = parseItemId(item as string);
                  return generateScene(seed, index).scene;
                })();
          await ctx.withSlot(async () => {
            const mesh = meshField(compileShape(scene), grid);
            const glb = await writeGlb(mesh, { name: String(caption ?? item) });
            ctx.res.writeHead(200, {
              'Content-Type': 'model/gltf-binary',
              'Content-Length': glb.length,
              'X-Vertices': vertexCount(mesh),
              'X-Faces': faceCount(mesh),
            });
            ctx.res.end(glb);
          });
        },
      },
    ],
  };
}

/** The bundled SDF model the Point-E page meshes with (docs/results/pointe.md made it). */
const BUNDLED_POINTE_SDF = 'models/pointe/sdf';
/** What the page says to run when the runs folder holds no base model (docs/results/pointe.md's recipe). */
export const POINTE_TRAIN_HINT =
  'tony shapes generate --count 3000 --points 2048 --out runs/shapes && tony train pointe --data runs/shapes --set preset=small --stage base --out runs/pointe-small';
/** Karras steps the page may ask for: Point-E uses 64; every step runs the model twice with guidance. */
const STEPS = { min: 1, max: 256 };
/** Points a cloud sent to the mesh route may hold (the SDF model subsamples to its N anyway). */
const MAX_MESH_POINTS = 16384;

export function pointeRoutes(opts: { runsDir?: string; sdfDir?: string } = {}): RouteModule {
  const sdfDir = opts.sdfDir ?? BUNDLED_POINTE_SDF;
  const bases = new Map<string, Promise<PointEModel>>();
  let sdf: Promise<PointESdfModel> | undefined;
  /** Base-model runs under the runs folder: a pointe config whose stage is base. */
  /** Base-model runs and what each is conditioned on (a run saved before image conditioning is text). */
  const baseRunConds = async (): Promise<Record<string, string>> => {
    if (!opts.runsDir) return {};
    const runs = (await listRuns(opts.runsDir)).filter((r) => r.kind === 'pointe');
    const details = await Promise.all(runs.map((r) => runDetail(opts.runsDir!, r.name)));
    const model = (d: (typeof details)[number]) => (d.config?.model ?? {}) as { stage?: string; cond?: string };
    return Object.fromEntries(
      details
        .filter((d) => (model(d).stage ?? 'base') === 'base' && d.checkpoints.length > 0)
        .map((d) => [d.name, model(d).cond ?? 'text']),
    );
  };
  const baseRuns = async () => Object.keys(await baseRunConds());
  const openBase = async (run: string): Promise<PointEModel> => {
    if (!(await baseRuns()).includes(run))
      throw badRequest(`no Point-E base-model run '${run}' in the runs folder; GET /api/pointe/models lists them.`, 'run');
    let m = bases.get(run);
    if (!m) {
      m = loadPointE(join(opts.runsDir!, run), { threads: 1 });
      bases.set(run, m);
      m.catch(() => bases.delete(run)); // a checkpoint written meanwhile is read on the next request
    }
    return m;
  };
  const openSdf = () => {
    sdf ??= loadPointESdf(sdfDir, { threads: 1 });
    sdf.catch(() => (sdf = undefined));
    return sdf;
  };
  const body = async (ctx: { json(): Promise<unknown> }) => {
    const b = await ctx.json();
    return (typeof b === 'object' && b !== null && !Array.isArray(b) ? b : {}) as Record<string, unknown>;
  };
  const num = (b: Record<string, unknown>, name: string, dflt: number, ok: (v: number) => boolean, want: string) => {
    const v = b[name] ?? dflt;
    if (typeof v !== 'number' || !ok(v)) throw badRequest(`'${name}' must be ${want}, got ${JSON.stringify(b[name])}.`, name);
    return v;
  };
  /** A flat array of finite numbers in [lo, hi], three per point. */
  const floats = (b: Record<string, unknown>, name: string, lo: number, hi: number): Float32Array => {
    const v = b[name];
    if (!Array.isArray(v) || v.length === 0 || v.length % 3 !== 0 || v.length > 3 * MAX_MESH_POINTS)
      throw badRequest(`'${name}' must be a flat array of 3 numbers per point (1 to ${MAX_MESH_POINTS} points).`, name);
    const bad = v.findIndex((x) => typeof x !== 'number' || !(x >= lo && x <= hi));
    if (bad >= 0) throw badRequest(`'${name}'[${bad}] must be a number in [${lo}, ${hi}], got ${JSON.stringify(v[bad])}.`, name);
    return Float32Array.from(v as number[]);
  };
  const captionOf = (b: Record<string, unknown>): string => {
    if (b.image !== undefined)
      throw badRequest("This run is conditioned on a caption, not an image: send 'caption', or pick an image-conditioned run.", 'image');
    if (typeof b.caption !== 'string' || !b.caption.trim())
      throw badRequest('\'caption\' must be a non-empty string, e.g. "a small red cube".', 'caption');
    return b.caption;
  };
  const imageOf = (b: Record<string, unknown>, cond: string): Image => {
    if (b.caption !== undefined)
      throw badRequest(
        `This run is conditioned on an image ('${cond}'), not a caption: send 'image', a base64 PNG of a rendered view.`,
        'caption',
      );
    if (typeof b.image !== 'string' || b.image === '')
      throw badRequest("'image' must be a base64 PNG of a rendered view (tony shapes generate --views 1 makes them).", 'image');
    try {
      return decodePng(new Uint8Array(Buffer.from(b.image, 'base64')));
    } catch (err) {
      throw badRequest(`'image' is not a PNG this reader can decode: ${(err as Error).message}`, 'image');
    }
  };
  return {
    routes: [
      {
        method: 'GET',
        path: '/api/pointe/models',
        public: true,
        async handle(ctx) {
          const conds = await baseRunConds();
          ctx.send(200, {
            runsDir: opts.runsDir ?? null,
            runs: Object.keys(conds),
            conds,
            sdf: existsSync(join(sdfDir, 'config.json')),
            train: POINTE_TRAIN_HINT,
          });
        },
      },
      {
        method: 'POST',
        path: '/api/pointe/sample',
        public: true,
        async handle(ctx) {
          const b = await body(ctx);
          if (typeof b.run !== 'string')
            throw badRequest("'run' must name a Point-E base-model run, as GET /api/pointe/models lists it.", 'run');
          const guidance = num(b, 'guidance', 3, (v) => v >= 0 && v <= 100, 'a number from 0 to 100 (1 = no guidance)');
          const steps = num(
            b,
            'steps',
            64,
            (v) => Number.isInteger(v) && v >= STEPS.min && v <= STEPS.max,
            `an integer from ${STEPS.min} to ${STEPS.max}`,
          );
          const seed = num(b, 'seed', 0, (v) => Number.isInteger(v) && v >= 0 && v < 2 ** 31, 'a whole number');
          const model = await openBase(b.run);
          const condition = model.cfg.cond === 'text' ? { caption: captionOf(b) } : { image: imageOf(b, model.cfg.cond) };
          await ctx.withSlot(async () => {
            const { cloud, seconds } = await model.sample({ ...condition, guidance, steps, seed });
            ctx.send(200, {
              run: b.run,
              points: cloud.xyz.length / 3,
              xyz: Array.from(cloud.xyz),
              rgb: Array.from(cloud.rgb ?? []),
              seconds,
            });
          });
        },
      },
      {
        method: 'POST',
        path: '/api/pointe/mesh',
        public: true,
        async handle(ctx) {
          const b = await body(ctx);
          // The models' clouds fill the unit cube; a little slack for samples at its edge.
          const xyz = floats(b, 'xyz', -2, 2);
          const rgb = floats(b, 'rgb', 0, 1);
          if (rgb.length !== xyz.length) throw badRequest(`'rgb' has ${rgb.length / 3} colours for ${xyz.length / 3} points.`, 'rgb');
          const grid = num(
            b,
            'grid',
            GRID.default,
            (v) => Number.isInteger(v) && v >= GRID.min && v <= GRID.max,
            `an integer from ${GRID.min} to ${GRID.max}`,
          );
          if (!existsSync(join(sdfDir, 'config.json')))
            throw new HttpError(503, `No Point-E SDF model in ${sdfDir}: train one with tony train pointe --stage sdf.`, 'server_error');
          const model = await openSdf();
          await ctx.withSlot(async () => {
            const { mesh } = await model.mesh({ xyz, rgb }, { grid });
            if (faceCount(mesh) === 0)
              throw new HttpError(
                422,
                'The SDF model found no surface in this cloud (every grid value has one sign): the cloud should fill the unit cube, as the training clouds do.',
                'invalid_request_error',
              );
            const glb = await writeGlb(mesh, { name: 'point-e' });
            ctx.res.writeHead(200, {
              'Content-Type': 'model/gltf-binary',
              'Content-Length': glb.length,
              'X-Vertices': vertexCount(mesh),
              'X-Faces': faceCount(mesh),
              'X-Watertight': String(isWatertight(mesh)),
            });
            ctx.res.end(glb);
          });
        },
      },
    ],
  };
}
