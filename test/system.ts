/**
 * Tests that need a system program Tony does not ship (espeak-ng, Debian's python3-onnx, bubblewrap).
 *
 * When one is absent, `requires(ctx, need)` skips the test with a note naming the program and the
 * command that installs it, and the run ends with a list of every such test
 * (test/setup/system-reporter.ts) — never a silent pass. Where CI is set, a missing program fails the
 * test instead: CI installs them all (.ci/run's APT_PACKAGES), so nothing may be left out there.
 *
 *   const espeak = program('espeak-ng', 'apt-get install espeak-ng');
 *   it('synthesizes speech', async (ctx) => {
 *     requires(ctx, espeak);
 *     …
 *   });
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'vitest';

/** Notes of tests skipped for a missing program start with this; the reporter lists them. */
export const MISSING_PREFIX = 'missing system program: ';

export interface SystemNeed {
  /** What to install, as the user knows it (the Debian package). */
  name: string;
  /** The command that installs it. */
  install: string;
  /** Why it is missing (evaluated when a test asks), or undefined when present. */
  missing(): string | undefined;
}

/** An executable looked up on PATH, as the code under test looks it up. */
export function program(name: string, install: string, pkg = name): SystemNeed {
  return {
    name: pkg,
    install,
    missing() {
      for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
        try {
          accessSync(join(dir, name), constants.X_OK);
          return undefined;
        } catch {
          /* not in this directory */
        }
      }
      return `'${name}' is not on PATH`;
    },
  };
}

/** A Python module importable by a given interpreter (Debian's python3-* packages live in /usr/bin/python3's path). */
export function pythonModule(module: string, install: string, pkg: string, python = '/usr/bin/python3'): SystemNeed {
  let cached: { why: string | undefined } | undefined;
  return {
    name: pkg,
    install,
    missing() {
      cached ??= (() => {
        const r = spawnSync(python, ['-c', `import ${module}`], { encoding: 'utf8', timeout: 30_000 });
        if (r.error) return { why: `${python} cannot run (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})` };
        return { why: r.status === 0 ? undefined : `${python} cannot import ${module}` };
      })();
      return cached.why;
    },
  };
}

/** Skip the test (or, where CI is set, fail it) unless every need is present. */
export function requires(ctx: TestContext, ...needs: SystemNeed[]): void {
  const absent = needs.map((n) => ({ n, why: n.missing() })).filter((x) => x.why !== undefined);
  if (absent.length === 0) return;
  const note = `${MISSING_PREFIX}${absent.map(({ n, why }) => `${n.name} (${why}; install: ${n.install})`).join(', ')}`;
  if (process.env.CI) throw new Error(`${note} — CI must install every system program the tests use`);
  ctx.skip(note);
}

// The needs shared by several test files, with the Debian package that provides each.
export const ESPEAK_NG = program('espeak-ng', 'apt-get install espeak-ng');
export const PYTHON3_ONNX = pythonModule('onnx', 'apt-get install python3-onnx', 'python3-onnx');
// The safetensors oracle runs on the python3 of PATH (a virtualenv's numpy works too).
export const PYTHON3_NUMPY = pythonModule('numpy', 'apt-get install python3-numpy', 'python3-numpy', 'python3');
export const BUBBLEWRAP = program('bwrap', 'apt-get install bubblewrap', 'bubblewrap');
