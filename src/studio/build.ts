/**
 * The studio's browser bundle, built by esbuild in memory once per process, when the studio starts.
 *
 * Why build at start instead of committing a built bundle: esbuild is already one of Tony's
 * dependencies (src/evals/execute.ts), builds the whole app (three.js and uPlot included) in well
 * under a second, and a bundle made from the sources being served can never be stale — a committed
 * one could, silently, whenever a page changes and the build is forgotten. `npm install` then
 * `npm start` needs no extra step either way (.npmrc's ignore-scripts rules out a postinstall).
 *
 * The page list is generated here: every `app/pages/*.ts` exporting `page` is a page, so a model
 * kind adds its page as one file (the page contract is app/page.ts).
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { TonyError } from '../errors.ts';

const APP = fileURLToPath(new URL('./app/', import.meta.url));

export interface StudioBundle {
  js: Buffer;
  css: Buffer;
}

/** The page modules, in file-name order (each page's `order` decides the menu). */
function pageFiles(): string[] {
  return readdirSync(`${APP}pages`)
    .filter((f) => f.endsWith('.ts'))
    .sort();
}

let cached: Promise<StudioBundle> | undefined;

/** Bundle app/main.ts with every page; built once per process. */
export function studioBundle(): Promise<StudioBundle> {
  cached ??= buildBundle().catch((err: unknown) => {
    cached = undefined;
    throw new TonyError(
      'config',
      `the studio's web app does not build: ${(err as Error).message}`,
      'run npm install (esbuild, three, uplot)',
      {
        cause: err,
      },
    );
  });
  return cached;
}

async function buildBundle(): Promise<StudioBundle> {
  const files = pageFiles();
  const entry = [
    "import { start } from './main.ts';",
    ...files.map((f, i) => `import { page as p${i} } from './pages/${f}';`),
    `start([${files.map((_, i) => `p${i}`).join(', ')}]);`,
  ].join('\n');
  const out = await build({
    stdin: { contents: entry, resolveDir: APP, sourcefile: 'studio-entry.ts', loader: 'ts' },
    bundle: true,
    format: 'esm',
    target: 'chrome110',
    minify: true,
    write: false,
    outdir: 'out', // names the outputs; nothing is written
    entryNames: 'studio',
    logLevel: 'silent',
  });
  const js = out.outputFiles.find((f) => f.path.endsWith('.js'));
  const css = out.outputFiles.find((f) => f.path.endsWith('.css'));
  if (!js) throw new Error('esbuild produced no JavaScript');
  return { js: Buffer.from(js.contents), css: Buffer.from(css?.contents ?? new Uint8Array()) };
}
