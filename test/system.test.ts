// The suite's guards: tests that need an absent system program are reported by name with the
// install command (never silently passed), and a test that blocks its worker's event loop fails,
// named, before it can time out vitest's RPC and fail a whole run (issue 21, items 1 and 2).
import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { program, pythonModule, requires } from './system.ts';
import { root } from './tony.ts';

const dir = mkdtempSync(join(tmpdir(), 'tony-system-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const withPath = <T>(path: string, f: () => T): T => {
  const saved = process.env.PATH;
  process.env.PATH = path;
  try {
    return f();
  } finally {
    process.env.PATH = saved;
  }
};

describe('system programs', () => {
  it('finds a program only where PATH has an executable of that name', () => {
    const need = program('tony-fake-tool', 'apt-get install tony-fake-tool');
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    withPath(`/nonexistent:${bin}`, () => expect(need.missing()).toBe("'tony-fake-tool' is not on PATH"));
    writeFileSync(join(bin, 'tony-fake-tool'), '#!/bin/sh\n');
    chmodSync(join(bin, 'tony-fake-tool'), 0o644); // there, but not executable
    withPath(`/nonexistent:${bin}`, () => expect(need.missing()).toBe("'tony-fake-tool' is not on PATH"));
    chmodSync(join(bin, 'tony-fake-tool'), 0o755);
    withPath(`/nonexistent:${bin}`, () => expect(need.missing()).toBeUndefined());
    withPath('/nonexistent', () => expect(need.missing()).toBe("'tony-fake-tool' is not on PATH"));
  });

  it('checks Python modules with the interpreter the tests use', () => {
    // A stand-in interpreter that has exactly one module, json.
    const py = join(dir, 'fake-python3');
    writeFileSync(py, '#!/bin/sh\n[ "$1" = "-c" ] && [ "$2" = "import json" ]\n');
    chmodSync(py, 0o755);
    expect(pythonModule('json', 'x', 'x', py).missing()).toBeUndefined();
    expect(pythonModule('onnx', 'apt-get install python3-onnx', 'python3-onnx', py).missing()).toBe(`${py} cannot import onnx`);
    expect(pythonModule('json', 'x', 'x', '/nonexistent/python3').missing()).toBe('/nonexistent/python3 cannot run (ENOENT)');
  });

  it('fails instead of skipping where CI is set: CI installs everything', () => {
    const need = program('tony-fake-tool-2', 'apt-get install tony-fake-tool-2');
    const ctx = {
      skip: (note: string) => {
        throw new Error(`skipped: ${note}`);
      },
    } as never;
    const saved = process.env.CI;
    try {
      process.env.CI = 'true';
      expect(() => requires(ctx, need)).toThrow(/missing system program: tony-fake-tool-2 .*CI must install every system program/);
      delete process.env.CI;
      expect(() => requires(ctx, need)).toThrow(
        "skipped: missing system program: tony-fake-tool-2 ('tony-fake-tool-2' is not on PATH; install: apt-get install tony-fake-tool-2)",
      );
    } finally {
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
    }
  });

  it('a run with espeak-ng hidden lists the test it did not run, with the install command; a loop-blocking test fails', async () => {
    // The suite's own config on a fixture file, in a child vitest: PATH hides every program, and the
    // event-loop limit is lowered to 200 ms so that the fixture's 800 ms spin trips it.
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: '/nonexistent', TONY_TEST_BLOCK_LIMIT_MS: '200', NO_COLOR: '1' };
    delete env.CI;
    const args = [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '-c', 'test/setup/fixtures/vitest.config.ts'];
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, out).toBe(1);
    expect(out).toContain('NOT RUN — 1 test(s) skipped because a system program is missing');
    expect(out).toContain(
      "espeak-ng ('espeak-ng' is not on PATH; install: apt-get install espeak-ng)\n    - test/setup/fixtures/guards.fixture.ts > synthesizes speech",
    );
    expect(out).toMatch(/test 'blocks the event loop' blocked its worker's event loop for \d+\.\d s \(limit 0\.2 s/);
    expect(out).toMatch(/Tests +1 failed \| 1 passed \| 1 skipped \(3\)/);
  });
});

describe('npm and the project .npmrc', () => {
  it('reads it without a warning, and skips dependency install scripts (onnxruntime-node would download CUDA files)', async () => {
    // Without the npm_* variables of an npm that may have started this run: only the files speak.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    const { stdout, stderr } = await promisify(execFile)('npm', ['config', 'get', 'ignore-scripts'], { cwd: root, env, encoding: 'utf8' });
    expect(stdout.trim()).toBe('true');
    expect(stderr).not.toMatch(/warn/i);
  });
});
