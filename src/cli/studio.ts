/**
 * `tony studio` — Tony Studio, the web app over every model kind and result (src/studio/serve.ts) —
 * and `tony start` (npm start): the studio on the bundled models, the code model (models/code) and,
 * when one is bundled, the MCNN vocoder (models/mcnn), with ./runs as the runs folder if it exists.
 * Runs until Ctrl+C or SIGTERM, then shuts down gracefully.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { Device } from '../engine/runtime.ts';
import { TonyError } from '../errors.ts';
import { type LoadedModel, loadModel, loadTextModel } from '../models/index.ts';
import { canRealtime } from '../models/omni/contract.ts';
import { loadVoiceSafety } from '../models/omni/voice-safety.ts';
import { SERVER_DEFAULTS } from '../serve/core/server.ts';
import type { Vocoder } from '../serve/routes/audio.ts';
import { PLAYGROUND_PATH, serveStudio } from '../studio/serve.ts';
import { integer, runtimeOptions } from './flags.ts';
import { voiceGuardFor } from './serve.ts';

const bundled = (name: string) => fileURLToPath(new URL(`../../models/${name}`, import.meta.url));

interface StudioFlags {
  runs?: string;
  model?: string;
  vocoder?: string;
  voice?: string;
  audio?: string;
  problems?: string;
  port: number;
  host: string;
  apiKey?: string;
  device: Device;
  threads?: number;
}

export function register(program: Command): void {
  const studio = program
    .command('studio')
    .description('Tony Studio: a web app for models, training runs, scaling sweeps, evals, audio and 3D')
    .option('--runs <dir>', 'folder of training runs and *_results.jsonl eval files (Runs, Scaling, Evals pages)')
    .option('--model <dir>', 'text model for the Code page and the OpenAI API (default: the bundled models/code)')
    .option('--problems <file>', 'HumanEval(-infilling) problems (.jsonl or .jsonl.gz): eval results show the whole program and its test')
    .option('--audio <dir>', 'audio corpus for the Audio page (manifest.jsonl as tony audio corpus writes, LJSpeech, LibriSpeech, WAVs)')
    .option('--vocoder <dir>', "model with capability 'vocode' for the Audio page (e.g. tony train mcnn --out)")
    .option(
      '--voice <dir>',
      "model with capability 'realtime' (omni) for the Voice page and /v1/realtime, its output voice checked by the bundled models/voice-safety",
    )
    .option('--port <n>', 'TCP port (0 = any free port)', integer('port', 0), 8000)
    .option('--host <addr>', 'interface to listen on (0.0.0.0 = every interface: set an API key)', SERVER_DEFAULTS.host)
    .option('--api-key <key>', 'require `Authorization: Bearer <key>` on /v1 (default: $TONY_API_KEY; unset = open)')
    .action((o: StudioFlags) => studioUntilStopped(o));
  const start = program
    .command('start')
    .description("Tony's main job: Tony Studio on the bundled models (models/code, models/mcnn when present), runs from ./runs")
    .option('--port <n>', 'TCP port (0 = any free port)', integer('port', 0), 8000)
    .option('--host <addr>', 'interface to listen on', SERVER_DEFAULTS.host)
    .action((o: StudioFlags) =>
      studioUntilStopped({
        ...o,
        ...(existsSync('runs') ? { runs: 'runs' } : {}),
        ...(existsSync(bundled('mcnn')) ? { vocoder: bundled('mcnn') } : {}),
      }),
    );
  for (const cmd of [studio, start]) for (const o of runtimeOptions()) cmd.addOption(o);
}

async function loadVocoder(dir: string, opts: { device: Device; threads?: number }): Promise<Vocoder & LoadedModel> {
  const m = await loadModel(dir, opts);
  if (!m.capabilities.includes('vocode') || !('vocodeAudio' in m)) {
    await m.close();
    throw new TonyError(
      'usage',
      `${dir} is a '${m.kind}' model (${m.capabilities.join(', ')}); --vocoder needs one with capability 'vocode'`,
      'train one with tony train mcnn',
    );
  }
  return m as Vocoder & LoadedModel;
}

async function studioUntilStopped(o: StudioFlags): Promise<void> {
  if (o.runs !== undefined && !existsSync(o.runs))
    throw new TonyError(
      'usage',
      `--runs ${o.runs} does not exist`,
      'name the folder your training runs write into (tony train --out <folder>/<run>)',
    );
  if (o.problems !== undefined && !existsSync(o.problems))
    throw new TonyError('usage', `--problems ${o.problems} does not exist`, 'name a HumanEval problems file, e.g. HumanEval.jsonl.gz');
  if (o.audio !== undefined && !existsSync(o.audio))
    throw new TonyError('usage', `--audio ${o.audio} does not exist`, 'make one with tony audio corpus --kind speech --out <dir>');
  const rt = { device: o.device, threads: o.threads };
  const modelDir = o.model ?? bundled('code');
  const model = await loadTextModel(modelDir, rt, 'tony studio --model');
  const vocoder = o.vocoder ? await loadVocoder(o.vocoder, rt) : undefined;
  const voice = o.voice ? await loadModel(o.voice, rt) : undefined;
  if (voice && !canRealtime(voice))
    throw new TonyError(
      'usage',
      `${o.voice} is a '${voice.kind}' model (${voice.capabilities.join(', ')}); --voice needs one with capability 'realtime'`,
    );
  const apiKey = o.apiKey ?? process.env.TONY_API_KEY ?? '';
  const studio = await serveStudio({
    host: o.host,
    port: o.port,
    apiKey,
    ...(o.runs !== undefined ? { runsDir: resolve(o.runs) } : {}),
    ...(o.audio !== undefined ? { audioDir: resolve(o.audio) } : {}),
    ...(o.problems !== undefined ? { problems: o.problems } : {}),
    model: { model, dir: modelDir },
    ...(vocoder && o.vocoder ? { vocoder: { model: vocoder, dir: o.vocoder } } : {}),
    ...(voice && o.voice && canRealtime(voice)
      ? {
          realtime: {
            model: voice,
            dir: o.voice,
            guard: await loadVoiceSafety(voiceGuardFor(o.voice)),
          },
        }
      : {}),
    log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
  });
  process.stdout.write(
    `serving ${model.id} on ${model.provider} (context ${model.contextLength} tokens)${vocoder ? `, vocoder ${vocoder.id}` : ''}\n`,
  );
  process.stdout.write(
    `  studio      ${studio.url}/\n  playground  ${studio.url}${PLAYGROUND_PATH}\n  OpenAI API  ${studio.url}/v1${apiKey ? ' (API key required)' : ''}\n`,
  );
  if (o.runs !== undefined) process.stdout.write(`  runs        ${resolve(o.runs)}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stderr.write('shutting down (running requests finish; Ctrl+C again to quit now)\n');
  await studio.close();
  await model.close();
  await vocoder?.close();
}
