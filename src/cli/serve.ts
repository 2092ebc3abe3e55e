/**
 * `tony serve --model <dir>`: load a text model through the registry and serve it over the
 * OpenAI-compatible API (src/serve/: the core with the OpenAI routes mounted) with the playground
 * at /, until Ctrl+C or SIGTERM, then shut down gracefully (running requests finish; a second
 * Ctrl+C exits at once).
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { Device } from '../engine/runtime.ts';
import { asCompletionModel, loadModel } from '../models/index.ts';
import { canRealtime } from '../models/omni/contract.ts';
import { loadVoiceSafety } from '../models/omni/voice-safety.ts';
import { SERVE_DEFAULTS, serve } from '../serve/index.ts';
import { integer, runtimeOptions } from './flags.ts';

interface ServeFlags {
  model: string;
  port: number;
  host: string;
  apiKey?: string;
  maxQueue: number;
  concurrency: number;
  maxTokens: number;
  device: Device;
  threads?: number;
  voiceGuard?: string;
}

/** The bundled output-voice classifier (docs/results/omni.md, "Voice safety"): fitted on espeak-ng's own voices. */
const BUNDLED_VOICE_GUARD = fileURLToPath(new URL('../../models/voice-safety/classifier.json', import.meta.url));

/**
 * A realtime model's output-voice classifier: the one fitted on its own output channel (codes →
 * decoder → vocoder) when the model directory has one (`voice-safety.json`), else the bundled one.
 */
export const voiceGuardFor = (modelDir: string): string => {
  const own = join(modelDir, 'voice-safety.json');
  return existsSync(own) ? own : BUNDLED_VOICE_GUARD;
};

export function register(program: Command): void {
  const serveCmd = program
    .command('serve')
    .description(
      'serve a model: a text model over an OpenAI-compatible HTTP API (/v1/completions, /v1/chat/completions) with a playground at /; a realtime model (omni) over the OpenAI Realtime protocol at /v1/realtime',
    )
    .requiredOption('--model <dir>', 'model directory (as `tony train lm --out` writes it)')
    .option('--port <n>', 'TCP port (0 = any free port)', integer('port', 0), 8000)
    .option('--host <addr>', 'interface to listen on (0.0.0.0 = every interface: set an API key)', SERVE_DEFAULTS.host)
    .option('--api-key <key>', 'require `Authorization: Bearer <key>` on /v1 (default: $TONY_API_KEY; unset = open)')
    .option('--max-queue <n>', 'requests that may wait for the model; more get HTTP 429', integer('max-queue', 0), SERVE_DEFAULTS.maxQueue)
    .option('--concurrency <n>', 'requests generating at once', integer('concurrency', 1), SERVE_DEFAULTS.concurrency)
    .option('--max-tokens <n>', 'largest max_tokens a request may ask for', integer('max-tokens', 1), SERVE_DEFAULTS.maxTokens)
    .option(
      '--voice-guard <file>',
      "a 'realtime' model's output-voice classifier (default: the model's own voice-safety.json, else the bundled models/voice-safety)",
    )
    .action((o: ServeFlags) => serveUntilStopped(o));

  for (const o of runtimeOptions()) serveCmd.addOption(o);
}

async function serveUntilStopped(o: ServeFlags): Promise<void> {
  const loaded = await loadModel(o.model, { device: o.device, threads: o.threads });
  // A 'realtime' model is served on /v1/realtime (and on the text routes too if it also completes).
  const model = canRealtime(loaded) ? loaded : asCompletionModel(loaded, 'tony serve');
  const voiceGuard = canRealtime(loaded) ? await loadVoiceSafety(o.voiceGuard ?? voiceGuardFor(o.model)) : undefined;
  const apiKey = o.apiKey ?? process.env.TONY_API_KEY ?? '';
  const server = await serve(model, {
    port: o.port,
    host: o.host,
    apiKey,
    maxQueue: o.maxQueue,
    concurrency: o.concurrency,
    maxTokens: o.maxTokens,
    ...(voiceGuard ? { voiceGuard } : {}),
    log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
  });
  const context = 'contextLength' in model ? ` (context ${model.contextLength} tokens)` : '';
  process.stdout.write(`serving ${model.id} on ${model.provider}${context}\n`);
  if ('complete' in model)
    process.stdout.write(`  playground  ${server.url}/\n  OpenAI API  ${server.url}/v1${apiKey ? ' (API key required)' : ''}\n`);
  if (canRealtime(loaded))
    process.stdout.write(`  Realtime    ${server.url.replace(/^http/, 'ws')}/v1/realtime (voices: ${loaded.voices.join(', ')})\n`);
  if (!apiKey && !isLoopback(o.host))
    process.stderr.write(`warning: listening on ${o.host} without an API key: anyone who can reach it can use it\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stderr.write('shutting down (running requests finish; Ctrl+C again to quit now)\n');
  await server.close();
  await model.close();
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');
