/**
 * The SDF model's evaluation against an answer known in advance: a stand-in "model" whose distance
 * function is the caption's exact SDF must reproduce the floor exactly — meshFromSdf samples the
 * same grid points as meshing the exact shape (the unit cube plus two cells), so the meshes, their
 * surface samples and their scores are identical — and be watertight; one whose SDF is another
 * caption's scores worse.
 */
import { describe, expect, it } from 'vitest';
import { evaluateSdf } from '../../../src/models/pointe/eval-stages.ts';
import type { PointESdfModel } from '../../../src/models/pointe/model.ts';
import { meshFromSdf } from '../../../src/models/pointe/sdf.ts';
import type { PointCloud } from '../../../src/shape/mesh.ts';
import { buildScene, parseCaption } from '../../../src/shape/scenes.ts';
import { compileShape } from '../../../src/shape/sdf.ts';

const CAPTIONS = ['a large red torus', 'a small blue cube on top of a large green sphere'];

/** A stand-in SDF model answering with a caption's exact distance function. */
function standIn(answer: (i: number) => string): PointESdfModel {
  let call = 0;
  return {
    cfg: { points: 128 },
    mesh: async (cloud: PointCloud, o: { grid?: number }) => {
      const field = compileShape(buildScene(parseCaption(answer(call++))));
      const sdf = async (q: Float32Array) =>
        Float32Array.from({ length: q.length / 3 }, (_, i) => field.sdf(q[3 * i]!, q[3 * i + 1]!, q[3 * i + 2]!));
      return { mesh: await meshFromSdf(sdf, cloud, { grid: o.grid }), seconds: 0 };
    },
  } as unknown as PointESdfModel;
}

describe('pointe eval-stage --sdf', () => {
  it('an exact SDF scores the floor exactly and is watertight; a wrong one scores worse', async () => {
    const opts = { tau: 0.05, truthPoints: 1024, grid: 32 };
    const right = await evaluateSdf(
      standIn((i) => CAPTIONS[i]!),
      CAPTIONS,
      opts,
    );
    expect(right.empty).toBe(0);
    expect(right.watertight).toBe(1);
    right.rows.forEach((r) => {
      expect(r.mesh!.chamfer).toBe(r.exact.chamfer);
      expect(r.mesh!.fscore).toBe(r.exact.fscore);
    });
    const wrong = await evaluateSdf(
      standIn((i) => CAPTIONS[1 - i]!),
      CAPTIONS,
      opts,
    );
    expect(wrong.mesh.chamfer).toBeGreaterThan(5 * right.mesh.chamfer);
    expect(wrong.mesh.fscore).toBeLessThan(right.mesh.fscore);
  }, 60_000);
});
