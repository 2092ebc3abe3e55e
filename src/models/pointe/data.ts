/**
 * What every Point-E stage reads from a `tony shapes generate` folder (manifest.jsonl +
 * points/<id>.ply), and the held-out split they share: a scene — its attributes, whatever caption
 * prefix it was given — goes to validation with a stable draw of 10 % of distinct scenes, so
 * validation captions describe geometry no stage trained on.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TonyError } from '../../errors.ts';
import type { ManifestEntry } from '../../shape/dataset.ts';
import type { PointCloud } from '../../shape/mesh.ts';
import { readPly } from '../../shape/ply.ts';
import { captionOf, type SceneAttrs } from '../../shape/scenes.ts';
import type { ShapeNode } from '../../shape/sdf.ts';

/** Fraction of distinct scenes held out for validation. */
const HELD_OUT = 0.1;

/** FNV-1a → [0, 1): a stable draw per name. */
function unit(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 2 ** 32;
}

/** Whether a scene (its prefix-free caption) is held out. */
export const isHeldOut = (scene: string) => unit(`scene:${scene}`) < HELD_OUT;

/** One manifest line with its cloud read. */
export interface ManifestCloud {
  id: string;
  caption: string;
  /** The scene's attributes as a prefix-free caption: what the split groups by. */
  scene: string;
  attributes: SceneAttrs;
  /** The scene's SDF tree (compileShape gives its exact distance and colour). */
  tree: ShapeNode;
  cloud: PointCloud;
  /** The cloud's file, for messages. */
  file: string;
}

/** Every item of the folders, in manifest order; each bad line is an error naming file and line. */
export async function* manifestClouds(paths: readonly string[]): AsyncGenerator<ManifestCloud> {
  for (const dir of paths) {
    const manifest = join(dir, 'manifest.jsonl');
    let text: string;
    try {
      text = await readFile(manifest, 'utf8');
    } catch (err) {
      throw new TonyError(
        'data',
        `${dir}: no manifest.jsonl (${(err as Error).message})`,
        'make one: tony shapes generate --count 3000 --out <dir>',
        {
          cause: err,
        },
      );
    }
    const lines = text.split('\n');
    for (let ln = 0; ln < lines.length; ln++) {
      if (lines[ln]!.trim() === '') continue;
      let e: ManifestEntry;
      try {
        e = JSON.parse(lines[ln]!) as ManifestEntry;
      } catch (err) {
        throw new TonyError(
          'data',
          `${manifest}:${ln + 1}: not JSON (${(err as Error).message})`,
          'regenerate it with tony shapes generate',
          {
            cause: err,
          },
        );
      }
      if (typeof e.caption !== 'string' || typeof e.points !== 'string' || !e.attributes || !e.scene)
        throw new TonyError(
          'data',
          `${manifest}:${ln + 1}: needs caption, attributes, scene and points`,
          'regenerate it with tony shapes generate',
        );
      const file = join(dir, e.points);
      const ply = readPly(new Uint8Array(await readFile(file)));
      yield {
        id: e.id,
        caption: e.caption,
        scene: captionOf(e.attributes, 0),
        attributes: e.attributes,
        tree: e.scene,
        cloud: { xyz: ply.xyz, ...(ply.rgb ? { rgb: ply.rgb } : {}) },
        file,
      };
    }
  }
}

/** Split examples by their scene; both sides must be non-empty. */
export function splitByScene<X extends { scene: string }>(all: readonly X[]): { train: X[]; val: X[] } {
  const val = all.filter((x) => isHeldOut(x.scene));
  const train = all.filter((x) => !isHeldOut(x.scene));
  if (train.length === 0 || val.length === 0)
    throw new TonyError(
      'data',
      `pointe needs training and held-out scenes, got ${train.length} and ${val.length} examples`,
      'generate more items: tony shapes generate --count 3000',
    );
  return { train, val };
}
