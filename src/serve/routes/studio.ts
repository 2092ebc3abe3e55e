/**
 * Tony Studio's route module: the web app (src/studio/app, bundled by src/studio/build.ts) and the
 * JSON routes its pages read.
 *
 *   GET /                            the app (every page; the hash picks one, e.g. /#/runs)
 *   GET /studio.js, /studio.css      its bundle
 *   GET /api/studio                  the registry's kinds and the models this server loaded
 *   GET /api/runs                    every run under the runs folder
 *   GET /api/runs/{name}             a run's config and checkpoints
 *   GET /api/runs/{name}/metrics     its metrics.jsonl as server-sent events: the rows now, then each new one
 *   GET /api/evals                   every *_results.jsonl under the runs folder
 *   GET /api/evals/{name}            one results file's rows (with each task's prompt, suffix and test when
 *                                    the studio was given the problems file)
 *   GET /api/scaling?dir={name}      a sweep folder's runs, L(N) and L(C) fits and the compute frontier
 *   GET /api/in-page/{file}          the text model for the page: manifest.json, prefill.onnx, decode.onnx, weights.bin
 *   GET /api/train-in-page/{file}    a tiny GPT's training-step graph for the page: manifest.json, step.onnx, init.bin
 *   GET /ort/{file}                  onnxruntime-web's WebAssembly runtime (from node_modules)
 *
 * Audio and 3D have their own modules (audio.ts, shapes.ts); the OpenAI routes are completions.ts.
 */

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { TonyError } from '../../errors.ts';
import { loadProblems, type Problem } from '../../evals/data.ts';
import { studioBundle } from '../../studio/build.ts';
import { type InPageGpt, inPageGpt } from '../../studio/in-page.ts';
import { followMetrics, listEvals, listRuns, readEvals, runDetail } from '../../studio/runs.ts';
import { readScalingRuns, scalingView } from '../../studio/scaling.ts';
import { inPageTraining } from '../../studio/train-in-page.ts';
import { HttpError } from '../core/http.ts';
import type { RequestContext, RouteModule } from '../core/server.ts';

export interface StudioInfo {
  /** Registry rows (src/models/index.ts), as the Home page lists them. */
  kinds: Array<{ name: string; kind: string; summary: string; capabilities: readonly string[] }>;
  /** Models this server loaded, with the folder each came from. */
  models: Array<{ id: string; kind: string; capabilities: readonly string[]; provider: string; dir: string; role: string }>;
  /** The folder Runs, Evals and Scaling read; undefined when none was given. */
  runsDir: string | undefined;
  /** The audio corpus the Audio page plays; undefined when none was given. */
  audioDir: string | undefined;
}

const INDEX = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tony Studio</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/studio.css">
</head>
<body>
<noscript>Tony Studio is a JavaScript app; the OpenAI API at /v1 works without it.</noscript>
<script type="module" src="/studio.js"></script>
</body>
</html>
`;

function staticRoute(path: string, type: string, body: () => Promise<Buffer> | Buffer) {
  return {
    method: 'GET' as const,
    path,
    public: true,
    async handle({ res }: RequestContext) {
      const b = await body();
      res.writeHead(200, {
        'Content-Type': type,
        'Content-Length': b.length,
        'Cache-Control': 'no-cache',
        'X-Content-Type-Options': 'nosniff',
      });
      res.end(b);
    },
  };
}

/** The onnxruntime-web files a page loads at run time (the JavaScript API is in the bundle). */
const ORT_FILES = new Set([
  'ort-wasm-simd-threaded.wasm',
  'ort-wasm-simd-threaded.mjs',
  // The WebGPU build's (asyncify: WebGPU calls are asynchronous, WebAssembly is not).
  'ort-wasm-simd-threaded.asyncify.wasm',
  'ort-wasm-simd-threaded.asyncify.mjs',
]);
const ortDir = () => dirname(createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));

/**
 * `modelDir`: the text model (a GPT with a BPE) whose graphs the Code page runs in the tab.
 * `problems`: a HumanEval(-infilling) problems file, so that an eval result shows the whole program.
 */
export function studioRoutes(info: StudioInfo, opts: { modelDir?: string; problems?: string } = {}): RouteModule {
  let problems: Promise<Map<string, Problem>> | undefined;
  const problemsFor = () => {
    if (!opts.problems) return undefined;
    // HumanEval's fields; an infilling file's 'suffix' comes along.
    problems ??= loadProblems(opts.problems).catch((err: unknown) => {
      problems = undefined;
      throw err;
    });
    return problems;
  };
  let inPage: Promise<InPageGpt> | undefined;
  const model = () => {
    if (!opts.modelDir)
      throw new HttpError(404, 'This studio serves no text model to run in the page.', 'invalid_request_error', null, 'no_model');
    inPage ??= inPageGpt(opts.modelDir).catch((err: unknown) => {
      inPage = undefined;
      // A model the page cannot run (not a BPE GPT) is a missing resource, not a server fault.
      if (err instanceof TonyError && err.kind === 'checkpoint')
        throw new HttpError(404, err.format(), 'invalid_request_error', null, 'not_found');
      throw err;
    });
    return inPage;
  };
  const binary = (ctx: RequestContext, type: string, b: Uint8Array) => {
    ctx.res.writeHead(200, { 'Content-Type': type, 'Content-Length': b.length, 'Cache-Control': 'no-cache' });
    ctx.res.end(b);
  };
  const runs = (): string => {
    if (info.runsDir === undefined)
      throw new HttpError(404, 'This studio has no runs folder.', 'invalid_request_error', null, 'no_runs_folder');
    return info.runsDir;
  };
  return {
    routes: [
      staticRoute('/', 'text/html; charset=utf-8', () => Buffer.from(INDEX)),
      staticRoute('/studio.js', 'text/javascript; charset=utf-8', async () => (await studioBundle()).js),
      staticRoute('/studio.css', 'text/css; charset=utf-8', async () => (await studioBundle()).css),
      { method: 'GET', path: '/api/studio', public: true, handle: async (ctx) => ctx.send(200, info) },
      { method: 'GET', path: '/api/runs', public: true, handle: async (ctx) => ctx.send(200, { data: await listRuns(runs()) }) },
      {
        method: 'GET',
        path: /\/api\/runs\/(.+)\/metrics/,
        public: true,
        async handle(ctx) {
          const name = ctx.params[0]!;
          await runDetail(runs(), name); // a 400 naming the problem before the stream opens
          const sse = ctx.events();
          await followMetrics(runs(), name, ctx.signal, (rows, reset) => sse.send({ rows, reset }));
        },
      },
      {
        method: 'GET',
        path: /\/api\/runs\/(.+)/,
        public: true,
        handle: async (ctx) => ctx.send(200, await runDetail(runs(), ctx.params[0]!)),
      },
      { method: 'GET', path: '/api/evals', public: true, handle: async (ctx) => ctx.send(200, { data: await listEvals(runs()) }) },
      {
        method: 'GET',
        path: /\/api\/evals\/(.+)/,
        public: true,
        async handle(ctx) {
          const file = await readEvals(runs(), ctx.params[0]!);
          const known = await problemsFor();
          const rows = file.rows.map((r) => {
            const p = known?.get(r.task_id);
            return p ? { ...r, prompt: p.prompt, suffix: p.suffix, test: p.test } : r;
          });
          ctx.send(200, { ...file, rows });
        },
      },
      {
        method: 'GET',
        path: '/api/scaling',
        public: true,
        async handle(ctx) {
          // A query, not a path: the runs folder itself is '.', which URL normalisation would drop from a path.
          const name = new URL(ctx.req.url ?? '/', 'http://x').searchParams.get('dir') ?? '.';
          ctx.send(200, scalingView(await readScalingRuns(runs(), name)));
        },
      },
      {
        method: 'GET',
        path: /\/api\/in-page\/([^/]+)/,
        public: true,
        async handle(ctx) {
          const file = ctx.params[0]!;
          const files = ['manifest.json', 'prefill.onnx', 'decode.onnx', 'weights.bin'];
          if (!files.includes(file))
            throw new HttpError(
              404,
              `No in-page file '${file}'; there are ${files.join(', ')}.`,
              'invalid_request_error',
              null,
              'not_found',
            );
          const m = await model();
          if (file === 'manifest.json') return ctx.send(200, m.manifest);
          binary(ctx, 'application/octet-stream', file === 'prefill.onnx' ? m.prefill : file === 'decode.onnx' ? m.decode : m.weights);
        },
      },
      {
        method: 'GET',
        path: /\/api\/train-in-page\/([^/]+)/,
        public: true,
        async handle(ctx) {
          const file = ctx.params[0]!;
          const t = inPageTraining();
          if (file === 'manifest.json') return ctx.send(200, t.manifest);
          if (file === 'step.onnx' || file === 'init.bin')
            return binary(ctx, 'application/octet-stream', file === 'step.onnx' ? t.step : t.init);
          throw new HttpError(
            404,
            `No file '${file}'; there are manifest.json, step.onnx, init.bin.`,
            'invalid_request_error',
            null,
            'not_found',
          );
        },
      },
      {
        method: 'GET',
        path: /\/ort\/([^/]+)/,
        public: true,
        async handle(ctx) {
          const file = ctx.params[0]!;
          if (!ORT_FILES.has(file)) throw new HttpError(404, `No runtime file '${file}'.`, 'invalid_request_error', null, 'not_found');
          binary(ctx, file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript; charset=utf-8', await readFile(join(ortDir(), file)));
        },
      },
    ],
  };
}
