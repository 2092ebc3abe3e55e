/**
 * The CLI boundary with a bad output location (issue 21, items 4, 6 and 13): every command that writes
 * says which path cannot be written and why, in one line and a hint, exit status 2, no stack — and
 * the long-running ones say so before their work, not after it. Unwritable places are real: a path
 * under a regular file (ENOTDIR, even for root), a read-only tmpfs and a full 64 KiB tmpfs.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../../src/audio/wav.ts';
import { PROBLEMS } from '../evals/toy-problems.ts';
import { NO_MOUNT, remountReadOnly, tmpfs, unmount } from '../mounts.ts';
import { root, type TonyRun, tony } from '../tony.ts';

const dir = mkdtempSync(join(tmpdir(), 'tony-cli-errors-'));
const file = join(dir, 'a-file'); // a path under it is ENOTDIR
writeFileSync(file, 'x');
const wav = join(dir, 'a.wav');
writeFileSync(wav, encodeWav({ sampleRate: 16000, channels: [Float64Array.from({ length: 16000 }, (_, i) => 0.5 * Math.sin(i / 5))] }));
let readOnly: string | undefined;
let full: string | undefined;
let fills: string | undefined; // room for a run's config and metrics, not for its checkpoint
beforeAll(async () => {
  readOnly = await tmpfs(join(dir, 'ro'), { size: '1m' });
  if (readOnly) {
    writeFileSync(
      join(readOnly, 'problems.jsonl'),
      PROBLEMS.slice(0, 1)
        .map((p) => JSON.stringify(p))
        .join('\n') + '\n',
    );
    writeFileSync(
      join(readOnly, 's.jsonl'),
      JSON.stringify({ task_id: PROBLEMS[0]!.task_id, completion: PROBLEMS[0]!.canonical_solution }) + '\n',
    );
    await remountReadOnly(readOnly);
  }
  full = await tmpfs(join(dir, 'full'), { size: '64k' });
  fills = await tmpfs(join(dir, 'fills'), { size: '256k' });
});
afterAll(async () => {
  await unmount(readOnly);
  await unmount(full);
  await unmount(fills);
  rmSync(dir, { recursive: true, force: true });
});

/** Status 2, the expected first line, a hint, and no stack trace. */
function refused(r: TonyRun, message: string) {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr).toContain(`tony: ${message}\n  hint: `);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}
// ENOTDIR when the path goes on below the file; EEXIST when the file is the directory to create.
const notDir = (path: string, code = 'ENOTDIR') => `cannot write '${path}': a part of the path is a file, not a directory (${code})`;

describe('an output location that cannot be written', () => {
  it('train: before the data is read or the model built', async () => {
    const out = join(file, 'run');
    const r = await tony(['train', 'gpt', '--data', 'src', '--steps', '1', '--out', out]);
    refused(r, notDir(out));
    expect(r.stderr).not.toContain('tony: corpus');
  });

  it('train onto a disk that fills up during the run: the file that did not fit is named', async (ctx) => {
    if (!fills) return ctx.skip(NO_MOUNT);
    const out = join(fills, 'run');
    const r = await tony([
      'train',
      'gpt',
      '--data',
      'src/shape',
      '--ext',
      '.ts',
      '--preset',
      'tiny',
      '--steps',
      '2',
      '--eval-every',
      '2',
      '--max-bytes',
      '100000',
      '--out',
      out,
    ]);
    // The tiny preset's weights alone are 486 kB: the first checkpoint cannot fit in 256 KiB.
    refused(r, `cannot write '${join(out, 'ckpt-2', 'model.safetensors')}': no space left on the device (ENOSPC)`);
  });

  it('shapes generate, on a read-only file system: before any item', async (ctx) => {
    if (!readOnly) return ctx.skip(NO_MOUNT);
    const out = join(readOnly, 'shapes');
    refused(
      await tony(['shapes', 'generate', '--count', '2', '--out', out]),
      `cannot write '${out}': the file system is read-only (EROFS)`,
    );
  });

  it('audio spectrogram, and audio resample onto a full disk', async (ctx) => {
    const png = join(file, 'spec.png');
    refused(await tony(['audio', 'spectrogram', wav, '--out', png]), notDir(png, 'EEXIST'));
    if (!full) return ctx.skip(NO_MOUNT);
    // 1 s at 48 kHz, 16-bit: 96 kB into 64 KiB.
    const out = join(full, 'up.wav');
    refused(
      await tony(['audio', 'resample', wav, '--rate', '48000', '--out', out]),
      `cannot write '${out}': no space left on the device (ENOSPC)`,
    );
    expect(readdirSync(full)).toEqual([]); // no temporary file left behind
  });

  it('scale fit --plot: before the runs are even read', async () => {
    const plot = join(file, 'scaling.svg');
    refused(await tony(['scale', 'fit', join(dir, 'no-such-runs.jsonl'), '--plot', plot]), notDir(plot, 'EEXIST'));
  });

  it('eval results beside read-only samples: before any program runs', async (ctx) => {
    if (!readOnly) return ctx.skip(NO_MOUNT);
    const results = join(readOnly, 's.jsonl_results.jsonl');
    const r = await tony([
      'eval',
      'humaneval',
      '--samples',
      join(readOnly, 's.jsonl'),
      '--problems',
      join(readOnly, 'problems.jsonl'),
      '--k',
      '1',
    ]);
    refused(r, `cannot write '${results}': the file system is read-only (EROFS)`);
    expect(r.stdout).not.toContain('pass@1');
  });
});

describe('tony export', () => {
  it('writes a new directory, and refuses to write over anything there unless --force, and never over a run', async () => {
    const out = join(dir, 'exported');
    expect((await tony(['export', '--run', 'models/code', '--out', out])).status).toBe(0);
    expect(existsSync(join(out, 'config.json'))).toBe(true);
    refused(
      await tony(['export', '--run', 'models/code', '--out', out]),
      `--out '${out}' is not empty (config.json, model.safetensors, state.json, …)`,
    );
    expect((await tony(['export', '--run', 'models/code', '--out', out, '--force'])).status).toBe(0);
    refused(
      await tony(['export', '--run', out, '--out', out, '--force']),
      `--out '${out}' is the --run directory itself: export would overwrite its config.json`,
    );
    const run = join(dir, 'a-run');
    mkdirSync(join(run, 'ckpt-100'), { recursive: true });
    writeFileSync(join(run, 'metrics.jsonl'), '');
    refused(
      await tony(['export', '--run', 'models/code', '--out', run, '--force']),
      `--out '${run}' is a training run: export would overwrite its config.json`,
    );
    refused(await tony(['export', '--run', 'models/code', '--out', join(file, 'm')]), notDir(join(file, 'm')));
  });
});

describe('a reader that stops early', () => {
  it('tony sample | head -2: exits 0, quietly', async () => {
    const child = spawn(
      process.execPath,
      ['bin/tony.js', 'sample', '--model', 'models/code', '--prompt', 'import os\nimport sys\nimport re\n', '--max-tokens', '200'],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // Read two lines, then close the pipe as `head -2` does.
    let seen = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      seen += d;
      if (seen.split('\n').length > 2) child.stdout.destroy();
    });
    const [status, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
    expect(seen.startsWith('import os\nimport sys\n')).toBe(true);
    expect([status, signal], stderr).toEqual([0, null]);
    expect(stderr).not.toMatch(/EPIPE|\n\s+at /);
  });
});
