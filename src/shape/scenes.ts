/**
 * Procedural captioned 3D shapes: the data Tony's Point-E and Shap-E rows train on.
 *
 * A scene is described by attributes — one to three objects, each a shape noun with a colour, a
 * size and optionally a hole, joined by a spatial relation — and built from them by a pure
 * function, so a caption parsed back into attributes rebuilds exactly the same geometry. Objects
 * touch but never overlap (stacks rest on each other, neighbours stand side by side on the same
 * ground), which keeps the union's SDF exact (see sdf.ts). Every scene fits in the unit cube
 * [−½, ½]³ with a margin, centred on its bounding box.
 *
 *   const item = generateScene(0, 17);   // { id: '0-17', caption: 'a small red cube on top of ...', scene, ... }
 *   parseCaption(item.caption);          // the same attributes
 */
import { dataError } from '../errors.ts';
import { childSeed, makeRng, pick, type Uniform01 } from './random.ts';
import { type Primitive, type ShapeNode, shapeBounds, type Vec3 } from './sdf.ts';

export const COLORS: Readonly<Record<string, Vec3>> = {
  red: [0.85, 0.12, 0.1],
  orange: [0.95, 0.5, 0.08],
  yellow: [0.95, 0.85, 0.15],
  green: [0.15, 0.65, 0.2],
  blue: [0.12, 0.3, 0.85],
  purple: [0.5, 0.2, 0.7],
  pink: [0.95, 0.5, 0.7],
  cyan: [0.1, 0.75, 0.85],
  white: [0.93, 0.93, 0.93],
  gray: [0.5, 0.5, 0.5],
  black: [0.08, 0.08, 0.08],
  brown: [0.5, 0.3, 0.12],
};

/** Size words → scale of the shape's unit size (its largest half-extent before scaling). */
export const SIZES: Readonly<Record<string, number>> = { small: 0.6, medium: 0.8, large: 1 };

/** Shape nouns → primitive at unit size (largest half-extent 0.5 ≈ a "large" thing on its own). */
export const SHAPES: Readonly<Record<string, Primitive>> = {
  sphere: { kind: 'sphere', radius: 0.5 },
  cube: { kind: 'box', half: [0.42, 0.42, 0.42] },
  'rounded cube': { kind: 'roundbox', half: [0.42, 0.42, 0.42], radius: 0.12 },
  torus: { kind: 'torus', major: 0.36, minor: 0.14, axis: 'y' },
  cylinder: { kind: 'cylinder', radius: 0.35, halfHeight: 0.45, axis: 'y' },
  cone: { kind: 'cone', radius: 0.42, halfHeight: 0.45, axis: 'y' },
  capsule: { kind: 'capsule', radius: 0.25, halfHeight: 0.25, axis: 'y' },
  octahedron: { kind: 'octahedron', radius: 0.5 },
};

/** Shapes that can carry a hole, and the axis the hole is drilled along. */
const HOLE_AXIS: Readonly<Record<string, 'y' | 'z'>> = { cube: 'z', 'rounded cube': 'z', sphere: 'z', cylinder: 'y' };
const HOLE_RADIUS = 0.38; // of the object's smallest radial half-extent

/** Relation phrases between consecutive objects, read "object[i] <relation> object[i+1]". */
export const RELATIONS = ['on top of', 'under', 'next to', 'in front of', 'behind'] as const;
export type Relation = (typeof RELATIONS)[number];

export interface ObjectAttrs {
  shape: string;
  color: string;
  size: string;
  hole: boolean;
}

export interface SceneAttrs {
  objects: ObjectAttrs[];
  /** relations[i] joins objects[i] and objects[i + 1]; chains of three use 'on top of' only. */
  relations: Relation[];
}

export interface SceneItem {
  id: string;
  caption: string;
  attributes: SceneAttrs;
  scene: ShapeNode;
}

const FIT = 0.9; // scenes fill at most this much of the unit cube's side, leaving a margin
const PREFIXES = ['', 'a 3d model of ', 'a render of '];

// ---------------------------------------------------------------------------------------------
// Attributes → geometry

function scalePrimitive(p: Primitive, s: number): Primitive {
  switch (p.kind) {
    case 'sphere':
    case 'octahedron':
      return { ...p, radius: p.radius * s };
    case 'box':
      return { ...p, half: p.half.map((h) => h * s) as Vec3 };
    case 'roundbox':
      return { ...p, half: p.half.map((h) => h * s) as Vec3, radius: p.radius * s };
    case 'torus':
      return { ...p, major: p.major * s, minor: p.minor * s };
    case 'cylinder':
    case 'cone':
    case 'capsule':
      return { ...p, radius: p.radius * s, halfHeight: p.halfHeight * s };
  }
}

/** One object centred at the origin. */
function buildObject(o: ObjectAttrs): ShapeNode {
  const proto = SHAPES[o.shape];
  const color = COLORS[o.color];
  const size = SIZES[o.size];
  if (!proto || !color || size === undefined) throw dataError(`unknown object attributes ${JSON.stringify(o)}`);
  const prim = scalePrimitive(proto, size);
  const body: ShapeNode = { op: 'primitive', primitive: prim, at: [0, 0, 0], color };
  if (!o.hole) return body;
  const axis = HOLE_AXIS[o.shape];
  if (!axis) throw dataError(`a ${o.shape} cannot have a hole`, `holes go through: ${Object.keys(HOLE_AXIS).join(', ')}`);
  const [b0, b1] = shapeBounds(body);
  const radial = axis === 'z' ? Math.min(b1[0] - b0[0], b1[1] - b0[1]) / 2 : Math.min(b1[0] - b0[0], b1[2] - b0[2]) / 2;
  // The drill is longer than the body so the hole opens on both sides.
  const drill: Primitive = { kind: 'cylinder', radius: HOLE_RADIUS * radial, halfHeight: 1, axis };
  return { op: 'difference', base: body, cut: { op: 'primitive', primitive: drill, at: [0, 0, 0], color } };
}

function translate(node: ShapeNode, d: Vec3): ShapeNode {
  return { op: 'transform', scale: 1, offset: d, child: node };
}

/**
 * Build a scene from attributes: place each object against the previous one according to the
 * relation (touching bounding boxes, bottoms aligned for side-by-side relations), then centre the
 * whole and shrink it uniformly if it would exceed FIT of the unit cube.
 */
export function buildScene(attrs: SceneAttrs): ShapeNode {
  if (attrs.objects.length === 0 || attrs.relations.length !== attrs.objects.length - 1) {
    throw dataError(`a scene needs n objects and n − 1 relations, got ${attrs.objects.length} and ${attrs.relations.length}`);
  }
  const parts: ShapeNode[] = [];
  let prevLo: Vec3 = [0, 0, 0];
  let prevHi: Vec3 = [0, 0, 0];
  attrs.objects.forEach((o, i) => {
    const obj = buildObject(o);
    const [lo, hi] = shapeBounds(obj);
    let d: Vec3 = [0, 0, 0];
    if (i > 0) {
      // objects[i-1] <rel> objects[i]: place object i relative to the previous one.
      const rel = attrs.relations[i - 1]!;
      const cx = (prevLo[0] + prevHi[0]) / 2,
        cz = (prevLo[2] + prevHi[2]) / 2;
      if (rel === 'on top of')
        d = [cx, prevLo[1] - hi[1], cz]; // previous rests on this one
      else if (rel === 'under')
        d = [cx, prevHi[1] - lo[1], cz]; // this one rests on the previous
      else if (rel === 'next to') d = [prevHi[0] - lo[0], prevLo[1] - lo[1], cz];
      else if (rel === 'in front of')
        d = [cx, prevLo[1] - lo[1], prevLo[2] - hi[2]]; // previous is nearer +z
      else d = [cx, prevLo[1] - lo[1], prevHi[2] - lo[2]]; // behind: previous is farther
    }
    parts.push(translate(obj, d));
    prevLo = [lo[0] + d[0], lo[1] + d[1], lo[2] + d[2]];
    prevHi = [hi[0] + d[0], hi[1] + d[1], hi[2] + d[2]];
  });
  const union: ShapeNode = parts.length === 1 ? parts[0]! : { op: 'union', parts };
  const [lo, hi] = shapeBounds(union);
  const extent = Math.max(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]);
  const scale = Math.min(1, FIT / extent);
  const offset: Vec3 = [0, 1, 2].map((k) => (-scale * (lo[k]! + hi[k]!)) / 2) as Vec3;
  return { op: 'transform', scale, offset, child: union };
}

// ---------------------------------------------------------------------------------------------
// Captions

const article = (word: string) => (/^[aeiou]/.test(word) ? 'an' : 'a');

function describeObject(o: ObjectAttrs, withSize: boolean): string {
  const words = [...(withSize ? [o.size] : []), o.color, o.shape];
  return `${article(words[0]!)} ${words.join(' ')}${o.hole ? ' with a hole' : ''}`;
}

/** The caption of a scene; `variant` picks a prefix and whether medium sizes are spoken. */
export function captionOf(attrs: SceneAttrs, variant = 0): string {
  const prefix = PREFIXES[variant % PREFIXES.length]!;
  const parts = attrs.objects.map((o) => describeObject(o, o.size !== 'medium'));
  let s = parts[0]!;
  for (let i = 1; i < parts.length; i++) s += ` ${attrs.relations[i - 1]} ${parts[i]}`;
  return prefix + s;
}

/**
 * Parse a caption in the dataset's grammar back into attributes:
 *   [prefix] object (relation object)*    object := a|an [size] colour shape ["with a hole"]
 * Size defaults to medium. Throws a usage-friendly data error naming the vocabulary otherwise.
 */
export function parseCaption(caption: string): SceneAttrs {
  let s = caption
    .trim()
    .toLowerCase()
    .replace(/[.!]+$/, '')
    .replace(/\s+/g, ' ');
  for (const p of PREFIXES) if (p && s.startsWith(p)) s = s.slice(p.length);
  const hint =
    `write e.g. "a small red cube on top of a large blue sphere"; colours: ${Object.keys(COLORS).join(', ')}; ` +
    `sizes: ${Object.keys(SIZES).join(', ')}; shapes: ${Object.keys(SHAPES).join(', ')}; relations: ${RELATIONS.join(', ')}`;
  const relRe = new RegExp(` (${RELATIONS.join('|')}) `);
  const objects: ObjectAttrs[] = [];
  const relations: Relation[] = [];
  let rest = s;
  for (;;) {
    const m = relRe.exec(rest);
    const phrase = m ? rest.slice(0, m.index) : rest;
    objects.push(parseObject(phrase, caption, hint));
    if (!m) break;
    relations.push(m[1] as Relation);
    rest = rest.slice(m.index + m[0].length);
  }
  if (objects.length > 3) throw dataError(`caption '${caption}' has ${objects.length} objects; at most 3 are supported`, hint);
  return { objects, relations };
}

function parseObject(phrase: string, caption: string, hint: string): ObjectAttrs {
  let w = phrase.trim();
  const hole = w.endsWith(' with a hole');
  if (hole) w = w.slice(0, -' with a hole'.length);
  const words = w.split(' ');
  if (words[0] === 'a' || words[0] === 'an' || words[0] === 'the') words.shift();
  let size = 'medium';
  if (words[0]! in SIZES) size = words.shift()!;
  const color = words.shift() ?? '';
  const shape = words.join(' ');
  if (!(color in COLORS) || !(shape in SHAPES)) {
    throw dataError(`cannot read '${phrase.trim()}' in caption '${caption}' as [size] colour shape`, hint);
  }
  if (hole && !(shape in HOLE_AXIS))
    throw dataError(`a ${shape} cannot have a hole (caption '${caption}')`, `holes go through: ${Object.keys(HOLE_AXIS).join(', ')}`);
  return { shape, color, size, hole };
}

// ---------------------------------------------------------------------------------------------
// Random scenes

function randomObject(rng: Uniform01): ObjectAttrs {
  const shape = pick(rng, Object.keys(SHAPES));
  return {
    shape,
    color: pick(rng, Object.keys(COLORS)),
    size: pick(rng, Object.keys(SIZES)),
    hole: shape in HOLE_AXIS && rng() < 0.2,
  };
}

/** Random attributes: 45 % single objects, 40 % pairs, 15 % stacks of three. */
export function randomAttributes(rng: Uniform01): SceneAttrs {
  const u = rng();
  const n = u < 0.45 ? 1 : u < 0.85 ? 2 : 3;
  const objects = Array.from({ length: n }, () => randomObject(rng));
  const relations: Relation[] = n === 2 ? [pick(rng, RELATIONS)] : n === 3 ? ['on top of', 'on top of'] : [];
  return { objects, relations };
}

/** Item id for (seed, index) — `tony shapes mesh --item <id>` regenerates the item from it. */
export const itemId = (seed: number, index: number) => `${seed}-${index}`;

/** Parse an item id back into (seed, index). */
export function parseItemId(id: string): { seed: number; index: number } {
  const m = /^(\d+)-(\d+)$/.exec(id.trim());
  if (!m) throw dataError(`bad item id '${id}'`, 'ids look like <seed>-<index>, e.g. 0-17 (see manifest.jsonl)');
  return { seed: Number(m[1]), index: Number(m[2]) };
}

/** Item `index` of the dataset with `seed`: deterministic, independent of how many are generated. */
export function generateScene(seed: number, index: number): SceneItem {
  const rng = makeRng(childSeed(seed, index));
  const attributes = randomAttributes(rng);
  const caption = captionOf(attributes, Math.floor(rng() * PREFIXES.length));
  return { id: itemId(seed, index), caption, attributes, scene: buildScene(attributes) };
}
