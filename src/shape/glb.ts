/**
 * GLB (binary glTF 2.0) write and read through glTF-Transform (@gltf-transform/core), so the
 * container, accessors, bounds and alignment follow the spec without Tony re-implementing it.
 *
 * glTF vertex colours (COLOR_0) are linear RGB, while Tony's colours are sRGB like its images: the
 * writer converts sRGB → linear and the reader converts back, so a mesh reads back with the
 * colours it was written with (to float32 rounding).
 */
import { Document, type Primitive as GltfPrimitive, NodeIO } from '@gltf-transform/core';
import { dataError } from '../errors.ts';
import { type Mesh, validateMesh } from './mesh.ts';

const srgbToLinear = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
const linearToSrgb = (c: number) => (c <= 0.0031308 ? c * 12.92 : 1.055 * c ** (1 / 2.4) - 0.055);

/**
 * Encode a mesh as GLB bytes: one node, one mesh, one triangle primitive with POSITION (no normals:
 * viewers derive them), optional COLOR_0 (float32 VEC3, linear) and uint32 indices, and a default material
 * whose base colour is white so viewers show the vertex colours.
 *
 *   await writeFileAtomic('shape.glb', await writeGlb(mesh));
 */
export async function writeGlb(mesh: Mesh, opts: { name?: string } = {}): Promise<Uint8Array> {
  validateMesh(mesh);
  const doc = new Document();
  const buffer = doc.createBuffer();
  const prim = doc
    .createPrimitive()
    .setAttribute('POSITION', doc.createAccessor().setType('VEC3').setArray(new Float32Array(mesh.positions)).setBuffer(buffer))
    .setIndices(doc.createAccessor().setType('SCALAR').setArray(new Uint32Array(mesh.indices)).setBuffer(buffer))
    .setMaterial(doc.createMaterial('vertex-colors').setBaseColorFactor([1, 1, 1, 1]).setRoughnessFactor(0.8).setMetallicFactor(0));
  if (mesh.colors) {
    const linear = mesh.colors.map(srgbToLinear);
    prim.setAttribute('COLOR_0', doc.createAccessor().setType('VEC3').setArray(linear).setBuffer(buffer));
  }
  const node = doc.createNode(opts.name ?? 'shape').setMesh(doc.createMesh(opts.name ?? 'shape').addPrimitive(prim));
  doc.createScene('scene').addChild(node);
  doc.getRoot().setDefaultScene(doc.getRoot().listScenes()[0]!);
  return new NodeIO().writeBinary(doc);
}

/**
 * Decode GLB bytes into one mesh: every triangle primitive of every mesh node in the default
 * scene, transformed by its node's world matrix, concatenated. Colours (COLOR_0, any component
 * type) come back as sRGB; when some primitives lack them, they are filled with white.
 */
export async function readGlb(bytes: Uint8Array): Promise<Mesh> {
  let doc: Document;
  try {
    doc = await new NodeIO().readBinary(bytes);
  } catch (err) {
    throw dataError(`cannot parse GLB: ${(err as Error).message}`, 'is it a binary glTF 2.0 (.glb) file?');
  }
  const root = doc.getRoot();
  const scene = root.getDefaultScene() ?? root.listScenes()[0];
  const pos: number[] = [];
  const col: number[] = [];
  const idx: number[] = [];
  let anyColor = false;
  const visit = (node: ReturnType<typeof root.listNodes>[number]) => {
    const mesh = node.getMesh();
    if (mesh) {
      const m = node.getWorldMatrix();
      for (const prim of mesh.listPrimitives()) addPrimitive(prim, m);
    }
    for (const child of node.listChildren()) visit(child);
  };
  const addPrimitive = (prim: GltfPrimitive, m: ArrayLike<number>) => {
    if (prim.getMode() !== 4) return; // TRIANGLES only; points/lines are not surfaces
    const position = prim.getAttribute('POSITION');
    if (!position) return;
    const base = pos.length / 3;
    const n = position.getCount();
    const el: number[] = [];
    for (let i = 0; i < n; i++) {
      position.getElement(i, el);
      const [x, y, z] = [el[0]!, el[1]!, el[2]!];
      // Column-major 4×4 world matrix.
      pos.push(
        m[0]! * x + m[4]! * y + m[8]! * z + m[12]!,
        m[1]! * x + m[5]! * y + m[9]! * z + m[13]!,
        m[2]! * x + m[6]! * y + m[10]! * z + m[14]!,
      );
    }
    const color = prim.getAttribute('COLOR_0');
    if (color) anyColor = true;
    for (let i = 0; i < n; i++) {
      if (color) {
        color.getElement(i, el); // normalized integer accessors come back in [0, 1]
        col.push(linearToSrgb(el[0]!), linearToSrgb(el[1]!), linearToSrgb(el[2]!));
      } else col.push(1, 1, 1);
    }
    const indices = prim.getIndices();
    if (indices) {
      for (let i = 0; i < indices.getCount(); i++) {
        const v = indices.getScalar(i);
        // glTF-Transform does not check that indices stay inside their primitive's vertices.
        if (v >= n)
          throw dataError(
            `GLB triangle ${Math.floor(i / 3)} of a primitive uses vertex ${v}, but that primitive has ${n} vertices`,
            'the file is corrupt: export it again',
          );
        idx.push(base + v);
      }
    } else for (let i = 0; i < n; i++) idx.push(base + i);
  };
  if (scene) for (const node of scene.listChildren()) visit(node);
  if (pos.length === 0) throw dataError('the GLB holds no triangle mesh', 'export a mesh with TRIANGLES primitives');
  const out: Mesh = { positions: Float32Array.from(pos), indices: Uint32Array.from(idx) };
  if (anyColor) out.colors = Float32Array.from(col);
  return out;
}
