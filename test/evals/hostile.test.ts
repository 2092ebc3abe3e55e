// The hostile corpus (hostile-corpus.ts) against the real sandbox: nothing escapes, every program
// gets the right verdict, and the harness keeps going — as root (isolation level full) and as an
// ordinary user (level namespaces): .ci/run runs this file both ways. Needs bubblewrap.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { probeCgroups } from '../../src/evals/cgroups.ts';
import { executeProgram } from '../../src/evals/execute.ts';
import { Sandbox } from '../../src/evals/sandbox.ts';
import { BUBBLEWRAP, requires } from '../system.ts';
import { type Hostile, JS, JS_PROMPT, JS_TEST, MEMORY, PY_PROMPT, PY_TEST, PYTHON } from './hostile-corpus.ts';

const root = process.getuid?.() === 0;
const SECRET = `tony-secret-${randomBytes(8).toString('hex')}`;
const SECRET_VAR = 'TONY_HOSTILE_TEST_SECRET';
// As root: visible inside the sandbox (under the read-only /usr) but owned by root, which tests the
// privilege drop. As a user: a root-owned directory CI made under /usr (TONY_HOSTILE_CANARY_DIR,
// whose `secret` holds the value of TONY_HOSTILE_CANARY_SECRET), else one in the user's home, which
// the sandbox must not show at all.
const CANARY_DIR = root
  ? `/usr/local/share/tony-canary-${process.pid}`
  : (process.env.TONY_HOSTILE_CANARY_DIR ?? mkdtempSync(join(homedir(), 'tony-canary-')));
const OWN_CANARY = root || !process.env.TONY_HOSTILE_CANARY_DIR;
const CANARY_SECRET = OWN_CANARY ? SECRET : process.env.TONY_HOSTILE_CANARY_SECRET!;
const connections: string[] = [];
const server = createServer((s) => s.on('data', (d) => connections.push(d.toString())));
let port = 0;
let sb: Sandbox;
/**
 * The memory bombs run with a longer deadline: they end when they reach the memory limit, which on
 * a loaded machine can take longer than the 3 s the other programs get, and then the verdict would
 * be "timed out" instead of the memory limit they must be reported as.
 */
let sbMemory: Sandbox;

// Without bubblewrap the tests are reported as not run, naming the package (test/system.ts).
beforeEach((ctx) => requires(ctx, BUBBLEWRAP));
beforeAll(async () => {
  if (BUBBLEWRAP.missing()) return;
  process.env[SECRET_VAR] = SECRET;
  if (OWN_CANARY) {
    mkdirSync(CANARY_DIR, { recursive: true });
    chmodSync(CANARY_DIR, 0o755);
    writeFileSync(`${CANARY_DIR}/secret`, SECRET, { mode: 0o600 });
    writeFileSync(`${CANARY_DIR}/public`, 'canary', { mode: 0o644 });
  }
  expect(readFileSync(`${CANARY_DIR}/public`, 'utf8')).toBe('canary');
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  sb = await Sandbox.open({ limits: { timeoutMs: 3000, memoryBytes: 256 * 2 ** 20 } });
  sbMemory = await Sandbox.open({ limits: { timeoutMs: 20_000, memoryBytes: 256 * 2 ** 20 } });
  if (root) expect(sb.level).toBe('full');
});

afterAll(() => {
  delete process.env[SECRET_VAR];
  if (OWN_CANARY) rmSync(CANARY_DIR, { recursive: true, force: true });
  server.close();
});

const fill = (s: string) => s.replaceAll('CANARY_DIR', CANARY_DIR).replaceAll('PORT', String(port));

function checkVerdict(h: Hostile, result: string) {
  if (h.expect === 'failed') expect(result.startsWith('failed'), `${h.name}: ${result}`).toBe(true);
  else if (h.expect === 'failed or timed out')
    expect(result === 'timed out' || result.startsWith('failed'), `${h.name}: ${result}`).toBe(true);
  else expect(result, h.name).toBe(h.expect);
  if (h.says) expect(result, h.name).toMatch(h.says);
}

async function runCorpus(language: 'python' | 'js', corpus: Hostile[], prompt: string, test: string, reference: string) {
  const outputs: string[] = [];
  // Two at a time, as the harness runs them.
  for (let i = 0; i < corpus.length; i += 2) {
    const batch = corpus.slice(i, i + 2);
    const runs = await Promise.all(
      batch.map((h) =>
        executeProgram(h.says === MEMORY ? sbMemory : sb, {
          language,
          candidate: prompt + fill(h.completion),
          reference,
          test,
          entryPoint: 'add',
        }),
      ),
    );
    runs.forEach((r, j) => {
      checkVerdict(batch[j]!, r.result);
      outputs.push(r.stdout + r.stderr);
    });
  }
  return outputs.join('\n');
}

function assertNothingEscaped(output: string) {
  expect(readFileSync(`${CANARY_DIR}/public`, 'utf8')).toBe('canary');
  expect(readdirSync(CANARY_DIR).sort()).toEqual(['public', 'secret']);
  expect(connections).toEqual([]);
  expect(output).not.toContain(SECRET);
  expect(output).not.toContain(CANARY_SECRET);
  expect(output).not.toContain('CONNECTED');
  expect(output).not.toMatch(/READ \/etc\/shadow/);
  // No process of any run is left: not the setsid grandchild, not the fork bomb's children.
  const ps = execFileSync('ps', ['-eo', 'user,args'], { encoding: 'utf8' });
  expect(ps).not.toContain('sleep 31.4159');
  // Every run's cgroup is gone, so none of this process's runs has a process left (other test files
  // may be running sandboxes of their own at the same time, so `ps` alone cannot tell).
  const layout = probeCgroups();
  if ('missing' in layout) return; // level namespaces: no cgroups; `ps` above and the pid namespaces cover it
  for (const parent of Object.values(layout.parents)) {
    expect(readdirSync(parent).filter((n) => n.startsWith(`tony-run-${process.pid}-`))).toEqual([]);
  }
}

describe('hostile Python programs', () => {
  it('get the right verdicts and nothing escapes', async () => {
    const out = await runCorpus('python', PYTHON, PY_PROMPT, PY_TEST, `${PY_PROMPT}    return a + b\n`);
    assertNothingEscaped(out);
    // The probes ran and were stopped by the layer meant to stop them.
    expect(out).toMatch(/SYSCALL ptrace -1 Operation not permitted/);
    expect(out).toMatch(/SYSCALL unshare -1 Operation not permitted/);
    expect(out).toMatch(/SYSCALL mount -1 Operation not permitted/);
    // Root-owned and visible: the uid drop stops it. The user's own canary: not even visible.
    expect(out).toContain(`denied ${CANARY_DIR}/secret [Errno ${root || !OWN_CANARY ? '13] Permission denied' : '2] No such file'}`);
    expect(out).toMatch(/Read-only file system/);
    expect(out).toMatch(/net blocked/);
    // Issue 21 item 17: the candidate's pid namespace holds only itself and its init — no judge.
    expect(out).toContain('VISIBLE [1]\n');
  });

  it('keeps going: a correct program still passes afterwards', async () => {
    const r = await executeProgram(sb, {
      language: 'python',
      candidate: `${PY_PROMPT}    return a + b\n`,
      reference: `${PY_PROMPT}    return a + b\n`,
      test: PY_TEST,
      entryPoint: 'add',
    });
    expect(r.result).toBe('passed');
  });
});

describe('hostile JavaScript programs', () => {
  it('get the right verdicts and nothing escapes', async () => {
    const out = await runCorpus('js', JS, JS_PROMPT, JS_TEST, `${JS_PROMPT}  return a + b;\n}\n`);
    assertNothingEscaped(out);
    expect(out).toMatch(/denied write (EROFS|EACCES|ENOENT)/);
    expect(out).toContain('VISIBLE [1]\n');
    expect(out).toMatch(/net blocked/);
  });
});
