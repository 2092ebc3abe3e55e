/**
 * Running one program under test and deciding its verdict — outside the untrusted process.
 *
 * A HumanEval-style program has three parts: the code under test (prompt + completion [+ suffix]),
 * the problem's reference text (its prompt, canonical solution [and suffix]: trusted dataset text
 * that defines the helpers a test may use), and the test (which defines `check(candidate)`). The
 * reference harness concatenates all three and runs them in one interpreter, so the completion
 * can defeat the test (an early `exit(0)`, a patched `check` or builtin, an always-equal return
 * value). Tony runs the test and the code under test in two processes, each in its own sandbox
 * (see runners/judge.py and runners/judge.cjs), joined by one socket: the judge calls the candidate
 * through a proxy, rebuilds every returned value from plain data, and alone holds the descriptor the
 * verdict comes back on. The candidate has its own pid namespace: it cannot see or signal the judge.
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
/** Judge: spec in, verdict out, socket to the candidate. Candidate: source in, socket to the judge. */
const SPEC_FD = 4;
const VERDICT_FD = 5;
const JUDGE_SOCKET = 6;
const SOURCE_FD = 3;
const CANDIDATE_SOCKET = 4;

/** Run one program in the sandbox and decide its verdict from the judge's descriptor. */
export async function executeProgram(sb: Sandbox, program: Program): Promise<Execution> {
  if (!IDENTIFIER.test(program.entryPoint)) {
    throw new TonyError('data', `entry point '${program.entryPoint}' is not an identifier`, 'fix the problem file');
  }
  let candidate = program.candidate;
  let spec = { reference: program.reference, test: program.test };
  let argv: (role: 'judge' | 'candidate') => string[];
  if (program.language === 'python') {
    argv = (role) => ['/usr/bin/python3', '-I', '-B', '-u', `${sb.runners}/judge.py`, role, program.entryPoint];
  } else {
    const js = (code: string) => (program.language === 'ts' ? transpileTs(code) : code);
    try {
      candidate = js(program.candidate);
    } catch (e) {
      return { result: `failed: ${(e as Error).message.split('\n')[0]}`, passed: false, wallMs: 0, stdout: '', stderr: '' };
    }
    spec = { reference: js(program.reference), test: js(program.test) };
    argv = (role) => [process.execPath, `${sb.runners}/${role}.cjs`, program.entryPoint];
  }
  // The judge is program 0: the run ends when it has written its verdict.
  const [judge, cand] = await sb.runTogether(
    [
      { argv: argv('judge'), inputs: { [SPEC_FD]: JSON.stringify(spec) }, outputs: [VERDICT_FD] },
      { argv: argv('candidate'), inputs: { [SOURCE_FD]: candidate } },
    ],
    [{ a: [0, JUDGE_SOCKET], b: [1, CANDIDATE_SOCKET] }],
  );
  const result = verdict(judge!, cand!);
  return {
    result,
    passed: result === 'passed',
    wallMs: judge!.wallMs,
    stdout: cand!.stdout + judge!.stdout,
    stderr: cand!.stderr + judge!.stderr,
  };
}

/**
 * The verdict is what the judge wrote on its descriptor; exit codes and stdout never count. A
 * failure says which limit stopped the candidate (or the judge), where the sandbox could tell.
 */
function verdict(judge: RunResult, cand: RunResult): string {
  const raw = judge.outputs[VERDICT_FD]?.toString('utf8') ?? '';
  const cause = cand.stoppedBy?.limit !== 'wall time' ? cand.stoppedBy : undefined;
  const because = cause ? ` (stopped by the ${cause.limit} limit: ${cause.by})` : '';
  if (raw) {
    try {
      const v = JSON.parse(raw) as { result?: unknown };
      if (v.result === 'passed') return 'passed';
      if (typeof v.result === 'string') return v.result + because;
    } catch {
      // fall through: a torn verdict means the judge was killed mid-write
    }
  }
  if (cause) return `failed: ${cause.limit} limit exceeded (${cause.by})`;
  if (judge.timedOut) return 'timed out';
  if (judge.stoppedBy) return `failed: judge stopped by the ${judge.stoppedBy.limit} limit (${judge.stoppedBy.by})`;
  const why = judge.signal ? `killed by ${judge.signal}` : `exit code ${judge.exitCode}`;
  const tail = judge.stderr.trim().split('\n').slice(-1)[0] ?? '';
  return `failed: no verdict (${why})${tail ? `: ${tail.slice(0, 200)}` : ''}`;
}

function transpileTs(code: string): string {
  return transformSync(code, { loader: 'ts', format: 'cjs', target: 'node20' }).code;
}
