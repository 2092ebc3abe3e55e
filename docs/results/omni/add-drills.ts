/**
 * Adds word drills to a prepared omni mixture: the same examples, in the same place, that
 * `tony omni prepare … --drills N` writes, without re-synthesising and re-encoding everything else
 * (prepare draws the drills from their own random stream, so a mixture with drills is the one
 * without them plus these, inserted after the spoken answers).
 *
 *   node --import tsx docs/results/omni/add-drills.ts <mix in> <mix out> <drills> <voices per question> [seed]
 */
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { speak } from '../../../src/audio/speak.ts';
import { writeFileAtomic } from '../../../src/io.ts';
import { drillSpecs, encodeBucketed } from '../../../src/models/omni/prepare.ts';
import { loadSpeechTokenizer } from '../../../src/models/omni/speech-codec.ts';
import { SPEECH_STFT } from '../../../src/models/omni/speech-vq.ts';
import { asrExample, type Example, isHeldOutQuestion, questionBank } from '../../../src/models/omni/tasks.ts';
import { OmniVocab, type OmniVocabJSON } from '../../../src/models/omni/vocab.ts';

const [mixIn, mixOut, n, vpq, seed = '0'] = process.argv.slice(2) as [string, string, string, string, string?];
await cp(mixIn, mixOut, { recursive: true });
const vocab = OmniVocab.fromJSON(JSON.parse(await readFile(join(mixIn, 'vocab.json'), 'utf8')) as OmniVocabJSON);
const components = JSON.parse(await readFile(join(mixIn, 'components.json'), 'utf8')) as { speech: string };
const train = (await readFile(join(mixIn, 'train.jsonl'), 'utf8'))
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Example);

// prepare's order: per trained question lm, tts, (sqa, asr) × voices, tqa; then two spoken answers per distinct answer.
const trained = questionBank().filter((q) => !isHeldOutQuestion(q));
const answers = new Set(trained.map((q) => q.answer)).size;
const at = trained.length * (3 + 2 * Number(vpq)) + 2 * answers;
const tasks = train.slice(at - 2 * answers - 1, at + 1).map((e) => e.task);
if (tasks[0] !== 'tqa' || tasks.at(-1) !== 'asr' || tasks.slice(1, -1).some((t) => t !== 'tts'))
  throw new Error(`${mixIn}: not the layout of --voices-per-question ${vpq} (around ${at}: ${tasks.join(' ')})`);

const tok = await loadSpeechTokenizer(components.speech, { threads: 1 });
const drills: Example[] = [];
const specs = drillSpecs(Number(n), Number(seed));
for (const [i, d] of specs.entries()) {
  const [voice, variant] = d.voice.split('+') as [string, string];
  const pcm = await speak(d.text, { voice, variant, rate: d.rate, pitch: d.pitch, sampleRate: SPEECH_STFT.sampleRate });
  drills.push(asrExample(vocab, await encodeBucketed(tok, pcm), d.text));
  if (i % 200 === 0) process.stdout.write(`drill ${i}/${specs.length}: ${d.voice} "${d.text}"\n`);
}
await tok.close();
const out = [...train.slice(0, at), ...drills, ...train.slice(at)];
await writeFileAtomic(join(mixOut, 'train.jsonl'), out.map((e) => JSON.stringify(e)).join('\n') + '\n');
process.stdout.write(`${mixOut}: ${train.length} + ${drills.length} drills = ${out.length} training examples\n`);
