/**
 * `tony shapes generate`: write a procedural dataset to a folder —
 *
 *   manifest.jsonl        one line per item: id, caption, attributes, scene (SDF tree), file paths, cameras
 *   points/<id>.ply       surface points, uniform by area, xyz + rgb (binary PLY)
 *   renders/<id>_<v>.png  multi-view renders on white
 *
 * Each item is meshed by marching cubes from its exact SDF (vertex colours from its colour field),
 * sampled, and rendered from `views` cameras orbiting at 20° elevation. Items depend only on
 * (seed, index), so a dataset can be grown or regenerated in parts.
 */
import { join } from 'node:path';
import { resolveConfig } from '../config.ts';
import { writeFileAtomic } from '../io.ts';
import type { Progress } from '../progress.ts';
import { meshField } from './marching-cubes.ts';
import type { Mesh, PointCloud } from './mesh.ts';
import { writePly } from './ply.ts';
import { sampleSurface } from './pointcloud.ts';
import { type Camera, encodePng, orbitCameras, renderMesh } from './render.ts';
import { generateScene, type SceneItem } from './scenes.ts';
import { compileShape } from './sdf.ts';

export const DATASET_DEFAULTS = {
  /** Number of items. */
  count: 16,
  /** Dataset seed; item i is generated from (seed, i). */
  seed: 0,
  /** Index of the first item (to generate a dataset in parts). */
  start: 0,
  /** Points per cloud (Point-E samples 4,096 and subsamples 1,024 by FPS). */
  points: 4096,
  /** Marching-cubes grid cells per axis for the mesh the points are sampled from. */
  grid: 96,
  /** Rendered views per item. */
  views: 4,
  /** Render width and height in pixels. */
  size: 128,
  /** Supersampling per pixel side for the renders. */
  supersample: 2,
};
export type DatasetConfig = typeof DATASET_DEFAULTS;

/** One manifest line. Paths are relative to the dataset folder. */
export interface ManifestEntry {
  id: string;
  caption: string;
  attributes: SceneItem['attributes'];
  scene: SceneItem['scene'];
  points: string;
  renders: string[];
  cameras: Camera[];
}

/** Everything about one item in memory: its scene, mesh, points and cameras. */
export function buildItem(seed: number, index: number, cfg: Pick<DatasetConfig, 'points' | 'grid' | 'views' | 'size'>) {
  const item = generateScene(seed, index);
  const field = compileShape(item.scene);
  const mesh: Mesh = meshField(field, cfg.grid);
  const cloud: PointCloud = sampleSurface(mesh, cfg.points, { seed: index });
  delete cloud.normals; // the dataset's clouds are xyz + rgb, as Point-E's
  const cameras = orbitCameras(cfg.views, { size: cfg.size });
  return { item, field, mesh, cloud, cameras };
}

/**
 * Generate `count` items into `outDir`, appending nothing: manifest.jsonl is rewritten with exactly
 * these items.
 *
 *   await generateDataset('data/shapes', { count: 100 });
 */
export async function generateDataset(
  outDir: string,
  overrides: Partial<DatasetConfig> = {},
  onProgress?: (p: Progress) => void,
): Promise<ManifestEntry[]> {
  const cfg = resolveConfig('shapes dataset', DATASET_DEFAULTS, overrides);
  const entries: ManifestEntry[] = [];
  for (let n = 0; n < cfg.count; n++) {
    const index = cfg.start + n;
    const { item, mesh, cloud, cameras } = buildItem(cfg.seed, index, cfg);
    const points = `points/${item.id}.ply`;
    await writeFileAtomic(join(outDir, points), writePly(cloud, 'binary_little_endian'));
    const renders: string[] = [];
    for (let v = 0; v < cameras.length; v++) {
      const file = `renders/${item.id}_${v}.png`;
      await writeFileAtomic(join(outDir, file), encodePng(renderMesh(mesh, cameras[v]!, { supersample: cfg.supersample })));
      renders.push(file);
    }
    entries.push({ id: item.id, caption: item.caption, attributes: item.attributes, scene: item.scene, points, renders, cameras });
    onProgress?.({ done: n + 1, total: cfg.count });
  }
  await writeFileAtomic(join(outDir, 'manifest.jsonl'), entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
  return entries;
}
