#!/usr/bin/env node
// The `tony` command. Tony ships TypeScript sources. Transpiling them through tsx's loader on every
// start cost about a second before any work; so the CLI runs from one JavaScript bundle of
// src/cli/main.ts (esbuild; npm packages stay imports), built on the first start after the
// sources change and cached under $XDG_CACHE_HOME/tony/cli (~/.cache/tony/cli), keyed by the
// sources' contents. Each command's area is its own chunk, loaded only by that command (areas.ts).
//
// TONY_MODEL_KINDS names the user's own TypeScript modules, which import Tony's sources: then the
// CLI runs from the sources through tsx, as one copy of Tony for both.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const src = join(root, 'src');

if (process.env.TONY_MODEL_KINDS) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
} else {
  const entry = await bundle();
  // `tony --help` lists every area's commands, so it would import them all (about a second): its
  // text is kept beside the bundle (per terminal width, which it wraps to) once main.ts wrote it.
  const help = process.argv.length === 3 && ['--help', '-h'].includes(process.argv[2]);
  const text = join(dirname(entry), `help-${process.stdout.columns ?? 'pipe'}.txt`);
  if (help && existsSync(text)) process.stdout.write(readFileSync(text));
  else {
    if (help) process.env.TONY_HELP_CACHE = text;
    await import(pathToFileURL(entry).href);
  }
}

/** The cached bundle's entry for the current sources, building it when there is none. */
async function bundle() {
  const hash = createHash('sha256');
  // Every file esbuild may pull in (the studio's browser app is built separately, at run time).
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (/\.(ts|mts|mjs|js|json)$/.test(e.name)) hash.update(path).update('\0').update(readFileSync(path)).update('\0');
    }
  };
  walk(src);
  hash.update(readFileSync(join(root, 'package.json')));
  hash.update(process.version);
  // The root is part of the key: the bundle holds the sources' absolute paths (see below).
  const place = createHash('sha256').update(root).digest('hex').slice(0, 8);
  const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tony', 'cli');
  const dir = join(cache, `${place}-${hash.digest('hex').slice(0, 16)}`);
  const entry = join(dir, 'main.js');
  if (existsSync(entry)) return entry;

  const { build } = await import('esbuild');
  const tmp = `${dir}.tmp-${process.pid}`;
  await build({
    entryPoints: { main: join(src, 'cli', 'main.ts') },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    outdir: tmp,
    outExtension: { '.js': '.js' },
    logLevel: 'error',
    plugins: [
      {
        // npm packages stay imports, resolved here to their files: the bundle lives outside the
        // package, where Node would not find node_modules.
        name: 'packages-by-path',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) => {
            if (args.kind === 'entry-point' || isBuiltin(args.path)) return undefined;
            return { path: import.meta.resolve(args.path), external: true };
          });
        },
      },
      {
        // Modules find their neighbours (the ONNX Runtime worker, the studio's app, bundled
        // models) through import.meta.url: each keeps its own source file's URL in the bundle.
        name: 'source-urls',
        setup(b) {
          b.onLoad({ filter: /\.(ts|mts|mjs|js)$/ }, (args) => {
            if (args.path.includes(`${join('node_modules', '')}`)) return undefined;
            const text = readFileSync(args.path, 'utf8').replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href));
            return { contents: text, loader: /\.m?ts$/.test(args.path) ? 'ts' : 'js' };
          });
        },
      },
    ],
  });
  // A package.json beside the chunks makes Node read them as ES modules.
  (await import('node:fs')).writeFileSync(join(tmp, 'package.json'), '{"type":"module"}\n');
  mkdirSync(cache, { recursive: true });
  try {
    renameSync(tmp, dir); // atomic: a half-written bundle is never found
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(entry)) throw err; // else another start built it first
  }
  // Bundles of earlier sources of this checkout are dead weight.
  for (const old of readdirSync(cache)) {
    if (old.startsWith(`${place}-`) && join(cache, old) !== dir && !old.includes('.tmp-'))
      rmSync(join(cache, old), { recursive: true, force: true });
  }
  return entry;
}
