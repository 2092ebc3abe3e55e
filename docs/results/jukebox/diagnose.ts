/**
 * Where is the music lost? (docs/results/jukebox.md, session 4, step 1.) Held-out songs and samples,
 * level by level, each judged by the notes measures of src/audio/tonality.ts and the key estimator
 * against the song's own key:
 *
 *   original          the song
 *   recon-<level>     the song through one VQ-VAE level (encode → decode)
 *   up-middle-T<u>    the middle upsampler on the song's TRUE top codes at temperature u → the middle decoder
 *   up-bottom-T<u>    the bottom upsampler on the song's TRUE middle codes → the bottom decoder
 *   up-chain-T<u>     the middle upsampler on the TRUE top codes, the bottom upsampler on what it drew → bottom decoder
 *   top-T<t>          the top prior, asked for the song's own timbre/key/tempo at temperature t → the top decoder
 *   chain-T<t>-<u>    the same top codes (first t given) → middle → bottom, both at the first u → bottom decoder
 *                     (the paper's code samples its upsamplers at 0.99: openai/jukebox sample.py)
 *
 *   npx tsx docs/results/jukebox/diagnose.ts <music dir> <models dir> <songs> <seconds> <seed> <top temperatures,…|-> \
 *     <upsampler temperatures,…> <out.json> [wav dir]
 *
 * "-" for the top temperatures skips the top prior and the chain; "-" for the upsampler temperatures skips
 * the upsamplers and the chain (the top prior's rows alone need only top/ and prior-top/ — session 6 chose
 * the chain's top temperature from them while the upsamplers still trained). Each row draws from its own
 * seed, so a row is the same whichever other rows run.
 *
 * The upsamplers and the top prior see each song's own labels. Models: <models>/{top,middle,bottom,prior-top,prior-middle,prior-bottom}.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { estimateKey, keyName, parseKey } from '../../../src/audio/estimate.ts';
import { spectrogramPng } from '../../../src/audio/plot.ts';
import { tonality } from '../../../src/audio/tonality.ts';
import { writeWav } from '../../../src/audio/wav.ts';
import { type LoadedVQVAE, loadVQVAE } from '../../../src/models/jukebox/codec.ts';
import { readMusic } from '../../../src/models/jukebox/data.ts';
import { conditionIds } from '../../../src/models/jukebox/prior.ts';
import { loadPrior, sampleCodes } from '../../../src/models/jukebox/sample.ts';

const [data, models, nArg, secondsArg, seedArg, tempsArg, upTempsArg, outPath, wavDir] = process.argv.slice(2);
const seed = Number(seedArg);
const temps = tempsArg === '-' ? [] : tempsArg!.split(',').map(Number);
const upTemps = upTempsArg === '-' ? [] : upTempsArg!.split(',').map(Number);
const t0 = performance.now();
const log = (s: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}`);

const lv = {
  top: await loadVQVAE(join(models!, 'top'), { threads: 1 }),
  middle: await loadVQVAE(join(models!, 'middle'), { threads: 1 }),
  bottom: await loadVQVAE(join(models!, 'bottom'), { threads: 1 }),
};
const sr = lv.bottom.cfg.sampleRate;
const L = Math.round(Number(secondsArg) * sr);
const music = await readMusic([data!], sr);
const songs = [...music.val]
  .filter((s) => s.key && s.tempo && s.samples.length >= L)
  .sort((a, b) => a.id.localeCompare(b.id))
  .slice(0, Number(nArg));
const cond = Int32Array.from(songs.flatMap((s) => conditionIds({ timbre: s.timbre, key: s.key, tempo: s.tempo })));
const B = songs.length;

const rel = (key: string) => {
  const k = parseKey(key);
  return keyName(k.mode === 'major' ? { tonic: (k.tonic + 9) % 12, mode: 'minor' } : { tonic: (k.tonic + 3) % 12, mode: 'major' });
};
type Row = { arm: string; id: string; key: string; heard: string; exact: boolean; relative: boolean } & ReturnType<typeof tonality>;
const rows: Row[] = [];
if (wavDir) await mkdir(wavDir, { recursive: true });
/** Judge one arm's audio, one clip per song; keep the first song's clip to listen to and look at. */
const judgeArm = async (arm: string, audio: Float32Array[]) => {
  for (const [i, s] of songs.entries()) {
    const x = audio[i]!.subarray(0, L);
    const heard = keyName(estimateKey(x, sr));
    rows.push({
      arm,
      id: s.id,
      key: s.key!,
      heard,
      exact: heard === s.key,
      relative: heard === s.key || heard === rel(s.key!),
      ...tonality(x, sr),
    });
    if (wavDir && i === 0) {
      await writeWav(join(wavDir, `${arm}.wav`), { sampleRate: sr, channels: [Float64Array.from(x)] });
      await writeFile(
        join(wavDir, `${arm}.png`),
        spectrogramPng(Float64Array.from(x), { sampleRate: sr, nFft: 1024, title: `${s.id} ${arm}` }),
      );
    }
  }
  const rs = rows.filter((r) => r.arm === arm);
  const mean = (f: (r: Row) => number) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
  const sd = (f: (r: Row) => number) => Math.sqrt(rs.reduce((a, r) => a + (f(r) - mean(f)) ** 2, 0) / Math.max(1, rs.length - 1));
  log(
    `${arm.padEnd(14)} peak share ${mean((r) => r.peakShare).toFixed(3)} (sd ${sd((r) => r.peakShare).toFixed(3)})  strong ${mean((r) => r.strongFrames).toFixed(3)}` +
      `  pitch classes ${mean((r) => r.pitchClasses).toFixed(2)}  flatness ${mean((r) => r.flatness).toFixed(3)} (sd ${sd((r) => r.flatness).toFixed(3)})` +
      `  key exact ${rs.filter((r) => r.exact).length}/${rs.length} relative ${rs.filter((r) => r.relative).length}/${rs.length}`,
  );
};
const decodeAll = (level: LoadedVQVAE, codes: Int32Array[]) => Promise.all(codes.map((c) => level.decode(c)));
const n = (level: keyof typeof lv) => Math.ceil(L / lv[level].hop);

log(`${B} held-out songs, ${secondsArg} s each, seed ${seed}; models ${models}`);
await judgeArm(
  'original',
  songs.map((s) => s.samples),
);
const truth: Record<string, Int32Array[]> = {};
for (const level of ['top', 'middle', 'bottom'] as const) {
  truth[level] = [];
  for (const s of songs) truth[level].push(await lv[level].encode(s.samples.subarray(0, L)));
  await judgeArm(`recon-${level}`, await decodeAll(lv[level], truth[level]));
}

// Only the priors some row needs: the upsamplers may not exist yet when only the top prior's rows run.
const load = (name: string, needed: boolean) => (needed ? loadPrior(join(models!, name), { threads: 1 }) : undefined);
const prior = {
  top: await load('prior-top', temps.length > 0),
  middle: await load('prior-middle', upTemps.length > 0),
  bottom: await load('prior-bottom', upTemps.length > 0),
};
const up = (level: 'middle' | 'bottom', upper: Int32Array[], temperature: number) =>
  sampleCodes(prior[level]!, { length: n(level), batch: B, upper, cond, temperature, seed });

for (const u of upTemps) {
  const upMiddle = await up('middle', truth.top!, u);
  await judgeArm(`up-middle-T${u}`, await decodeAll(lv.middle, upMiddle));
  await judgeArm(`up-bottom-T${u}`, await decodeAll(lv.bottom, await up('bottom', truth.middle!, u)));
  await judgeArm(`up-chain-T${u}`, await decodeAll(lv.bottom, await up('bottom', upMiddle, u)));
}

let chainTop: Int32Array[] | undefined;
for (const t of temps) {
  const top = await sampleCodes(prior.top!, { length: n('top'), batch: B, cond, temperature: t, seed });
  chainTop ??= top;
  await judgeArm(`top-T${t}`, await decodeAll(lv.top, top));
}
if (chainTop && upTemps.length) {
  const middle = await up('middle', chainTop, upTemps[0]!);
  await judgeArm(`chain-T${temps[0]}-${upTemps[0]}`, await decodeAll(lv.bottom, await up('bottom', middle, upTemps[0]!)));
}

if (outPath)
  await writeFile(outPath, `${JSON.stringify({ data, models, seconds: Number(secondsArg), seed, temps, upTemps, rows }, null, 1)}\n`);
for (const m of [...Object.values(lv), ...Object.values(prior)]) await m?.close();
log('done');
