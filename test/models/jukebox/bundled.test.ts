/**
 * The bundled Jukebox chain (models/jukebox; docs/results/jukebox.md, "session 10", made and judged it),
 * against the music composer's own ground truth on clips it never saw (seeds far from the corpus's):
 * - every level codes at its token rate (sr/8, sr/32, sr/128 codes a second);
 * - the bottom level keeps the composed key (up to its relative) in most clips' reconstructions;
 * - the top prior reads the key: the clips' top codes cost it fewer nats given their own key than given
 *   another clip's key, the rest of the conditions their own;
 * - `tony jukebox sample` with no --models samples the bundled chain to a WAV of the asked length.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeClip, renderClip } from '../../../src/audio/music.ts';
import { readWav } from '../../../src/audio/wav.ts';
import { BUNDLED_JUKEBOX } from '../../../src/models/jukebox/bundled.ts';
import { conditionalNll, judge } from '../../../src/models/jukebox/conditioning.ts';
import { closeLevels, encodeAll, type Levels, loadLevels, type SongCodes } from '../../../src/models/jukebox/levels.ts';
import { loadPrior } from '../../../src/models/jukebox/sample.ts';
import { prng } from '../../../src/random.ts';
import { tony } from '../../tony.ts';

const SR = 8000;
const CLIPS = 16;
const SECONDS = 8;

let levels: Levels;
let dir: string;
/** Fresh clips: the composer's settings and its audio (seeds 9,000+; the corpus draws from its seed 13). */
const clips = Array.from({ length: CLIPS }, (_, i) => {
  const rng = prng(9000 + i);
  const spec = composeClip(rng, SECONDS);
  return { spec, x: Float32Array.from(renderClip(spec, SR, rng).subarray(0, SECONDS * SR)) };
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-jukebox-bundled-'));
  levels = await loadLevels(BUNDLED_JUKEBOX, { threads: 1 });
}, 60_000);
afterAll(async () => {
  if (levels) await closeLevels(levels);
  await rm(dir, { recursive: true, force: true });
});

describe('the bundled Jukebox chain', () => {
  it('codes at sr/8, sr/32 and sr/128 a second, at 8 kHz', { timeout: 60_000 }, async () => {
    expect(levels.bottom.cfg.sampleRate).toBe(SR);
    const codes = await encodeAll(levels, clips[0]!.x);
    expect(codes.levels.bottom!.length).toBe((SECONDS * SR) / 8);
    expect(codes.levels.middle!.length).toBe((SECONDS * SR) / 32);
    expect(codes.levels.top!.length).toBe((SECONDS * SR) / 128);
  });

  it('keeps the composed key through the bottom level, and its top prior reads the key', { timeout: 120_000 }, async () => {
    const songs: SongCodes[] = [];
    let kept = 0;
    for (const [i, { spec, x }] of clips.entries()) {
      const codes = await encodeAll(levels, x);
      const y = await levels.bottom.decode(Int32Array.from(codes.levels.bottom!));
      const request = { key: spec.key, tempo: spec.tempo, timbre: spec.timbres.melody };
      kept += +judge(y.subarray(0, x.length), SR, request, true).keyRelative;
      songs.push({
        id: `clip-${i}`,
        split: 'val',
        ...request,
        top: codes.levels.top!,
        middle: codes.levels.middle!,
        bottom: codes.levels.bottom!,
      });
    }
    // The level keeps it in 79 % of 38 held-out songs (docs/results/jukebox.md, session 4), the estimator
    // gets 84 % of the originals; chance is ~8 % a clip, so even 9 of 16 is far beyond it.
    expect(kept).toBeGreaterThanOrEqual(9);

    const prior = await loadPrior(join(BUNDLED_JUKEBOX, 'prior-top'), { threads: 1 });
    try {
      const r = await conditionalNll(prior, songs);
      // Per clip: nats/code with another clip's key (the rest its own) minus with its own key.
      const gain = r.oneShuffled!.key.map((v, i) => v - r.perSong[i]!.conditioned);
      const mean = gain.reduce((a, b) => a + b, 0) / gain.length;
      expect(mean).toBeGreaterThan(0);
      expect(gain.filter((g) => g > 0).length).toBeGreaterThanOrEqual(10);
      // And "no conditions" costs more than the right ones.
      expect(r.unconditioned).toBeGreaterThan(r.conditioned);
    } finally {
      await prior.close();
    }
  });

  it('tony jukebox sample: the bundled chain by default, a WAV of the asked length', { timeout: 120_000 }, async () => {
    const out = join(dir, 'song.wav');
    const r = await tony([
      'jukebox',
      'sample',
      '--key',
      'D minor',
      '--tempo',
      '120',
      '--timbre',
      'organ',
      '--seconds',
      '1',
      '--threads',
      '1',
      '--out',
      out,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const audio = await readWav(out);
    expect(audio.sampleRate).toBe(SR);
    expect(audio.channels[0]!.length).toBe(SR);
    // The upsamplers' and the top's own report lines: each level's codes at its token rate.
    expect(r.stderr).toMatch(/top: 63 codes/);
    expect(r.stderr).toMatch(/middle: 250 codes/);
    expect(r.stderr).toMatch(/bottom: 1000 codes/);
  });
});
