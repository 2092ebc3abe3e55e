/**
 * Sessions are shared by content: two loads of byte-identical graphs hold one session, and it is
 * freed only when both holders release it (an LRU of graphs in one part of a program must not free
 * a session another part still runs — the race the MCNN vocoder hit under load).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../../src/engine/index.ts';

let rt: T.Runtime;
beforeAll(async () => {
  rt = await T.Runtime.start({ threads: 1 });
});
afterAll(() => rt.close());

const graph = () => {
  const x = T.input('x', [3]);
  return T.exportOnnx([x], { y: T.mul(x, 2) });
};
const x = T.hostTensor('float32', [3], [1, 2, 3]);

describe('runtime sessions', () => {
  it('frees a shared session only when its last holder releases it', async () => {
    const before = rt.liveSessions;
    const a = await rt.load(graph());
    const b = await rt.load(graph()); // the same bytes: the same session, a second hold
    expect(b.key).toBe(a.key);
    expect(rt.liveSessions).toBe(before + 1);
    await rt.release(a);
    expect(Array.from((await rt.run(b, { x })).y!.data as Float32Array)).toEqual([2, 4, 6]);
    await rt.release(b);
    expect(rt.liveSessions).toBe(before);
    await expect(rt.run(b, { x })).rejects.toThrow();
  });

  it('a graph loaded again while its release is in flight runs', async () => {
    const a = await rt.load(graph());
    const releasing = rt.release(a);
    const again = await rt.load(graph());
    await releasing;
    expect(Array.from((await rt.run(again, { x })).y!.data as Float32Array)).toEqual([2, 4, 6]);
    await rt.release(again);
  });
});
