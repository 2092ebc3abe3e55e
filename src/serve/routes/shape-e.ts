/**
 * Shap-E routes (the Shap-E page): a caption → a latent sampled by the bundled models/shape-e
 * (or another diffusion model directory) → both of its decoders: the NeRF render as PNG and the STF
 * mesh as GLB with vertex colours.
 *
 *   GET  /api/shape-e/model                                          → { model, available, train }
 *   POST /api/shape-e/sample { caption, guidance?, steps?, seed?, grid?, size? }
 *        → { nerf: base64 PNG, glb: base64 GLB, vertices, faces, watertight, latent: base64 float32,
 *            seconds: { sample, nerf, mesh } }
 *   POST /api/shape-e/render { latent, azimuth?, size? } → { nerf: base64 PNG, seconds }
 *        the same latent's NeRF from another side (azimuth in degrees about the vertical axis, 30 is
 *        the sample's view): the page turns the NeRF with it. The latent travels with the client,
 *        so the server keeps nothing between requests.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadShapeE, type ShapeEModel } from '../../models/shape-e/model.ts';
import { writeGlb } from '../../shape/glb.ts';
import { faceCount, isWatertight, vertexCount } from '../../shape/mesh.ts';
import { encodePng, orbitCameras } from '../../shape/render.ts';
import { badRequest, HttpError } from '../core/http.ts';
import type { RouteModule } from '../core/server.ts';

/** The diffusion model the page samples (docs/results/shape-e.md made it; its encoder sits beside it). */
const BUNDLED_SHAPE_E = 'models/shape-e/diffusion';
/** What the page says to run when there is no model (docs/results/shape-e.md's recipe). */
export const SHAPE_E_TRAIN_HINT =
  'tony shapes generate --count 2000 --points 2048 --out runs/shapes && tony train shape-e --stage encoder --data runs/shapes --out runs/shape-e-encoder && tony train shape-e --stage diffusion --data runs/shapes --set encoder=runs/shape-e-encoder --out runs/shape-e';
/** Grid and render sizes: both cost seconds of one core at their maximum. */
const GRID = { min: 16, max: 128, default: 64 };
const SIZE = { min: 32, max: 256, default: 128 };
const int = (lo: number, hi: number) => (v: number) => Number.isInteger(v) && v >= lo && v <= hi;
/** The sample's NeRF view: orbitCameras' first camera (azimuth 30°, elevation 20°). */
const SAMPLE_AZIMUTH = 30;

export function shapeERoutes(opts: { modelDir?: string } = {}): RouteModule {
  const dir = opts.modelDir ?? BUNDLED_SHAPE_E;
  let model: Promise<ShapeEModel> | undefined;
  const open = () => {
    model ??= loadShapeE(dir, { threads: 1 });
    model.catch(() => (model = undefined));
    return model;
  };
  const available = () => existsSync(join(dir, 'config.json')) || existsSync(join(dir, 'metrics.jsonl'));
  const opened = () => {
    if (!available()) throw new HttpError(503, `No Shap-E model in ${dir}: train one with ${SHAPE_E_TRAIN_HINT}`, 'server_error');
    return open();
  };
  /** A JSON object body and a reader of its numeric fields, each refused by name with what it must be. */
  const fields = async (ctx: { json(): Promise<unknown> }) => {
    const raw = await ctx.json();
    const b = (typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
    const num = (name: string, dflt: number, ok: (v: number) => boolean, want: string) => {
      const v = b[name] ?? dflt;
      if (typeof v !== 'number' || !ok(v)) throw badRequest(`'${name}' must be ${want}, got ${JSON.stringify(b[name])}.`, name);
      return v;
    };
    return { b, num };
  };
  return {
    routes: [
      {
        method: 'GET',
        path: '/api/shape-e/model',
        public: true,
        async handle(ctx) {
          ctx.send(200, { model: dir, available: available(), train: SHAPE_E_TRAIN_HINT });
        },
      },
      {
        method: 'POST',
        path: '/api/shape-e/sample',
        public: true,
        async handle(ctx) {
          const { b, num } = await fields(ctx);
          if (typeof b.caption !== 'string' || !b.caption.trim())
            throw badRequest('\'caption\' must be a non-empty string, e.g. "a small red cube".', 'caption');
          const guidance = num('guidance', 3, (v) => v >= 0 && v <= 100, 'a number from 0 to 100 (1 = no guidance)');
          const steps = num('steps', 64, int(1, 256), 'an integer from 1 to 256');
          const seed = num('seed', 0, int(0, 2 ** 31 - 1), 'a whole number');
          const grid = num('grid', GRID.default, int(GRID.min, GRID.max), `an integer from ${GRID.min} to ${GRID.max}`);
          const size = num('size', SIZE.default, int(SIZE.min, SIZE.max), `an integer from ${SIZE.min} to ${SIZE.max}`);
          const m = await opened();
          await ctx.withSlot(async () => {
            const s = await m.sample({ caption: b.caption as string, guidance, steps, seed });
            let t0 = performance.now();
            const nerf = await m.renderNerf(s.latent, orbitCameras(1, { size, azimuth0: SAMPLE_AZIMUTH })[0]!);
            const nerfSeconds = (performance.now() - t0) / 1000;
            t0 = performance.now();
            const mesh = await m.mesh(s.latent, { grid });
            const meshSeconds = (performance.now() - t0) / 1000;
            if (faceCount(mesh) === 0)
              throw new HttpError(
                422,
                'The latent decodes to no surface (its signed distance has one sign on the grid): try another seed.',
                'invalid_request_error',
              );
            ctx.send(200, {
              nerf: Buffer.from(encodePng(nerf)).toString('base64'),
              glb: Buffer.from(await writeGlb(mesh, { name: 'shap-e' })).toString('base64'),
              vertices: vertexCount(mesh),
              faces: faceCount(mesh),
              watertight: isWatertight(mesh),
              latent: Buffer.from(s.latent.buffer, s.latent.byteOffset, s.latent.byteLength).toString('base64'),
              seconds: { sample: s.seconds, nerf: nerfSeconds, mesh: meshSeconds },
            });
          });
        },
      },
      {
        method: 'POST',
        path: '/api/shape-e/render',
        public: true,
        async handle(ctx) {
          const { b, num } = await fields(ctx);
          const azimuth = num('azimuth', SAMPLE_AZIMUTH, (v) => Number.isFinite(v), 'a number of degrees');
          const size = num('size', SIZE.default, int(SIZE.min, SIZE.max), `an integer from ${SIZE.min} to ${SIZE.max}`);
          const m = await opened();
          const bytes = typeof b.latent === 'string' ? Buffer.from(b.latent, 'base64') : undefined;
          if (!bytes || bytes.length !== 4 * m.latentSize)
            throw badRequest(
              `'latent' must be the base64 float32 latent a sample returned (${4 * m.latentSize} bytes for this model), got ${bytes ? `${bytes.length} bytes` : typeof b.latent}.`,
              'latent',
            );
          const latent = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
          if (!latent.every(Number.isFinite)) throw badRequest("'latent' holds a NaN or an infinity.", 'latent');
          await ctx.withSlot(async () => {
            const t0 = performance.now();
            const nerf = await m.renderNerf(latent, orbitCameras(1, { size, azimuth0: azimuth })[0]!);
            ctx.send(200, { nerf: Buffer.from(encodePng(nerf)).toString('base64'), seconds: (performance.now() - t0) / 1000 });
          });
        },
      },
    ],
  };
}
