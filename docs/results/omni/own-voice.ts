/**
 * The output-voice guard on the bundled model's own speech: every question the model is asked to
 * speak (text → speech, the eval's held-out questions, both preset voices) is sampled, decoded,
 * vocoded and streamed through the guard in 40 ms chunks, as the server does. A stop here is a
 * preset answer stopped by mistake. Single answers are mostly under the 2 s the guard needs before
 * it judges, so three consecutive answers are also streamed as one response (3–5 s).
 *
 *   node --import tsx docs/results/omni/own-voice.ts models/omni <mixture> [guard json]
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resynthesize } from '../../../src/models/omni/eval.ts';
import { loadOmni } from '../../../src/models/omni/model.ts';
import type { EvalItem } from '../../../src/models/omni/prepare.ts';
import { loadVoiceSafety } from '../../../src/models/omni/voice-safety.ts';

const [dir, mix, guardPath = join(dir!, 'voice-safety.json')] = process.argv.slice(2) as [string, string, string?];
const model = await loadOmni(dir, { threads: 2 });
const guard = await loadVoiceSafety(guardPath);
const items = (await readFile(join(mix, 'eval.jsonl'), 'utf8'))
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as EvalItem)
  .filter((i) => i.task === 'tts');
let judged = 0;
let stopped = 0;
let streams = 0;
const chunk = Math.round(0.04 * model.sampleRate);
const verdict = (pcm: Float32Array) => {
  const m = guard.monitor(model.sampleRate);
  let v: 'ok' | 'block' = 'ok';
  for (let at = 0; at < pcm.length && v === 'ok'; at += chunk) v = m.push(pcm.subarray(at, at + chunk));
  return v;
};
for (const voice of model.voices) {
  const answers: Float32Array[] = [];
  for (const it of items) {
    const codes = await model.speakCodes(it.input, voice);
    answers.push(await resynthesize(model.parts.speech, model.parts.vocoder, Int32Array.from(codes)));
  }
  for (let i = 0; i + 3 <= answers.length; i += 3) {
    const pcm = new Float32Array(answers[i]!.length + answers[i + 1]!.length + answers[i + 2]!.length);
    pcm.set(answers[i]!);
    pcm.set(answers[i + 1]!, answers[i]!.length);
    pcm.set(answers[i + 2]!, answers[i]!.length + answers[i + 1]!.length);
    const v = verdict(pcm);
    const seconds = pcm.length / model.sampleRate;
    streams++;
    if (seconds >= 2) judged++;
    if (v === 'block') stopped++;
    process.stdout.write(
      `${voice}\t${seconds.toFixed(2)} s\t${v}\t${items
        .slice(i, i + 3)
        .map((x) => x.input)
        .join(' | ')}\n`,
    );
  }
}
process.stdout.write(
  `${guardPath}: ${stopped} of ${streams} streams of the model's own preset-voice speech stopped (${judged} long enough to be judged: ≥ 2 s)\n`,
);
await model.close();
