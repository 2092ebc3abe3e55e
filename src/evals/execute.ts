/**
 * Running one program under test and deciding its verdict — outside the untrusted process.
 *
 * A HumanEval-style program has three parts: the code under test (prompt + completion [+ suffix]),
 * the problem's reference text (its prompt, canonical solution [and suffix]: trusted dataset text
 * that defines the helpers a test may use), and the test (which defines `check(candidate)`). The
 * reference harness concatenates all three and runs them in one interpreter, so the completion
 * can defeat the test (an early `exit(0)`, a patched `check` or builtin, an always-equal return
 * value). Tony runs the test and the code under test in two processes inside one sandbox (see
 * runners/judge.py and runners/judge.cjs): the judge calls the candidate through a proxy, rebuilds
 * every returned value from plain data, and alone holds the descriptor the verdict comes back on.
 *
 * Threat model: the code under test is arbitrary and may know how Tony works. It can return wrong
 * values, crash, hang, print anything, fork, exhaust memory, and rewrite everything in its own
 * interpreter; none of that reaches the verdict, which is "passed" only if the trusted test, run
 * in a process the candidate cannot read or write, finished without an exception. What is NOT
 * covered: a test that itself trusts something the candidate controls (tests see only the values
 * the candidate returns, so that is limited to returning right answers), and kernel exploits (the
 * sandbox narrows the attack surface — see sandbox.ts — but is not a VM).
 */
import { transformSync } from 'esbuild';
import { TonyError } from '../errors.ts';
import type { RunResult, Sandbox } from './sandbox.ts';

export type Language = 'python' | 'js' | 'ts';
export const LANGUAGES: readonly Language[] = ['python', 'js', 'ts'];

/** The three parts of a program; see the file comment. */
export interface Program {
  language: Language;
  /** prompt + completion [+ suffix]: untrusted. */
  candidate: string;
  /** prompt + canonical solution [+ suffix]: the problem's own text, trusted. */
  reference: string;
  /** Defines `check(candidate)` (or calls the entry point itself). */
  test: string;
  entryPoint: string;
}

export interface Execution {
  /** `passed`, `failed: <reason>` or `timed out`, as the reference harness writes them. */
  result: string;
  passed: boolean;
  wallMs: number;
  /** Captured stdout/stderr of the run (capped), for debugging failures. */
  stdout: string;
  stderr: string;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const VERDICT_FD = 5;

/** Run one program in the sandbox and decide its verdict from the judge's descriptor. */
export async function executeProgram(sb: Sandbox, program: Program): Promise<Execution> {
  if (!IDENTIFIER.test(program.entryPoint)) {
    throw new TonyError('data', `entry point '${program.entryPoint}' is not an identifier`, 'fix the problem file');
  }
  let r: RunResult;
  if (program.language === 'python') {
    r = await sb.run({
      argv: ['/usr/bin/python3', '-I', '-B', '-u', `${sb.runners}/judge.py`, program.entryPoint],
      inputs: { 3: program.candidate, 4: JSON.stringify({ reference: program.reference, test: program.test }) },
      outputs: [VERDICT_FD],
    });
  } else {
    const js = (code: string) => (program.language === 'ts' ? transpileTs(code) : code);
    let candidate: string;
    try {
      candidate = js(program.candidate);
    } catch (e) {
      return { result: `failed: ${(e as Error).message.split('\n')[0]}`, passed: false, wallMs: 0, stdout: '', stderr: '' };
    }
    r = await sb.run({
      argv: [process.execPath, `${sb.runners}/judge.cjs`, program.entryPoint],
      inputs: { 3: candidate, 4: JSON.stringify({ reference: js(program.reference), test: js(program.test) }) },
      outputs: [VERDICT_FD],
      relays: [
        [7, 8], // judge → candidate
        [9, 6], // candidate → judge
      ],
    });
  }
  let result = verdict(r);
  if (result.startsWith('failed') && r.memoryLimitHit && !result.includes('memory')) result += ' (memory limit exceeded)';
  return { result, passed: result === 'passed', wallMs: r.wallMs, stdout: r.stdout, stderr: r.stderr };
}

/** The verdict is what the judge wrote on its descriptor; exit codes and stdout never count. */
function verdict(r: RunResult): string {
  const raw = r.outputs[VERDICT_FD]?.toString('utf8') ?? '';
  if (raw) {
    try {
      const v = JSON.parse(raw) as { result?: unknown };
      if (typeof v.result === 'string') return v.result;
    } catch {
      // fall through: a torn verdict means the judge was killed mid-write
    }
  }
  if (r.timedOut) return 'timed out';
  if (r.memoryLimitHit) return 'failed: memory limit exceeded';
  const why = r.signal ? `killed by ${r.signal}` : `exit code ${r.exitCode}`;
  const tail = r.stderr.trim().split('\n').slice(-1)[0] ?? '';
  return `failed: no verdict (${why})${tail ? `: ${tail.slice(0, 200)}` : ''}`;
}

function transpileTs(code: string): string {
  return transformSync(code, { loader: 'ts', format: 'cjs', target: 'node20' }).code;
}
