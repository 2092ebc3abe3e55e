/**
 * Can an upsampler's labels steer the key, with the codes above held fixed? For each held-out
 * song of a codes corpus, its true upper-level codes, and three sets of conditions: the song's
 * own (timbre, key, tempo), the same with the key moved a tritone (tonic + 6, same mode: the key
 * farthest from it on the circle of fifths), and every condition "none". The upsampler samples its
 * level's codes under each; the level's decoder turns them into audio; the key estimator judges
 * each against the song's own key and against the moved key. The song's own codes of that level,
 * decoded, are the ceiling (what the level and the estimator allow).
 *
 *   npx tsx docs/results/jukebox/steer.ts <codes.jsonl> <upsampler run> <its level's VQ-VAE run> <seconds> <seed> [out.json] [wav dir]
 *
 * With a wav dir, the first song's three samples and its own codes, decoded, are written there to listen to.
 *
 * If the labels steer, "moved" samples agree with the moved key more often than "own" and "none"
 * samples do; if the upper codes decide the key, all three agree with the song's own key alike.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { estimateKey, keyName, parseKey } from '../../../src/audio/estimate.ts';
import { writeWav } from '../../../src/audio/wav.ts';
import { loadVQVAE } from '../../../src/models/jukebox/codec.ts';
import { readCodes } from '../../../src/models/jukebox/kind.ts';
import { conditionIds, isUpsampler, upperOf } from '../../../src/models/jukebox/prior.ts';
import { loadPrior, sampleCodes } from '../../../src/models/jukebox/sample.ts';

const [codesPath, priorDir, levelDir, secondsArg, seedArg, outPath, wavDir] = process.argv.slice(2);
const prior = await loadPrior(priorDir!, { threads: 1 });
const level = await loadVQVAE(levelDir!, { threads: 1 });
const cfg = prior.cfg;
if (!isUpsampler(cfg) || !cfg.labels) throw new Error(`${priorDir}: not an upsampler with labels`);
if (level.cfg.level !== cfg.level) throw new Error(`${levelDir} is the ${level.cfg.level} level; the prior is the ${cfg.level} upsampler`);
const sr = level.cfg.sampleRate;
const n = Math.round((Number(secondsArg) * sr) / level.hop); // codes of this level
const songs = (await readCodes([codesPath!])).val.filter(
  (s) => s.key && s[cfg.level].length >= n && s[upperOf(cfg.level)].length * cfg.ratio >= n,
);
const moved = (key: string) => {
  const k = parseKey(key);
  return keyName({ tonic: (k.tonic + 6) % 12, mode: k.mode });
};
const arms = ['own', 'moved', 'none'] as const;
const rows = arms.flatMap((arm) => songs.map((s) => ({ arm, s })));
const cond = Int32Array.from(
  rows.flatMap(({ arm, s }) =>
    arm === 'none' ? [0, 0, 0] : conditionIds({ timbre: s.timbre, key: arm === 'own' ? s.key : moved(s.key!), tempo: s.tempo }),
  ),
);
const t0 = performance.now();
const codes = await sampleCodes(prior, {
  length: n,
  batch: rows.length,
  upper: rows.map(({ s }) => Int32Array.from(s[upperOf(cfg.level)].slice(0, Math.ceil(n / cfg.ratio)))),
  cond,
  temperature: 1,
  seed: Number(seedArg),
});
const sampleSeconds = (performance.now() - t0) / 1000;
const rel = (key: string) => {
  const k = parseKey(key);
  return keyName(k.mode === 'major' ? { tonic: (k.tonic + 9) % 12, mode: 'minor' } : { tonic: (k.tonic + 3) % 12, mode: 'major' });
};
const agree = (heard: string, want: string) => ({ exact: heard === want, relative: heard === want || heard === rel(want) });
type Agree = { exact: boolean; relative: boolean };
const judged: Array<{ id: string; arm: (typeof arms)[number]; own: string; moved: string; heard: string; toOwn: Agree; toMoved: Agree }> =
  [];
if (wavDir) await mkdir(wavDir, { recursive: true });
/** The first song's audio to listen to (wavDir given). */
const keep = async (name: string, x: Float32Array) => {
  if (wavDir) await writeWav(join(wavDir, `${songs[0]!.id}-${name}.wav`), { sampleRate: sr, channels: [Float64Array.from(x)] });
};
for (const [i, { arm, s }] of rows.entries()) {
  const x = await level.decode(codes[i]!);
  if (s === songs[0]) await keep(arm, x);
  const heard = keyName(estimateKey(x, sr));
  judged.push({
    id: s.id,
    arm,
    own: s.key!,
    moved: moved(s.key!),
    heard,
    toOwn: agree(heard, s.key!),
    toMoved: agree(heard, moved(s.key!)),
  });
}
const ceiling: Array<{ id: string; own: string; heard: string; toOwn: Agree }> = [];
for (const s of songs) {
  const x = await level.decode(Int32Array.from(s[cfg.level].slice(0, n)));
  if (s === songs[0]) await keep('own-codes', x);
  const heard = keyName(estimateKey(x, sr));
  ceiling.push({ id: s.id, own: s.key!, heard, toOwn: agree(heard, s.key!) });
}
const count = (js: Array<{ toOwn: { exact: boolean; relative: boolean }; toMoved?: { exact: boolean; relative: boolean } }>) => ({
  n: js.length,
  ownExact: js.filter((j) => j.toOwn.exact).length,
  ownRelative: js.filter((j) => j.toOwn.relative).length,
  movedExact: js.filter((j) => j.toMoved?.exact).length,
  movedRelative: js.filter((j) => j.toMoved?.relative).length,
});
const summary = Object.fromEntries(arms.map((a) => [a, count(judged.filter((j) => j.arm === a))]));
console.log(
  `${cfg.level} upsampler ${priorDir}, ${songs.length} held-out songs, ${secondsArg} s, seed ${seedArg}; ${sampleSeconds.toFixed(1)} s to sample`,
);
console.log('arm      n  key = own (exact / up to relative)   key = moved (exact / up to relative)');
for (const [a, c] of Object.entries({ ...summary, 'own codes': count(ceiling) }))
  console.log(
    `${a.padEnd(9)} ${String(c.n).padStart(2)}  ${c.ownExact} / ${c.ownRelative}${''.padEnd(30)}${a === 'own codes' ? '–' : `${c.movedExact} / ${c.movedRelative}`}`,
  );
if (outPath)
  await writeFile(
    outPath,
    JSON.stringify(
      {
        prior: priorDir,
        level: levelDir,
        seconds: Number(secondsArg),
        seed: Number(seedArg),
        summary,
        ceiling: count(ceiling),
        judged,
        ceilingJudged: ceiling,
      },
      null,
      2,
    ) + '\n',
  );
await prior.close();
await level.close();
