/**
 * The speech tokenizer, looked at and listened to, and the cost of streaming:
 *   npx tsx docs/results/omni/speech-figures.ts <speech run> <mcnn> <corpus> <out dir>
 * For the first held-out-voice clip: its spectrogram and WAV, and the same through the tokenizer and
 * the MCNN. For the first 10 held-out clips: the streamed audio (chunks of 8 codes, 3 codes of
 * lookahead — what respond() sends) against whole-utterance decoding of the same codes, as SC (dB).
 */
import { join } from 'node:path';
import { loadEntry, readDataset } from '../../../src/audio/manifest.ts';
import { spectrogramPng } from '../../../src/audio/plot.ts';
import { toMono, writeWav } from '../../../src/audio/wav.ts';
import { writeFileAtomic } from '../../../src/io.ts';
import { loadVocoder } from '../../../src/models/mcnn/vocoder.ts';
import { resynthesize, scDb } from '../../../src/models/omni/eval.ts';
import { Speaker } from '../../../src/models/omni/model.ts';
import { isHeldOutVoice, loadSpeechTokenizer } from '../../../src/models/omni/speech-codec.ts';

const [run, mcnn, corpus, out] = process.argv.slice(2) as [string, string, string, string];
const tok = await loadSpeechTokenizer(run, { threads: 1 });
const vocoder = await loadVocoder(mcnn, { threads: 1 });
const held = (await readDataset(corpus)).filter((e) => isHeldOutVoice(`${String(e.voice)}+${String(e.variant)}`)).slice(0, 10);
const scs: number[] = [];
for (const [i, e] of held.entries()) {
  const x = Float32Array.from(toMono((await loadEntry(e)).audio));
  const codes = await tok.encode(x);
  const whole = await resynthesize(tok, vocoder, codes);
  const parts: Float32Array[] = [];
  const s = new Speaker({ speech: tok, vocoder }, (p) => parts.push(p));
  for (const c of codes) await s.push(c);
  await s.end();
  const streamed = Float32Array.from(parts.flatMap((p) => Array.from(p)));
  scs.push(scDb(whole, streamed));
  console.log(`${e.id}\t${String(e.voice)}+${String(e.variant)}\t${codes.length} codes\tstreamed vs whole SC ${scs.at(-1)!.toFixed(2)} dB`);
  if (i === 0) {
    const title = (w: string) => `${e.id} ${String(e.voice)}+${String(e.variant)}: ${w}`;
    await writeFileAtomic(
      join(out, 'heldout-original.png'),
      spectrogramPng(Float64Array.from(x), { sampleRate: 16000, title: title('original') }),
    );
    await writeFileAtomic(
      join(out, 'heldout-tokenizer.png'),
      spectrogramPng(Float64Array.from(whole), { sampleRate: 16000, title: title(`tokenizer, ${codes.length} codes`) }),
    );
    await writeWav(join(out, 'heldout-original.wav'), { sampleRate: 16000, channels: [Float64Array.from(x)] });
    await writeWav(join(out, 'heldout-tokenizer.wav'), { sampleRate: 16000, channels: [Float64Array.from(whole)] });
  }
}
const m = scs.reduce((a, b) => a + b, 0) / scs.length;
console.log(
  `streamed vs whole: mean SC ${m.toFixed(2)} dB over ${scs.length} clips (min ${Math.min(...scs).toFixed(2)}, max ${Math.max(...scs).toFixed(2)})`,
);
await tok.close();
await vocoder.close();
