/**
 * Music for the Jukebox rows (src/models/jukebox/data.ts): a manifest's songs are read at the
 * model's rate with their metadata, split by a stable hash of the id with at least one held out,
 * and crops are exact slices, zero-padded past the end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeManifest } from '../../../src/audio/manifest.ts';
import { writeWav } from '../../../src/audio/wav.ts';
import { crop, readMusic, valCrops } from '../../../src/models/jukebox/data.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-jukebox-data-'));
  const entries = [];
  for (let i = 0; i < 12; i++) {
    const id = `song-${i}`;
    // 0.5 s of a 500 Hz tone at 16 kHz
    await writeWav(join(dir, `${id}.wav`), {
      sampleRate: 16000,
      channels: [Float64Array.from({ length: 8000 }, (_, n) => 0.5 * Math.sin((2 * Math.PI * 500 * n) / 16000))],
    });
    entries.push({ id, audio: `${id}.wav`, key: 'D minor', tempo: 100 + i, timbres: { melody: 'saw', chords: 'organ', bass: 'sine' } });
  }
  await writeManifest(join(dir, 'manifest.jsonl'), entries);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readMusic', () => {
  it('resamples to the model rate, keeps key/tempo/timbre, and holds out a stable subset', async () => {
    const a = await readMusic([dir], 8000);
    expect(a.notes).toEqual(["resampled 12 song(s) from 16000 Hz to 8000 Hz (the model's rate)"]);
    const all = [...a.train, ...a.val];
    expect(all).toHaveLength(12);
    expect(a.val.length).toBeGreaterThanOrEqual(1);
    expect(a.train.filter((s) => a.val.some((v) => v.id === s.id))).toEqual([]);
    const s = all.find((x) => x.id === 'song-3')!;
    expect(s.samples.length).toBe(4000);
    expect(s).toMatchObject({ key: 'D minor', tempo: 103, timbre: 'saw' });
    // the same split on a second reading (a hash of the id, not a random draw)
    const b = await readMusic([dir], 8000);
    expect(b.val.map((x) => x.id)).toEqual(a.val.map((x) => x.id));
  });

  it('crops exact slices, zero-padded past the end; held-out crops come from the middle', () => {
    const x = Float32Array.from({ length: 10 }, (_, i) => i + 1);
    expect(Array.from(crop(x, 7, 5))).toEqual([8, 9, 10, 0, 0]);
    const v = valCrops([{ id: 'a', samples: x }], 2, 4, 0);
    expect(Array.from(v.rows)).toEqual([4, 5, 6, 7, 4, 5, 6, 7]); // start ⌊(10 − 4)/2⌋ = 3
  });
});
