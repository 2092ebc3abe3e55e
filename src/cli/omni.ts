/**
 * `tony omni …`: the omni model (issue 18; PAPERS.md §10). Flags → options → src/models/omni;
 * nothing here computes. `prepare` makes the training mixture that `tony train omni` reads;
 * `eval-tokenizer` and `eval` measure (docs/results/omni.md); `bundle` makes a model directory.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadEntry, readDataset } from '../audio/manifest.ts';
import { resample } from '../audio/resample.ts';
import { toMono } from '../audio/wav.ts';
import { latestCheckpoint, loadCheckpoint, saveCheckpoint } from '../engine/checkpoint.ts';
import { TonyError } from '../errors.ts';
import { checkWritable, writeFileAtomic } from '../io.ts';
import { loadVocoder } from '../models/mcnn/vocoder.ts';
import { evaluateOmni, tokenizerReport } from '../models/omni/eval.ts';
import { loadOmni } from '../models/omni/model.ts';
import { prepareMixture } from '../models/omni/prepare.ts';
import { isHeldOutVoice, loadSpeechTokenizer } from '../models/omni/speech-codec.ts';
import { HELD_OUT_VOICES } from '../models/omni/tasks.ts';
import { count, integer, runtimeOptions } from './flags.ts';
import { progressBar } from './progress.ts';

export function register(program: Command): void {
  const omni = program.command('omni').description('Tony-o: one transformer over text, speech and images (issue 18)');

  const prepare = omni
    .command('prepare')
    .description('synthesize and tokenize the training mixture (questions in many voices, answers in the presets, captions, images)')
    .requiredOption('--speech <dir>', 'speech tokenizer (a tony train omni-speech run)')
    .requiredOption('--image <dir>', 'image tokenizer (a tony train omni-image run)')
    .option('--vocoder <dir>', 'the MCNN the model speaks through', 'models/mcnn')
    .requiredOption('--corpus <dir>', 'speech corpus with transcripts (tony audio corpus --kind speech)')
    .requiredOption('--out <dir>', 'output directory (vocab.json, train/val/eval.jsonl, wavs/)')
    .option('--voices-per-question <n>', 'input voices each trained question is spoken in', count('voices-per-question'), 3)
    .option('--drills <n>', "spoken word drills (random strings of the questions' words) for speech → text", integer('drills', 0), 0)
    .option('--text-vocab <n>', 'BPE vocabulary size', count('text-vocab'), 512)
    .option('--seed <n>', 'seed of voices and deliveries', integer('seed', 0), 0);
  for (const o of runtimeOptions()) prepare.addOption(o);
  prepare.action(
    async (o: {
      speech: string;
      image: string;
      vocoder: string;
      corpus: string;
      out: string;
      voicesPerQuestion: number;
      drills: number;
      textVocab: number;
      seed: number;
      threads?: number;
    }) => {
      await checkWritable(o.out, 'dir');
      const bar = progressBar('prepare');
      const r = await prepareMixture({ ...o, onProgress: bar.update });
      bar.stop();
      process.stdout.write(`tony: ${r.train} training, ${r.val} held-out examples, ${r.eval} eval items → ${o.out}\n`);
    },
  );

  const evTok = omni
    .command('eval-tokenizer')
    .description('the speech tokenizer on held-out voices: spectral convergence, and the number words through a template recogniser')
    .requiredOption('--speech <dir>', 'speech tokenizer (a tony train omni-speech run)')
    .option('--vocoder <dir>', 'the MCNN', 'models/mcnn')
    .requiredOption('--corpus <dir>', 'speech corpus (its held-out voices are used)')
    .option('--clips <n>', 'held-out clips for spectral convergence', count('clips'), 20)
    .option('--voices <list>', 'voices (voice+variant, comma-separated) that speak the number words', HELD_OUT_VOICES.join(','))
    .requiredOption('--out <file>', 'results JSON (a .txt beside it lists every clip and word)');
  for (const o of runtimeOptions()) evTok.addOption(o);
  evTok.action(
    async (o: { speech: string; vocoder: string; corpus: string; clips: number; voices: string; out: string; threads?: number }) => {
      await checkWritable(o.out, 'file');
      const tok = await loadSpeechTokenizer(o.speech, { threads: o.threads });
      const vocoder = await loadVocoder(o.vocoder, { threads: o.threads });
      const lines: string[] = [];
      try {
        const clips = [];
        for (const e of await readDataset(o.corpus)) {
          const voice = `${String(e.voice)}+${String(e.variant)}`;
          if (!isHeldOutVoice(voice) || clips.length >= o.clips) continue;
          const { audio } = await loadEntry(e);
          clips.push({ id: e.id, voice, pcm: Float32Array.from(resample(toMono(audio), audio.sampleRate, 16000)) });
        }
        if (clips.length === 0)
          throw new TonyError('data', `${o.corpus} has no clips in the held-out voices (${HELD_OUT_VOICES.join(', ')})`);
        const r = await tokenizerReport(tok, vocoder, clips, o.voices.split(','), (l) => {
          lines.push(l);
          process.stderr.write(`${l}\n`);
        });
        await writeFileAtomic(o.out, `${JSON.stringify(r, null, 2)}\n`);
        await writeFileAtomic(o.out.replace(/\.json$/, '') + '.txt', `${lines.join('\n')}\n`);
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      } finally {
        await tok.close();
        await vocoder.close();
      }
    },
  );

  const ev = omni
    .command('eval')
    .description("task accuracy per modality pair on a mixture's held-out items (eval.jsonl)")
    .requiredOption('--model <dir>', 'an omni model directory or tony train omni run')
    .requiredOption('--mix <dir>', 'the tony omni prepare directory it was trained on')
    .option('--limit <n>', 'items per task and held-out reason', count('limit'), 40)
    .requiredOption('--out <file>', 'results JSON (a .txt beside it lists every item)');
  for (const o of runtimeOptions()) ev.addOption(o);
  ev.action(async (o: { model: string; mix: string; limit: number; out: string; threads?: number }) => {
    await checkWritable(o.out, 'file');
    const model = await loadOmni(o.model, { threads: o.threads });
    const lines: string[] = [];
    try {
      const bar = progressBar('eval');
      const scores = await evaluateOmni(model, o.mix, { limit: o.limit, onProgress: bar.update, log: (l) => lines.push(l) });
      bar.stop();
      await writeFileAtomic(o.out, `${JSON.stringify(scores, null, 2)}\n`);
      await writeFileAtomic(o.out.replace(/\.json$/, '') + '.txt', `${lines.join('\n')}\n`);
      for (const [k, v] of Object.entries(scores))
        process.stdout.write(`${k.padEnd(24)} n=${String(v.n).padEnd(4)} ${v.value.toFixed(3)}  ${v.what}\n`);
    } finally {
      await model.close();
    }
  });

  omni
    .command('bundle')
    .description('a model directory: the transformer, speech/, image/ and vocoder/, weights in float16')
    .requiredOption('--run <dir>', 'a tony train omni run (its parts are where its mixture said)')
    .requiredOption('--out <dir>', 'output model directory, e.g. models/omni')
    .action(async (o: { run: string; out: string }) => {
      await checkWritable(o.out, 'dir');
      // Weights only: a model directory carries no optimizer state (it is twice the weights again).
      const latest = async (d: string) => {
        const { optimizer: _, ...ck } = await loadCheckpoint((await latestCheckpoint(d))?.dir ?? d);
        return ck;
      };
      const ck = await latest(o.run);
      const components = (ck.config as { components?: Record<string, string> }).components ?? {};
      for (const part of ['speech', 'image', 'vocoder']) {
        if (!components[part])
          throw new TonyError('checkpoint', `${o.run}'s config names no ${part} model`, 'train on a mixture made by tony omni prepare');
        await saveCheckpoint(join(o.out, part), await latest(components[part]), { float16: true });
      }
      const { components: _, ...config } = ck.config as Record<string, unknown>;
      await saveCheckpoint(o.out, { ...ck, config }, { float16: true });
      process.stdout.write(`tony: bundled ${o.run} → ${o.out} (float16)\n`);
    });
}
