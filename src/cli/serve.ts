/**
 * `tony serve --model <dir>`: load a text model through the registry and serve it over the
 * OpenAI-compatible API (src/serve/: the core with the OpenAI routes mounted) with the playground
 * at /, until Ctrl+C or SIGTERM, then shut down gracefully (running requests finish; a second
 * Ctrl+C exits at once).
 */

import type { Command } from 'commander';
import type { Device } from '../engine/runtime.ts';
import { loadTextModel } from '../models/index.ts';
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
}

export function register(program: Command): void {
  const serveCmd = program
    .command('serve')
    .description('serve a text model over an OpenAI-compatible HTTP API (/v1/completions, /v1/chat/completions) with a playground at /')
    .requiredOption('--model <dir>', 'model directory (as `tony train lm --out` writes it)')
    .option('--port <n>', 'TCP port (0 = any free port)', integer('port', 0), 8000)
    .option('--host <addr>', 'interface to listen on (0.0.0.0 = every interface: set an API key)', SERVE_DEFAULTS.host)
    .option('--api-key <key>', 'require `Authorization: Bearer <key>` on /v1 (default: $TONY_API_KEY; unset = open)')
    .option('--max-queue <n>', 'requests that may wait for the model; more get HTTP 429', integer('max-queue', 0), SERVE_DEFAULTS.maxQueue)
    .option('--concurrency <n>', 'requests generating at once', integer('concurrency', 1), SERVE_DEFAULTS.concurrency)
    .option('--max-tokens <n>', 'largest max_tokens a request may ask for', integer('max-tokens', 1), SERVE_DEFAULTS.maxTokens)
    .action((o: ServeFlags) => serveUntilStopped(o));

  for (const o of runtimeOptions()) serveCmd.addOption(o);
}

async function serveUntilStopped(o: ServeFlags): Promise<void> {
  const model = await loadTextModel(o.model, { device: o.device, threads: o.threads }, 'tony serve');
  const apiKey = o.apiKey ?? process.env.TONY_API_KEY ?? '';
  const server = await serve(model, {
    port: o.port,
    host: o.host,
    apiKey,
    maxQueue: o.maxQueue,
    concurrency: o.concurrency,
    maxTokens: o.maxTokens,
    log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
  });
  process.stdout.write(`serving ${model.id} on ${model.provider} (context ${model.contextLength} tokens)\n`);
  process.stdout.write(`  playground  ${server.url}/\n  OpenAI API  ${server.url}/v1${apiKey ? ' (API key required)' : ''}\n`);
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
