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

describe('runtime state', () => {
  it('setState copies by default and, with transfer, moves the buffers (two views of one buffer included)', async () => {
    const copied = T.hostTensor('float32', [3], [1, 2, 3]);
    await rt.setState({ 'st:copied': copied });
    expect(Array.from(copied.data as Float32Array)).toEqual([1, 2, 3]); // still the caller's
    const shared = new Float32Array([4, 5, 6, 7, 8]);
    const a: T.HostTensor = { dtype: 'float32', shape: [2], data: shared.subarray(0, 2) };
    const b: T.HostTensor = { dtype: 'float32', shape: [3], data: shared.subarray(2) };
    await rt.setState({ 'st:a': a, 'st:b': b }, { transfer: true });
    expect(shared.length).toBe(0); // detached: the worker holds the only copy
    const back = await rt.getState(['st:copied', 'st:a', 'st:b']);
    expect(Array.from(back['st:copied']!.data as Float32Array)).toEqual([1, 2, 3]);
    expect(Array.from(back['st:a']!.data as Float32Array)).toEqual([4, 5]);
    expect(Array.from(back['st:b']!.data as Float32Array)).toEqual([6, 7, 8]);
    // A graph fed the moved state reads its values.
    const s = await rt.load(graph());
    expect(Array.from((await rt.run(s, {}, { state: { x: 'st:b' } })).y!.data as Float32Array)).toEqual([12, 14, 16]);
    await rt.dropState(['st:copied', 'st:a', 'st:b']);
  });
});
