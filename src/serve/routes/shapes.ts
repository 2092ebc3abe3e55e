/**
 * 3D routes: procedural captioned shapes (src/shape/scenes.ts) meshed by marching cubes on their
 * exact SDFs, as GLB with vertex colours — what the 3D page turns.
 *
 *   GET  /api/shapes/scene?seed=0&index=17     → { id, caption } (a dataset item, as tony shapes generate makes it)
 *   POST /api/shapes/mesh {caption | item, grid} → model/gltf-binary; X-Vertices, X-Faces headers
 *
 * A caption outside the vocabulary is a 400 listing the words the parser knows.
 */

import { writeGlb } from '../../shape/glb.ts';
import { meshField } from '../../shape/marching-cubes.ts';
import { faceCount, vertexCount } from '../../shape/mesh.ts';
import { buildScene, generateScene, parseCaption, parseItemId } from '../../shape/scenes.ts';
import { compileShape } from '../../shape/sdf.ts';
import { badRequest } from '../core/http.ts';
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
