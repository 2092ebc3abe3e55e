/**
 * The sandbox for untrusted programs (model-written code under evaluation).
 *
 * Each run goes through this chain, every link exec'ing the next, so nothing of the harness stays
 * in between:
 *
 *   sh            joins the run's cgroups (memory, pids, cpu caps; one-shot kill of the whole tree)
 *   prlimit       CPU seconds, file size, open files, no core dumps
 *   setpriv       drops root to `nobody`, clears groups and capabilities, sets no_new_privs
 *   bwrap         new user/pid/net/ipc/uts/cgroup/mount namespaces; no further user namespaces;
 *                 a read-only /usr, a private size-capped /tmp, a minimal /dev, NO /proc; a new
 *                 session; a seccomp deny list (seccomp.ts); dies with its parent
 *   interpreter   /usr/bin/python3 or node, with an empty environment
 *
 * Why no /proc: without it a process cannot read another's memory or file descriptors
 * (/proc/PID/mem, /proc/PID/fd), nor the environment of pid 1, inside the sandbox; the judge
 * (see execute.ts) relies on that. The run's files and secrets never enter: the environment is
 * emptied before `sh` starts, the only host paths visible are /usr (read-only) and Tony's runner
 * scripts (read-only), and data goes in and out through inherited file descriptors.
 *
 * Tony refuses to run untrusted code when a layer is missing (see `probeIsolation`), unless the
 * caller passes `unsafeNoSandbox`, which runs programs as plain child processes with a timeout.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '../config.ts';
import { TonyError } from '../errors.ts';
import { type CgroupLayout, RunCgroup, probeCgroups, sweepStaleGroups } from './cgroups.ts';
import { seccompFilter, seccompSupported } from './seccomp.ts';

/** Caps for one run. Defaults follow the Codex harness (3 s) and leave room for Node's start-up. */
export interface SandboxLimits {
  /** Wall-clock limit; the whole process tree is killed at this point. */
  timeoutMs: number;
  /** Resident memory of the whole tree (cgroup). */
  memoryBytes: number;
  /** Processes and threads of the whole tree (cgroup pids). */
  maxProcesses: number;
  /** CPU cores the tree may use at once (CFS quota). */
  cpus: number;
  /** CPU seconds per process (RLIMIT_CPU). */
  cpuSeconds: number;
  /** Largest file a process may write (RLIMIT_FSIZE). */
  fileBytes: number;
  /** Size of the private /tmp (tmpfs). */
  tmpBytes: number;
  /** Stdout/stderr kept per stream; the rest is read and dropped. */
  outputBytes: number;
  /** Open file descriptors per process (RLIMIT_NOFILE). */
  openFiles: number;
}

export const DEFAULT_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  timeoutMs: 3000,
  memoryBytes: 512 * 2 ** 20,
  maxProcesses: 64,
  cpus: 1,
  cpuSeconds: 10,
  fileBytes: 16 * 2 ** 20,
  tmpBytes: 64 * 2 ** 20,
  outputBytes: 64 * 2 ** 10,
  openFiles: 256,
});

/** Where Tony's trusted runner scripts appear inside the sandbox. */
const RUNNERS_MOUNT = '/tony';
const RUNNERS_HOST = join(dirname(fileURLToPath(import.meta.url)), 'runners');
const NOBODY = 65534;
/** Output fds (verdicts) are small; anything bigger is a protocol violation. */
const MAX_FD_OUTPUT = 4 * 2 ** 20;
/** Unsandboxed runs: how long after the timeout kill to wait for pipes held by escaped processes. */
const UNSAFE_PIPE_GRACE_MS = 200;

/** One isolation layer and whether it works here. */
export interface Layer {
  name: string;
  ok: boolean;
  detail: string;
  /** How to get it, when missing. */
  fix?: string;
  /** Missing optional layers do not stop Tony (python3: only Python problems need it). */
  optional?: boolean;
}

export interface IsolationReport {
  ok: boolean;
  layers: Layer[];
}

/** A program to run: argv (paths as seen inside the sandbox) and the fds it talks through. */
export interface RunSpec {
  argv: string[];
  /** fd (≥ 3) → bytes the program reads from it until EOF. */
  inputs?: Record<number, string | Uint8Array>;
  /** fds (≥ 3) the program writes to; their bytes come back in `RunResult.outputs`. */
  outputs?: number[];
  /** Pairs [from, to]: bytes the program writes to fd `from` are fed to its fd `to` (a relay). */
  relays?: Array<[number, number]>;
}

export interface RunResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  memoryLimitHit: boolean;
  stdout: string;
  stderr: string;
  /** True when stdout or stderr went past `outputBytes` and was cut. */
  outputTruncated: boolean;
  outputs: Record<number, Buffer>;
  wallMs: number;
}

let probed: Promise<IsolationReport & { cgroups?: CgroupLayout; tools: Record<string, string> }> | undefined;

function which(cmd: string): string | undefined {
  for (const dir of ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin']) {
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return join(dir, cmd);
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Check every isolation layer on this machine, ending with a real sandboxed run of
 * `/usr/bin/python3 -c pass` through the whole chain. Cached for the process.
 */
export function probeIsolation(): Promise<IsolationReport> {
  probed ??= (async () => {
    const layers: Layer[] = [];
    const tools: Record<string, string> = {};
    const root = process.getuid?.() === 0;
    const tool = (name: string, pkg: string, why: string) => {
      const path = which(name);
      if (path) tools[name] = path;
      layers.push({ name, ok: !!path, detail: path ? `${path} (${why})` : `${name} not found`, fix: `apt-get install ${pkg}` });
    };
    tool('bwrap', 'bubblewrap', 'namespaces, read-only system, private /tmp');
    tool('prlimit', 'util-linux', 'CPU time, file size, open files');
    if (root) tool('setpriv', 'util-linux', 'drop root to nobody');
    layers.push({
      name: 'seccomp',
      ok: seccompSupported(),
      detail: seccompSupported() ? `deny list for ${process.arch}` : `no syscall table for ${process.arch}`,
      fix: 'run on x86-64 or arm64',
    });
    const cg = probeCgroups();
    layers.push(
      'missing' in cg
        ? { name: 'cgroups', ok: false, detail: cg.missing, fix: 'run as root on a machine with cgroup memory and pids controllers' }
        : { name: 'cgroups', ok: true, detail: `v${cg.version} ${Object.values(cg.parents).join(', ')}` },
    );
    if (!root) layers.push({ name: 'root', ok: false, detail: 'not root: cannot create per-run cgroups', fix: 'run the evaluation as root (e.g. in a container or VM)' });
    const python = which('python3') === '/usr/bin/python3';
    layers.push({ name: 'python3', ok: python, optional: true, detail: python ? '/usr/bin/python3 (Python problems)' : '/usr/bin/python3 not found: Python problems cannot run', fix: 'apt-get install python3' });
    const required = () => layers.every((l) => l.ok || l.optional);
    const report = { ok: required(), layers, tools, cgroups: 'missing' in cg ? undefined : cg };
    if (report.ok) {
      // The real thing: does the whole chain start a program (Node: always there) and get its output back?
      const sb = new Sandbox(false, { ...DEFAULT_LIMITS, timeoutMs: 10_000 }, tools, report.cgroups);
      const r = await sb.run({ argv: [process.execPath, '-e', 'process.stdout.write(String(process.getuid()))'] });
      const ok = r.exitCode === 0 && r.stdout.trim() === String(NOBODY);
      layers.push({
        name: 'full chain',
        ok,
        detail: ok ? 'node ran as nobody inside bwrap with seccomp and cgroups' : `test run failed: exit ${r.exitCode} ${r.signal ?? ''} ${r.stderr.trim().slice(0, 300)}`,
        fix: 'check that unprivileged user namespaces are enabled (sysctl user.max_user_namespaces > 0)',
      });
      report.ok = required();
    }
    return report;
  })();
  return probed;
}

/** A human-readable table of the layers, for errors and `tony eval sandbox`. */
export function formatReport(r: IsolationReport): string {
  return r.layers.map((l) => `  ${l.ok ? 'ok     ' : l.optional ? 'absent ' : 'MISSING'} ${l.name.padEnd(10)} ${l.detail}${l.ok || !l.fix ? '' : `  → ${l.fix}`}`).join('\n');
}

/**
 * Runs untrusted programs. Get one with `Sandbox.open()`; it throws a sandbox TonyError listing what
 * is missing unless every layer works or `unsafeNoSandbox` is set.
 *
 *   const sb = await Sandbox.open();
 *   const r = await sb.run({ argv: ['/usr/bin/python3', '-c', 'print(1)'] });
 */
/** Run counter for cgroup names, shared by every Sandbox in the process so names never collide. */
let runCounter = 0;

export class Sandbox {
  /** Directory of Tony's runner scripts as the program sees it. */
  readonly runners: string;

  constructor(
    readonly unsafe: boolean,
    readonly limits: Readonly<SandboxLimits>,
    private readonly tools: Record<string, string>,
    private readonly cgroups: CgroupLayout | undefined,
  ) {
    this.runners = unsafe ? RUNNERS_HOST : RUNNERS_MOUNT;
  }

  /**
   * `isolation` replaces the machine probe (tests use it to check the refusal; callers that
   * probed already may pass their report).
   */
  static async open(
    options: { unsafeNoSandbox?: boolean; limits?: Partial<SandboxLimits>; isolation?: IsolationReport } = {},
  ): Promise<Sandbox> {
    const limits = resolveConfig('sandbox limits', { ...DEFAULT_LIMITS }, options.limits);
    if (options.unsafeNoSandbox) return new Sandbox(true, limits, {}, undefined);
    const report = (options.isolation ?? (await probeIsolation())) as Awaited<NonNullable<typeof probed>>;
    if (!report.ok) {
      throw new TonyError(
        'sandbox',
        `refusing to run untrusted code: isolation is incomplete on this machine\n${formatReport(report)}`,
        'install what is missing (the → lines), or pass --unsafe-no-sandbox to run programs unisolated (only for code you trust)',
      );
    }
    sweepStaleGroups(report.cgroups!);
    return new Sandbox(false, limits, report.tools, report.cgroups);
  }

  /** Run one program to completion (or the timeout) and collect what it wrote. */
  async run(spec: RunSpec): Promise<RunResult> {
    const lim = this.limits;
    const inputs = { ...spec.inputs };
    const outputs = spec.outputs ?? [];
    const relays = spec.relays ?? [];
    let argv: string[];
    let cg: RunCgroup | undefined;
    let cwd: string | undefined;
    const usedFds = [...Object.keys(inputs).map(Number), ...outputs, ...relays.flat()];
    if (this.unsafe) {
      cwd = mkdtempSync(join(tmpdir(), 'tony-unsafe-'));
      argv = spec.argv.map((a) => (a.startsWith(`${RUNNERS_MOUNT}/`) ? RUNNERS_HOST + a.slice(RUNNERS_MOUNT.length) : a));
    } else {
      const seccompFd = Math.max(2, ...usedFds) + 1;
      inputs[seccompFd] = seccompFilter();
      cg = new RunCgroup(this.cgroups!, `tony-run-${process.pid}-${runCounter++}`, {
        memoryBytes: lim.memoryBytes,
        maxProcesses: lim.maxProcesses,
        cpus: lim.cpus,
      });
      argv = [
        '/bin/sh', '-c', `${cg.procsFiles.map((f) => `echo $$ > '${f}'`).join(' && ')} && exec "$@"`, 'sh',
        this.tools.prlimit!, `--cpu=${lim.cpuSeconds}`, `--fsize=${lim.fileBytes}`, `--nofile=${lim.openFiles}`, '--core=0', '--',
        ...(process.getuid?.() === 0
          ? [this.tools.setpriv!, `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--no-new-privs',
             '--bounding-set=-all', '--inh-caps=-all', '--']
          : []),
        ...this.bwrapArgs(seccompFd),
        ...spec.argv,
      ];
    }

    const maxFd = Math.max(2, ...usedFds, ...Object.keys(inputs).map(Number));
    const stdio: Array<'pipe' | 'ignore'> = Array.from({ length: maxFd + 1 }, (_, fd) =>
      fd === 0 ? 'ignore' : fd <= 2 || fd in inputs || outputs.includes(fd) || relays.some((p) => p.includes(fd)) ? 'pipe' : 'ignore',
    );
    const started = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio,
      env: this.unsafe ? { PATH: '/usr/bin:/bin', HOME: cwd!, LANG: 'C.UTF-8' } : { PATH: '/usr/bin:/bin' },
      cwd: cwd ?? '/',
      detached: this.unsafe, // own process group, so the timeout can kill the whole tree
    });

    let truncated = false;
    const collect = (stream: NodeJS.ReadableStream | null | undefined, cap: number) => {
      const chunks: Buffer[] = [];
      let size = 0;
      stream?.on('data', (b: Buffer) => {
        if (size < cap) chunks.push(b.subarray(0, cap - size));
        else truncated = true;
        size += b.length;
      });
      stream?.on('error', () => {});
      return () => Buffer.concat(chunks);
    };
    const out = collect(child.stdout, lim.outputBytes);
    const err = collect(child.stderr, lim.outputBytes);
    const fdOut = Object.fromEntries(outputs.map((fd) => [fd, collect(child.stdio[fd] as NodeJS.ReadableStream, MAX_FD_OUTPUT)]));
    for (const [fd, data] of Object.entries(inputs)) {
      const w = child.stdio[Number(fd)] as NodeJS.WritableStream & { on: (e: string, f: () => void) => void };
      w.on('error', () => {}); // the program may exit without reading; not our error
      w.end(typeof data === 'string' ? Buffer.from(data) : data);
    }
    for (const [from, to] of relays) {
      const r = child.stdio[from] as NodeJS.ReadableStream;
      const w = child.stdio[to] as NodeJS.WritableStream;
      r.on('error', () => {});
      (w as unknown as { on: (e: string, f: () => void) => void }).on('error', () => {});
      r.pipe(w);
    }

    let timedOut = false;
    const kill = () => {
      cg?.killAll();
      try {
        if (this.unsafe && child.pid) process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        // already exited
      }
      // Unsandboxed, a setsid grandchild escapes the process group and may hold our pipes open;
      // stop waiting for it. (Sandboxed runs cannot: the cgroup kill takes every process.)
      if (this.unsafe) setTimeout(() => child.stdio.forEach((s) => s?.destroy()), UNSAFE_PIPE_GRACE_MS).unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, lim.timeoutMs);
    let exit: { code: number | null; signal: string | null };
    try {
      exit = await new Promise<{ code: number | null; signal: string | null }>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (c, s) => resolve({ code: c, signal: s }));
      });
    } catch (e) {
      clearTimeout(timer);
      cg?.killAll();
      await cg?.remove();
      if (cwd) rmSync(cwd, { recursive: true, force: true });
      throw new TonyError('sandbox', `cannot start ${argv[0]}: ${String(e)}`, 'check the interpreter path');
    }
    const { code, signal } = exit;
    clearTimeout(timer);
    const wallMs = performance.now() - started;
    if (this.unsafe && child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL'); // stray grandchildren of an unsandboxed run
      } catch {
        // group already empty
      }
    }
    const memoryLimitHit = cg?.hitMemoryLimit() ?? false;
    if (cg) {
      cg.killAll();
      await cg.remove();
    }
    if (cwd) rmSync(cwd, { recursive: true, force: true });
    return {
      exitCode: code,
      signal,
      timedOut,
      memoryLimitHit,
      stdout: out().toString('utf8'),
      stderr: err().toString('utf8'),
      outputTruncated: truncated,
      outputs: Object.fromEntries(Object.entries(fdOut).map(([fd, get]) => [Number(fd), get()])),
      wallMs,
    };
  }

  private bwrapArgs(seccompFd: number): string[] {
    const a = [
      this.tools.bwrap!,
      '--unshare-all', '--unshare-user', '--disable-userns', '--die-with-parent', '--new-session',
      '--clearenv', '--setenv', 'PATH', '/usr/bin:/bin', '--setenv', 'HOME', '/tmp', '--setenv', 'LANG', 'C.UTF-8',
      '--hostname', 'sandbox',
      '--ro-bind', '/usr', '/usr',
    ];
    // Merged-/usr systems have /bin → usr/bin etc.; older ones have real directories.
    for (const d of ['bin', 'lib', 'lib64', 'sbin']) {
      let target: string | undefined;
      try {
        target = readlinkSync(`/${d}`);
      } catch {
        // a real directory (or absent)
      }
      if (target) a.push('--symlink', target, `/${d}`);
      else a.push('--ro-bind-try', `/${d}`, `/${d}`);
    }
    a.push('--ro-bind-try', '/etc/ld.so.cache', '/etc/ld.so.cache', '--ro-bind-try', '/etc/localtime', '/etc/localtime');
    // Node installed outside /usr (nvm, tarball): make its tree visible read-only.
    if (!process.execPath.startsWith('/usr/')) {
      const nodeRoot = dirname(dirname(process.execPath));
      a.push('--ro-bind', nodeRoot, nodeRoot);
    }
    a.push(
      '--ro-bind', RUNNERS_HOST, RUNNERS_MOUNT,
      '--dev', '/dev',
      '--size', String(this.limits.tmpBytes), '--tmpfs', '/tmp',
      '--chdir', '/tmp',
      '--seccomp', String(seccompFd),
    );
    return a;
  }
}
