// PLY against files written by an independent numpy writer (fixtures/make_fixtures.py): values
// read back, byte-exact rewrites in both encodings, big-endian reading; OBJ and GLB round trips
// (GLB read back through glTF-Transform and checked by the Khronos glTF validator).
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeIO } from '@gltf-transform/core';
import { validateBytes } from 'gltf-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TonyError } from '../../src/errors.ts';
import { readShapeFile, writeMeshFile } from '../../src/shape/files.ts';
import { readGlb, writeGlb } from '../../src/shape/glb.ts';
import { meshField } from '../../src/shape/marching-cubes.ts';
import { readObj, writeObj } from '../../src/shape/obj.ts';
import { formatFloat32, readPly, writePly } from '../../src/shape/ply.ts';
import { compileShape } from '../../src/shape/sdf.ts';

const fx = JSON.parse(readFileSync(new URL('./fixtures/fixtures.json', import.meta.url), 'utf8'));
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-shape-io-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('PLY', () => {
  const errorOf = (f: () => unknown) => {
    try {
      f();
    } catch (err) {
      return err as TonyError;
    }
    throw new Error('no error');
  };

  for (const [name, format] of [
    ['cloud_binary.ply', 'binary_little_endian'],
    ['cloud_ascii.ply', 'ascii'],
    ['mesh_binary.ply', 'binary_little_endian'],
    ['mesh_ascii.ply', 'ascii'],
  ] as const) {
    it(`${name}: reads numpy's values and rewrites the file byte for byte`, () => {
      const bytes = fixture(name);
      const ply = readPly(bytes);
      expect([...ply.xyz]).toEqual(fx.ply.xyz);
      expect([...ply.rgb!].map((c) => Math.round(c * 255))).toEqual(fx.ply.rgb);
      if (name.startsWith('mesh')) expect([...ply.indices!]).toEqual(fx.ply.faces);
      else expect(ply.indices).toBeUndefined();
      expect(Buffer.from(writePly(ply, format)).equals(Buffer.from(bytes))).toBe(true);
    });
  }

  it('reads big-endian files', () => {
    const ply = readPly(fixture('mesh_big_endian.ply'));
    expect([...ply.xyz]).toEqual(fx.ply.xyz);
    expect([...ply.indices!]).toEqual(fx.ply.faces);
    expect(ply.rgb).toBeUndefined();
  });

  it('round-trips normals, skips unknown elements and properties, triangulates quads', () => {
    const cloud = { xyz: Float32Array.from([0.1, 0.2, 0.3, -1, 2, 1e-7]), normals: Float32Array.from([0, 0, 1, 1, 0, 0]) };
    for (const f of ['ascii', 'binary_little_endian'] as const) {
      const back = readPly(writePly(cloud, f));
      expect(back.xyz).toEqual(cloud.xyz);
      expect(back.normals).toEqual(cloud.normals);
    }
    const text = [
      'ply',
      'format ascii 1.0',
      'comment extra',
      'element vertex 4',
      'property double x',
      'property double y',
      'property double z',
      'property float quality',
      'element face 1',
      'property uchar flags',
      'property list uchar uint vertex_index',
      'element camera 1',
      'property float f',
      'end_header',
      '0 0 0 1',
      '1 0 0 1',
      '1 1 0 1',
      '0 1 0 1',
      '7 4 0 1 2 3',
      '35.5',
      '',
    ].join('\n');
    const ply = readPly(new TextEncoder().encode(text));
    expect([...ply.indices!]).toEqual([0, 1, 2, 0, 2, 3]);
  });

  it('prints the shortest float32 round-trip decimal', () => {
    for (const v of [0.1, -0.25, 1, 1 / 3, 123.456, 1e-7]) {
      const s = formatFloat32(v);
      expect(Math.fround(Number(s))).toBe(Math.fround(v));
    }
    expect(formatFloat32(0.1)).toBe('0.1');
    expect(formatFloat32(2)).toBe('2');
  });

  it('refuses to write faces that index past the vertices', async () => {
    const bad = { positions: Float32Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0]), indices: Uint32Array.from([0, 1, 5]) };
    expect(() => writePly(bad)).toThrow(/face index 5 at 2 is out of range/);
    expect(() => writeObj(bad)).toThrow(/out of range/);
    await expect(writeGlb(bad)).rejects.toThrow(/out of range/);
  });

  it('errors on truncated and foreign files', () => {
    const bytes = fixture('mesh_binary.ply');
    // numpy's fixture ends with 40 triangles of 13 bytes (a count byte, three int32): without its last
    // 5 bytes, the last face (39) starts 13 bytes before the end and its second index, 8 bytes before
    // the end, is the read that runs out.
    expect(() => readPly(bytes.subarray(0, bytes.length - 5))).toThrow(
      `PLY body ends early, at byte ${bytes.length - 8}, in face 39 of 40`,
    );
    expect(errorOf(() => readPly(bytes.subarray(0, bytes.length - 5))).hint).toContain("'element vertex 50', 'element face 40'");
    expect(() => readPly(new TextEncoder().encode('solid cube\n'))).toThrow(/not a PLY file/);
  });

  // A hand-written ASCII mesh: a triangle and the header around it, with one thing wrong at a time.
  const asciiPly = (nv: number, nf: number, body: string[]) =>
    new TextEncoder().encode(
      [
        'ply',
        'format ascii 1.0',
        `element vertex ${nv}`,
        'property float x',
        'property float y',
        'property float z',
        `element face ${nf}`,
        'property list uchar int vertex_indices',
        'end_header',
        ...body,
        '',
      ].join('\n'),
    );
  const triangle = ['0 0 0', '1 0 0', '0 1 0'];

  it('reads the right ASCII file, and blames a wrong vertex count on the count, at its line', () => {
    expect([...readPly(asciiPly(3, 1, [...triangle, '3 0 1 2'])).indices!]).toEqual([0, 1, 2]);
    // The header promises 4 vertices: the face line (line 13, the 4th body line) is read as vertex 3.
    const tooMany = errorOf(() => readPly(asciiPly(4, 1, [...triangle, '3 0 1 2'])));
    expect(tooMany.message).toBe("PLY line 13: vertex 3 has 4 values, but the header's properties (x y z) take 3");
    expect(tooMany.hint).toContain("'element vertex 4', 'element face 1'");
    // It promises 2: the third vertex line (line 12) is read as face 0 — still not blamed on the faces' content.
    const tooFew = errorOf(() => readPly(asciiPly(2, 1, [...triangle, '3 0 1 2'])));
    expect(tooFew.message).toBe("PLY line 12: face 0 has 3 values, but the header's properties (list vertex_indices) take 1");
    expect(tooFew.hint).toContain("'element vertex 2', 'element face 1'");
    // Lines left after the last element.
    expect(() => readPly(asciiPly(3, 1, [...triangle, '3 0 1 2', '3 2 1 0']))).toThrow(/PLY line 14: data after the last element/);
    expect(() => readPly(asciiPly(3, 2, [...triangle, '3 0 1 2']))).toThrow(/PLY body ends after 1 of 2 face lines/);
    expect(() => readPly(asciiPly(3, 1, ['0 0 0', '1 zero 0', '0 1 0', '3 0 1 2']))).toThrow(
      /PLY line 11: vertex 1: 'zero' is not a number/,
    );
  });

  it('refuses faces that index missing vertices, and files without vertices, naming the file', async () => {
    expect(() => readPly(asciiPly(3, 1, [...triangle, '3 0 1 5']))).toThrow(
      'PLY line 13: face 0 uses vertex 5, but the file has 3 vertices (indices 0 to 2)',
    );
    expect(() => readPly(asciiPly(0, 1, ['3 0 1 2']))).toThrow('PLY line 10: face 0 uses vertex 0, but the file has 0 vertices');
    writeFileSync(join(dir, 'bad-face.ply'), asciiPly(3, 1, [...triangle, '3 0 1 5']));
    await expect(readShapeFile(join(dir, 'bad-face.ply'))).rejects.toThrow(
      `${join(dir, 'bad-face.ply')}: PLY line 13: face 0 uses vertex 5`,
    );
    writeFileSync(join(dir, 'empty.ply'), asciiPly(0, 0, []));
    await expect(readShapeFile(join(dir, 'empty.ply'))).rejects.toThrow(`${join(dir, 'empty.ply')}: the file holds no vertices`);
    writeFileSync(join(dir, 'empty.obj'), '# nothing\n');
    await expect(readShapeFile(join(dir, 'empty.obj'))).rejects.toThrow(`${join(dir, 'empty.obj')}: the file holds no vertices`);
    writeFileSync(join(dir, 'junk.glb'), 'not a glb');
    await expect(readShapeFile(join(dir, 'junk.glb'))).rejects.toThrow(`${join(dir, 'junk.glb')}: cannot parse GLB`);
  });
});

describe('OBJ and GLB', () => {
  const mesh = meshField(
    compileShape({
      op: 'union',
      parts: [
        { op: 'primitive', primitive: { kind: 'sphere', radius: 0.2 }, at: [-0.2, 0, 0], color: [0.85, 0.12, 0.1] },
        {
          op: 'primitive',
          primitive: { kind: 'cone', radius: 0.15, halfHeight: 0.2, axis: 'y' },
          at: [0.2, 0, 0],
          color: [0.12, 0.3, 0.85],
        },
      ],
    }),
    24,
  );

  it('OBJ round trip keeps positions, faces and colours', () => {
    const back = readObj(writeObj(mesh));
    expect(back.positions).toEqual(mesh.positions);
    expect(back.indices).toEqual(mesh.indices);
    expect(back.colors).toEqual(mesh.colors);
    // Relative indices and v/vt/vn forms.
    const m = readObj('v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nf -4/1/1 -3/2/1 -2/3/1 -1/4/1\n');
    expect([...m.indices]).toEqual([0, 1, 2, 0, 2, 3]);
    expect(m.colors).toBeUndefined();
  });

  it('GLB read back with glTF-Transform equals the mesh; accessors carry bounds', async () => {
    const bytes = await writeGlb(mesh);
    const back = await readGlb(bytes);
    expect(back.positions).toEqual(mesh.positions);
    expect(back.indices).toEqual(mesh.indices);
    for (let i = 0; i < mesh.colors!.length; i++) expect(back.colors![i]).toBeCloseTo(mesh.colors![i]!, 5);
    // Independent look at the container: the library's own document model.
    const doc = await new NodeIO().readBinary(bytes);
    const prim = doc.getRoot().listMeshes()[0]!.listPrimitives()[0]!;
    expect(prim.getAttribute('POSITION')!.getCount()).toBe(mesh.positions.length / 3);
    expect(prim.getAttribute('COLOR_0')!.getType()).toBe('VEC3');
    expect(prim.getIndices()!.getCount()).toBe(mesh.indices.length);
    const json = JSON.parse(
      new TextDecoder().decode(bytes.subarray(20, 20 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true))),
    );
    expect(json.asset.version).toBe('2.0');
    expect(json.accessors[0].min).toHaveLength(3);
    // The reference validator finds no errors and no warnings.
    const report = await validateBytes(bytes);
    expect(report.issues.messages.filter((m) => m.severity <= 1)).toEqual([]);
    expect(report.info?.totalVertexCount).toBe(mesh.positions.length / 3);
  });

  it('files.ts dispatches by extension and reads PLY without faces as points', async () => {
    for (const ext of ['ply', 'obj', 'glb']) {
      const path = join(dir, `m.${ext}`);
      await writeMeshFile(path, mesh);
      const f = await readShapeFile(path);
      expect(f.kind).toBe('mesh');
      if (f.kind === 'mesh') expect(f.mesh.indices).toEqual(mesh.indices);
    }
    await writeMeshFile(join(dir, 'm.ply'), { positions: mesh.positions, indices: new Uint32Array(0) });
    expect((await readShapeFile(join(dir, 'm.ply'))).kind).toBe('points');
    expect((await readFile(join(dir, 'm.obj'), 'utf8')).startsWith('# tony')).toBe(true);
    await expect(readShapeFile(join(dir, 'm.stl'))).rejects.toThrow(/unsupported shape file extension/);
  });
});
