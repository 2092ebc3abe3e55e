/**
 * The top prior's lyrics (src/models/jukebox/prior.ts: the lyrics encoder and the cross-attention
 * every prior layer reads it through), against oracles that do not come from the code under test:
 *  - the masks: a transcript padded to S bytes gives the logits of the same transcript in a model
 *    built for exactly its length (no padding at all), with the same weights — padding is invisible
 *    to the encoder's self-attention and to the prior's cross-attention alike; and one changed
 *    byte does move them (the prior reads the text);
 *  - lyricsIds by hand from its definition (start id 1, then 2 + each UTF-8 byte, 0 pads);
 *  - the gradient of the loss through the cross-attention and the encoder against central finite
 *    differences (float64, the reference interpreter).
 */
import { describe, expect, it } from 'vitest';
import { type HostTensor, hostTensor, toNumbers } from '../../../src/engine/dtype.ts';
import { interpret } from '../../../src/engine/interpret.ts';
import { input } from '../../../src/engine/tensor.ts';
import { lyricsIds, Prior, priorConfig } from '../../../src/models/jukebox/prior.ts';
import { expectGradients, scaledWeights } from './fd-check.ts';

const small = { codes: 7, context: 8, dModel: 8, nHead: 2, nLayer: 2, lyrics: 10, textLayers: 2 };
const f64 = (t: HostTensor) => hostTensor('float64', t.shape, Float64Array.from(t.data as Float32Array));

describe('lyrics ids', () => {
  it('are the start id, 2 + each UTF-8 byte, then padding; cut to fit', () => {
    expect(lyricsIds('ab', 5)).toEqual([1, 2 + 97, 2 + 98, 0, 0]);
    expect(lyricsIds('é', 4)).toEqual([1, 2 + 0xc3, 2 + 0xa9, 0]); // two bytes in UTF-8
    expect(lyricsIds('abcdef', 3)).toEqual([1, 2 + 97, 2 + 98]);
    expect(lyricsIds(undefined, 3)).toEqual([1, 0, 0]);
  });

  it('are refused on an upsampler, and a negative length is named', () => {
    expect(() => priorConfig({ level: 'middle', lyrics: 8 })).toThrow(/lyrics condition the top prior only/);
    expect(() => priorConfig({ lyrics: -1 })).toThrow(/lyrics must be a whole number/);
  });
});

describe('the cross-attention masks', () => {
  const logitsOf = (S: number, text: string, weights: Record<string, HostTensor>) => {
    const prior = new Prior(priorConfig({ ...small, lyrics: S }));
    const ids = input('ids', [1, 8], 'int64');
    const cond = input('cond', [1, 3], 'int64');
    const txt = input('text', [1, S], 'int64');
    const logits = prior.forward(ids, { cond, text: txt });
    return toNumbers(
      interpret([logits], {
        ...weights,
        ids: hostTensor('int64', [1, 8], [3, 1, 4, 1, 5, 2, 6, 5]),
        cond: hostTensor('int64', [1, 3], [2, 5, 7]),
        text: hostTensor('int64', [1, S], lyricsIds(text, S)),
      })[0]!,
    );
  };

  it('make padding invisible: 5 bytes padded to 10 ids score as the 6 ids of a model without padding', () => {
    const full = new Prior(priorConfig(small));
    const w = Object.fromEntries(Object.entries(full.ps.initialize(5)).map(([k, t]) => [k, f64(t)]));
    // the same weights, the lyrics positions cut to the 6 ids of "start + 5 bytes"
    const pos = w['text.pos']!;
    const cut = { ...w, 'text.pos': hostTensor('float64', [6, small.dModel], (pos.data as Float64Array).slice(0, 6 * small.dModel)) };
    const padded = logitsOf(10, 'hello', w);
    const exact = logitsOf(6, 'hello', cut);
    expect(padded.length).toBe(8 * small.codes);
    for (let i = 0; i < padded.length; i++) expect(Math.abs(padded[i]! - exact[i]!)).toBeLessThan(1e-12);
    // the prior does read the text: one byte changed moves the logits
    const other = logitsOf(10, 'hellp', w);
    expect(Math.max(...padded.map((v, i) => Math.abs(v - other[i]!)))).toBeGreaterThan(1e-6);
  });
});

describe('the gradient through the lyrics', () => {
  // The float64 reference interpreter: ONNX Runtime's float64 mode computes erf (inside GELU) in
  // float32, whose rounding swamps a central difference at h = 1e-6.
  it('matches central finite differences (float64 reference interpreter)', () => {
    const prior = new Prior(priorConfig(small));
    const ids = input('ids', [2, 8], 'int64');
    const cond = input('cond', [2, 3], 'int64');
    const text = input('text', [2, 10], 'int64');
    const loss = prior.loss(ids, { cond, text });
    const pick = /^(text\.emb\.weight|text\.h\.0\.attn\.qkv\.weight|h\.0\.xattn\.kv\.weight|h\.1\.xattn\.q\.weight|h\.1\.ln_x\.weight)$/;
    const params = prior.ps.inputs.filter((p) => pick.test(p.name!));
    expect(params.length).toBe(5);
    const feeds: Record<string, HostTensor> = {
      ids: hostTensor('int64', [2, 8], [3, 1, 4, 1, 5, 2, 6, 0, 2, 2, 1, 3, 4, 4, 0, 6]),
      cond: hostTensor('int64', [2, 3], [1, 2, 3, 0, 14, 9]),
      text: hostTensor('int64', [2, 10], [...lyricsIds('la la', 10), ...lyricsIds('hey', 10)]),
      ...scaledWeights(prior, (k) => k.endsWith('ln_x.weight')),
    };
    // the text embedding's rows of bytes that occur (2 + 'l' = 110, 2 + 'h' = 106), and spread entries elsewhere
    expectGradients(loss, params, feeds, (p) =>
      p.name === 'text.emb.weight' ? [110 * small.dModel, 106 * small.dModel + 3] : [0, Math.floor(p.size / 2), p.size - 1],
    );
  });
});
