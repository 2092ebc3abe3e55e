/**
 * The numbers behind docs/results/evals.md's "root and user side by side" table. Run it once as root
 * and once as an ordinary user:
 *
 *   node --import tsx test/evals/sandbox-report.ts
 *   runuser -u tonytest -- node --import tsx test/evals/sandbox-report.ts
 *
 * It runs the hostile corpus (hostile-corpus.ts) and real HumanEval (fixtures/HumanEval.jsonl.gz:
 * the 164 canonical solutions, which the reference harness passes, and 164 `pass` stubs, which
 * return None) with 2 workers, and prints the isolation level, every verdict, escapes (canary
 * changed, secret in any output, a connection to the host's 127.0.0.1), survivors (processes of the
 * runs left afterwards), seconds, and the machine's load average.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { homedir, loadavg, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProblems } from '../../src/evals/data.ts';
import { executeProgram } from '../../src/evals/execute.ts';
import { evaluateHumanEval } from '../../src/evals/humaneval.ts';
import { Sandbox } from '../../src/evals/sandbox.ts';
import { pool } from '../../src/pool.ts';
import { JS, JS_PROMPT, JS_TEST, PY_PROMPT, PY_TEST, PYTHON } from './hostile-corpus.ts';

const HUMANEVAL = fileURLToPath(new URL('fixtures/HumanEval.jsonl.gz', import.meta.url));
const root = process.getuid?.() === 0;
const secret = `tony-secret-${randomBytes(8).toString('hex')}`;
process.env.TONY_HOSTILE_TEST_SECRET = secret;
// Root: a root-only canary visible under /usr; a user: one in the home directory (invisible inside).
const canary = root ? mkdtempSync('/usr/local/share/tony-canary-') : mkdtempSync(join(homedir(), 'tony-canary-'));
writeFileSync(join(canary, 'secret'), secret, { mode: 0o600 });
writeFileSync(join(canary, 'public'), 'canary', { mode: 0o644 });
const connections: string[] = [];
const server = createServer((s) => s.on('data', (d) => connections.push(d.toString())));
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as AddressInfo).port;
const fill = (s: string) => s.replaceAll('CANARY_DIR', canary).replaceAll('PORT', String(port));

const load0 = loadavg();
const sb = await Sandbox.open({ limits: { timeoutMs: 3000, memoryBytes: 256 * 2 ** 20 } });
process.stdout.write(`user ${userInfo().username} (uid ${process.getuid?.()}), isolation level ${sb.level}\n`);

let output = '';
let wrong = 0;
const hostileStart = performance.now();
for (const [language, corpus, prompt, test, reference] of [
  ['python', PYTHON, PY_PROMPT, PY_TEST, `${PY_PROMPT}    return a + b\n`],
  ['js', JS, JS_PROMPT, JS_TEST, `${JS_PROMPT}  return a + b;\n}\n`],
] as const) {
  const runs = await pool(corpus, 2, (h) =>
    executeProgram(sb, { language, candidate: prompt + fill(h.completion), reference, test, entryPoint: 'add' }),
  );
  runs.forEach((r, i) => {
    const h = corpus[i]!;
    const ok =
      h.expect === 'failed or timed out'
        ? r.result === 'timed out' || r.result.startsWith('failed')
        : h.expect === 'failed'
          ? r.result.startsWith('failed')
          : r.result === h.expect;
    if (!ok || (h.says && !h.says.test(r.result))) wrong++;
    output += r.stdout + r.stderr;
    process.stdout.write(`  ${language.padEnd(6)} ${h.name.padEnd(52)} ${r.result.replaceAll('\n', ' ').slice(0, 110)}\n`);
  });
}
const hostileSeconds = (performance.now() - hostileStart) / 1000;

const byId = await loadProblems(HUMANEVAL);
const taskIds = [...byId.keys()];
const timed = async (completion: (id: string) => string) => {
  const t0 = performance.now();
  const r = await evaluateHumanEval({
    problems: HUMANEVAL,
    samples: taskIds.map((id) => ({ task_id: id, completion: completion(id) })),
    ks: [1],
    workers: 2,
    sandbox: sb,
  });
  return {
    seconds: (performance.now() - t0) / 1000,
    passed: r.results.filter((x) => x.passed).length,
    failedIds: r.results.filter((x) => !x.passed).map((x) => `${x.task_id}: ${x.result.slice(0, 80)}`),
  };
};
const good = await timed((id) => byId.get(id)!.canonical_solution);
const stubs = await timed(() => '    pass\n');

await new Promise((r) => setTimeout(r, 300)); // let the kernel finish tearing namespaces down
const escapes: string[] = [];
if (readFileSync(join(canary, 'public'), 'utf8') !== 'canary') escapes.push('canary overwritten');
if (readdirSync(canary).sort().join() !== 'public,secret') escapes.push(`canary dir now ${readdirSync(canary).join()}`);
if (connections.length) escapes.push(`connections to 127.0.0.1: ${connections.length}`);
if (output.includes(secret)) escapes.push('secret in the output');
const ps = execFileSync('ps', ['-eo', 'pid,user,args'], { encoding: 'utf8' }).split('\n');
const survivors = ps.filter((l) => /\/tony\/(judge\.py|judge\.cjs|candidate\.cjs)|sleep 31\.4159/.test(l));
server.close();
rmSync(canary, { recursive: true, force: true });
const load1 = loadavg();

const summary = {
  user: userInfo().username,
  level: sb.level,
  hostile: { programs: PYTHON.length + JS.length, wrongVerdicts: wrong, seconds: Number(hostileSeconds.toFixed(1)) },
  humaneval: {
    canonical: { passed: good.passed, of: 164, seconds: Number(good.seconds.toFixed(1)), failed: good.failedIds },
    stubs: { passed: stubs.passed, of: 164, seconds: Number(stubs.seconds.toFixed(1)) },
  },
  escapes,
  survivors,
  loadAverage: { before: load0.map((x) => Number(x.toFixed(2))), after: load1.map((x) => Number(x.toFixed(2))) },
};
process.stdout.write(`${JSON.stringify(summary, null, 1)}\n`);
process.exit(wrong || escapes.length || survivors.length ? 1 : 0);
