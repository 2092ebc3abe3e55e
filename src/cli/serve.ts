/**
 * `tony serve --model <dir>`: load a text model and serve it over the OpenAI-compatible API
 * (src/serve/server.ts) with the playground at /, until Ctrl+C or SIGTERM, then shut down
 * gracefully (running requests finish; a second Ctrl+C exits at once).
 */
import type { Command } from 'commander';
import { TonyError } from '../errors.ts';
import { SERVE_DEFAULTS, serve, type ServedModel } from '../serve/server.ts';

/** The loader lives with the text models (src/text/model.ts). */
const MODEL_LOADER = '../text/model.ts';

/** Parse an integer flag ≥ min, or a usage error naming it. */
function int(flag: string, min: number) {
  return (v: string): number => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < min) throw new TonyError('usage', `${flag} ${v} is not an integer ≥ ${min}`);
    return x;
  };
}

interface ServeFlags {
  model: string;
  port: number;
  host: string;
  apiKey?: string;
  maxQueue: number;
  concurrency: number;
  maxTokens: number;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve a text model over an OpenAI-compatible HTTP API (/v1/completions, /v1/chat/completions) with a playground at /')
    .requiredOption('--model <dir>', 'model directory (as `tony train lm --out` writes it)')
    .option('--port <n>', 'TCP port (0 = any free port)', int('--port', 0), 8000)
    .option('--host <addr>', 'interface to listen on (0.0.0.0 = every interface: set an API key)', SERVE_DEFAULTS.host)
    .option('--api-key <key>', 'require `Authorization: Bearer <key>` on /v1 (default: $TONY_API_KEY; unset = open)')
    .option('--max-queue <n>', 'requests that may wait for the model; more get HTTP 429', int('--max-queue', 0), SERVE_DEFAULTS.maxQueue)
    .option('--concurrency <n>', 'requests generating at once', int('--concurrency', 1), SERVE_DEFAULTS.concurrency)
    .option('--max-tokens <n>', 'largest max_tokens a request may ask for', int('--max-tokens', 1), SERVE_DEFAULTS.maxTokens)
    .action(async (o: ServeFlags) => {
      const model = await loadModel(o.model);
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
      const provider = model.provider ? ` on ${model.provider}` : '';
      process.stdout.write(`serving ${model.id}${provider} (context ${model.contextLength} tokens)\n`);
      process.stdout.write(`  playground  ${server.url}/\n  OpenAI API  ${server.url}/v1${apiKey ? ' (API key required)' : ''}\n`);
      if (!apiKey && !isLoopback(o.host)) process.stderr.write(`warning: listening on ${o.host} without an API key: anyone who can reach it can use it\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      process.stderr.write('shutting down (running requests finish; Ctrl+C again to quit now)\n');
      await server.close();
    });
}

/**
 * `loadCompletionModel(dir)` from src/text/model.ts, imported only when the command runs, by a
 * specifier TypeScript does not resolve: the serve command builds before the loader exists.
 */
async function loadModel(dir: string): Promise<ServedModel> {
  let mod: { loadCompletionModel?: (dir: string) => Promise<ServedModel> };
  try {
    mod = await import(MODEL_LOADER);
  } catch (err) {
    // Only the loader itself missing; a missing import inside it is a real error.
    const e = err as NodeJS.ErrnoException;
    if (e.code !== 'ERR_MODULE_NOT_FOUND' || !e.message.includes('text/model')) throw err;
    throw new TonyError('usage', 'this build of tony has no text model loader (src/text/model.ts)', 'update tony; `tony serve` needs loadCompletionModel', { cause: err });
  }
  if (typeof mod.loadCompletionModel !== 'function') throw new TonyError('usage', `${MODEL_LOADER} does not export loadCompletionModel`);
  return mod.loadCompletionModel(dir);
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');
