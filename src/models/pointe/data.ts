/**
 * What every Point-E stage reads from a `tony shapes generate` folder (manifest.jsonl +
 * points/<id>.ply, renders/<id>_<v>.png), and the held-out sets they share:
 *  - held-out scenes: a scene — its attributes, whatever caption prefix it was given — goes to
 *    validation with a stable draw of 10 % of distinct scenes, so validation captions describe
 *    geometry no stage trained on;
 *  - held-out combinations: every scene with an object whose (colour, shape) pair is one of
 *    HELD_OUT_COMBOS. Each colour and each shape of those pairs is still trained on, with other
 *    partners; the pair itself never is — the test of composition the issue asks for;
 *  - held-out colour × arrangement combinations: every scene with an object of colour C arranged as
 *    A, for (C, A) in HELD_OUT_ARRANGEMENTS (not already a held-out (colour, shape) combination).
 *    Each colour and each arrangement is still trained on with other partners.
 * The three sets are disjoint; none is trained on by any stage.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TonyError } from '../../errors.ts';
import type { ManifestEntry } from '../../shape/dataset.ts';
import type { PointCloud } from '../../shape/mesh.ts';
import { readPly } from '../../shape/ply.ts';
import { captionOf, parseCaption, type Relation, type SceneAttrs } from '../../shape/scenes.ts';
import type { ShapeNode } from '../../shape/sdf.ts';

/** Fraction of distinct scenes held out for validation. */
const HELD_OUT = 0.1;

/** FNV-1a → [0, 1): a stable draw per name. */
function unit(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 2 ** 32;
}

/**
 * (colour, shape) pairs never trained on. Four of the 96 pairs, each colour and shape common on its
 * own (12 colours, 8 shapes): about 8 % of generated scenes have one of them on some object.
 */
export const HELD_OUT_COMBOS: readonly (readonly [colour: string, shape: string])[] = [
  ['red', 'torus'],
  ['blue', 'cube'],
  ['yellow', 'cone'],
  ['green', 'capsule'],
];

/** Whether a scene (its prefix-free caption) has an object of a held-out (colour, shape) pair. */
export function isHeldOutCombo(scene: string): boolean {
  return parseCaption(scene).objects.some((o) => HELD_OUT_COMBOS.some(([c, s]) => o.color === c && o.shape === s));
}

/** A scene's arrangement, as the classifier's arrangement head names it: one object, a relation, a stack. */
export type Arrangement = 'one object' | Relation | 'a stack of three';

/** The arrangement of a scene's attributes (the grammar has one, two related, or three stacked objects). */
export function arrangementOf(a: SceneAttrs): Arrangement {
  return a.objects.length === 1 ? 'one object' : a.objects.length === 2 ? a.relations[0]! : 'a stack of three';
}

/**
 * (colour, arrangement) pairs never trained on: one per kind of arrangement (single, two related,
 * stacked) and a second relation — colours not in HELD_OUT_COMBOS, so the two kinds of
 * combination do not hide each other. About 9 % of generated scenes.
 */
export const HELD_OUT_ARRANGEMENTS: readonly (readonly [colour: string, arrangement: Arrangement])[] = [
  ['purple', 'one object'],
  ['orange', 'on top of'],
  ['pink', 'next to'],
  ['cyan', 'a stack of three'],
];

/** Whether a scene has an object of a held-out colour in its held-out arrangement (and no held-out (colour, shape) pair). */
export function isHeldOutArrangement(scene: string): boolean {
  const a = parseCaption(scene);
  const arr = arrangementOf(a);
  return !isHeldOutCombo(scene) && a.objects.some((o) => HELD_OUT_ARRANGEMENTS.some(([c, x]) => o.color === c && arr === x));
}

/** Whether a scene (its prefix-free caption) is in the held-out scenes (and in neither combination set). */
export const isHeldOut = (scene: string) => unit(`scene:${scene}`) < HELD_OUT && !isHeldOutCombo(scene) && !isHeldOutArrangement(scene);

/**
 * The held-out sets: `scenes` (a stable 10 % of scenes), `combos` (HELD_OUT_COMBOS) and
 * `arrangements` (HELD_OUT_ARRANGEMENTS).
 */
export type HeldOutSet = 'scenes' | 'combos' | 'arrangements';
export const HELD_OUT_SETS: readonly HeldOutSet[] = ['scenes', 'combos', 'arrangements'];

/** Whether a scene (its prefix-free caption) is in a held-out set. */
export function inHeldOutSet(scene: string, set: HeldOutSet): boolean {
  return set === 'combos' ? isHeldOutCombo(scene) : set === 'arrangements' ? isHeldOutArrangement(scene) : isHeldOut(scene);
}

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
  /** The item's renders (paths), the image path's conditioning views. */
  renders: string[];
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
        renders: (e.renders ?? []).map((r) => join(dir, r)),
      };
    }
  }
}

/**
 * Split examples by their scene: held-out scenes (`val`), held-out (colour, shape) combinations
 * (`combo`) and colour × arrangement combinations (`arrangement`) — both never trained on, possibly
 * empty in a small folder — and the rest (`train`); train and val must be non-empty.
 */
export function splitByScene<X extends { scene: string }>(all: readonly X[]): { train: X[]; val: X[]; combo: X[]; arrangement: X[] } {
  const combo = all.filter((x) => isHeldOutCombo(x.scene));
  const arrangement = all.filter((x) => isHeldOutArrangement(x.scene));
  const val = all.filter((x) => isHeldOut(x.scene));
  const train = all.filter((x) => !isHeldOut(x.scene) && !isHeldOutCombo(x.scene) && !isHeldOutArrangement(x.scene));
  if (train.length === 0 || val.length === 0)
    throw new TonyError(
      'data',
      `pointe needs training and held-out scenes, got ${train.length} and ${val.length} examples`,
      'generate more items: tony shapes generate --count 3000',
    );
  return { train, val, combo, arrangement };
}
