/**
 * The sandbox for untrusted programs (model-written code under evaluation), for root and for
 * ordinary users.
 *
 * Each program goes through this chain, every link exec'ing the next, so nothing of the harness
 * stays in between:
 *
 *   sh            (level `full`) joins the program's cgroups: memory, pids and CPU caps, and a
 *                 one-shot kill of the whole tree
 *   setpriv       (root only) drops root to `nobody`, clears groups and capabilities, no_new_privs
 *   bwrap         new user/pid/net/ipc/uts/cgroup/mount namespaces; no further user namespaces; uid
 *                 and gid 65534 inside with a minimal /etc/passwd and /etc/group; a read-only /usr,
 *                 a private size-capped /tmp, a minimal /dev, NO /proc; a new session; a seccomp
 *                 deny list (seccomp.ts); dies with its parent
 *   prlimit       run inside the namespaces: address space, CPU seconds, file size, open files,
 *                 processes (counted in the sandbox's own user namespace, see below), no core dumps
 *   interpreter   /usr/bin/python3 or node, with an empty environment
 *
 * Two levels, by what the user can get (`probeIsolation` picks; `tony eval sandbox` prints it):
 *   full         per-run cgroups can be made (root, or a user with a delegated cgroup, see
 *                cgroups.ts): memory and process counts are capped for the whole run exactly, the
 *                CPU share is capped, and the deadline kills the cgroup.
 *   namespaces   no cgroup for this user (an ordinary account): bubblewrap runs unprivileged in a
 *                user namespace; memory is capped per process by the address-space rlimit, which
 *                counts reserved, not resident, memory (coarser); processes by RLIMIT_NPROC, which
 *                since Linux 5.14 is counted per user namespace, so set *inside* the sandbox it
 *                counts only the sandbox's own processes; the deadline kills bwrap, whose pid
 *                namespace then dies with its init (--die-with-parent). The CPU share is not capped.
 * Both levels give the same verdicts (test/evals/hostile.test.ts runs as root and as a user).
 *
 * Why no /proc: without it a process cannot read another's memory or file descriptors
 * (/proc/PID/mem, /proc/PID/fd), nor the environment of pid 1. The run's files and secrets never
 * enter: the environment is emptied before the chain starts, the only host paths visible are /usr
 * (read-only) and Tony's runner scripts (read-only), and data goes in and out through inherited
 * file descriptors. Programs that must talk (the judge and the candidate, see execute.ts) run in
 * separate sandboxes joined by a socket: neither can see, signal or trace the other.
 *
 * Tony refuses to run untrusted code when a required layer is missing (see `probeIsolation`),
 * unless the caller passes `unsafeNoSandbox`, which runs programs as plain child processes with a
 * timeout.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, copyFileSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '../config.ts';
import { TonyError } from '../errors.ts';
import { type CgroupLayout, probeCgroups, RunCgroup, sweepStaleGroups } from './cgroups.ts';
import { seccompFilter, seccompSupported } from './seccomp.ts';

/** Caps for one program. Defaults follow the Codex harness (3 s) and leave room for Node's start-up. */
export interface SandboxLimits {
  /** Wall-clock limit; every process of the run is killed at this point. */
  timeoutMs: number;
  /** Memory: resident memory of the program's tree (cgroup, level full) and address space per process (rlimit). */
  memoryBytes: number;
  /** Processes and threads of the program's tree (cgroup pids; RLIMIT_NPROC inside the user namespace). */
  maxProcesses: number;
  /** CPU cores the tree may use at once (CFS quota; level full only). */
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

const DEFAULT_LIMITS: Readonly<SandboxLimits> = Object.freeze({
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
const RUNNERS_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'runners');
/**
 * The runners as the sandbox binds them: a world-readable copy in the temp directory, made once per
 * process. bwrap runs as the dropped user (`nobody`), who cannot read a checkout under a private home
 * (mode 700/750, e.g. /root or Ubuntu's /home/<user>): binding the source tree there failed the whole
 * chain with "Can't find source path …/runners: Permission denied".
 */
let runnersCopy: string | undefined;
function runnersHost(): string {
  if (runnersCopy) return runnersCopy;
  const dir = mkdtempSync(join(tmpdir(), 'tony-runners-'));
  for (const f of readdirSync(RUNNERS_SOURCE)) {
    copyFileSync(join(RUNNERS_SOURCE, f), join(dir, f));
    chmodSync(join(dir, f), 0o644);
  }
  chmodSync(dir, 0o755);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  runnersCopy = dir;
  return dir;
}
/** The uid and gid every sandboxed program has inside (root drops to it; users are mapped to it). */
const NOBODY = 65534;
/** Enough of /etc for `pwd.getpwuid(os.getuid())`, `getpass.getuser()` and `id` to work. */
const ETC_PASSWD = `root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:${NOBODY}:${NOBODY}:nobody:/tmp:/usr/sbin/nologin\n`;
const ETC_GROUP = `root:x:0:\nnogroup:x:${NOBODY}:\n`;
/**
 * Node reserves address space it never touches (V8's code range, heap reservations): measured
 * here, node 20 does not start under a 750 MiB address-space limit. A Node program's address-space
 * limit is its memory limit plus this; its JavaScript heap is capped separately (--max-old-space-size).
 */
const NODE_RESERVED_ADDRESS_SPACE = 1024 * 2 ** 20;
/** Output fds (verdicts) are small; anything bigger is a protocol violation. */
const MAX_FD_OUTPUT = 4 * 2 ** 20;
/** Unsandboxed runs: how long after the timeout kill to wait for pipes held by escaped processes. */
const UNSAFE_PIPE_GRACE_MS = 200;
/** What an interpreter prints when its allocation failed (the address-space limit's signature). */
const OUT_OF_MEMORY = /MemoryError|out of memory|Array buffer allocation failed|Cannot allocate memory/;
/** What V8 prints when the JavaScript heap reached --max-old-space-size. */
const V8_HEAP_LIMIT = /Reached heap limit|JavaScript heap out of memory/;
/** Exit status 128 + SIGXCPU: bwrap reports a signal-killed program that way. */
const EXIT_SIGXCPU = 128 + 24;

export type IsolationLevel = 'full' | 'namespaces';

/** One isolation layer and whether it works here. */
interface Layer {
  name: string;
  ok: boolean;
  detail: string;
  /** How to get it, when missing. */
  fix?: string;
  /** Missing optional layers do not stop Tony (python3: only Python problems need it; cgroups: the level drops). */
  optional?: boolean;
}

export interface IsolationReport {
  ok: boolean;
  /** The level runs will use; absent when Tony cannot isolate at all. */
  level?: IsolationLevel;
  layers: Layer[];
}

/** A program to run: argv (paths as seen inside the sandbox) and the fds it talks through. */
export interface RunSpec {
  argv: string[];
  /** fd (≥ 3) → bytes the program reads from it until EOF. */
  inputs?: Record<number, string | Uint8Array>;
  /** fds (≥ 3) the program writes to; their bytes come back in `RunResult.outputs`. */
  outputs?: number[];
}

/** A two-way socket between program `a`'s fd and program `b`'s fd in `runTogether` (a < b). */
export interface Link {
  a: [program: number, fd: number];
  b: [program: number, fd: number];
}

/** Which limit stopped a program, and which layer enforced it. */
export interface StopCause {
  limit: 'memory' | 'cpu time' | 'wall time';
  /** e.g. "cgroup, 512 MiB" or "address-space rlimit, 512 MiB". */
  by: string;
}

export interface RunResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** The cgroup's memory cap was reached (level full only). */
  memoryLimitHit: boolean;
  /** What stopped the program, where it can be known (nothing: it ended by itself or was ended by the run). */
  stoppedBy?: StopCause;
  stdout: string;
  stderr: string;
  /** True when stdout or stderr went past `outputBytes` and was cut. */
  outputTruncated: boolean;
  outputs: Record<number, Buffer>;
  wallMs: number;
}

type Probed = IsolationReport & { cgroups?: CgroupLayout; tools: Record<string, string> };
let probed: Promise<Probed> | undefined;

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

const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;

/**
 * Which layer enforces each limit at `level` (for `tony eval sandbox`, the README and errors).
 * Pairs of [limit, layer].
 */
export function enforcement(level: IsolationLevel, lim: Readonly<SandboxLimits> = DEFAULT_LIMITS): Array<[string, string]> {
  const full = level === 'full';
  return [
    [
      'wall time',
      `${lim.timeoutMs / 1000} s, harness timer → ${full ? 'cgroup kill of every process' : 'SIGKILL to bwrap; the pid namespace dies with its init'}`,
    ],
    [
      'memory',
      full
        ? `cgroup memory cap ${mib(lim.memoryBytes)} (resident, whole tree) + address-space rlimit per process`
        : `address-space rlimit ${mib(lim.memoryBytes)} per process (Node: + ${mib(NODE_RESERVED_ADDRESS_SPACE)} reserve, heap capped by V8); coarser than a cgroup: counts reserved memory, and each process of a tree gets its own`,
    ],
    [
      'processes',
      full
        ? `cgroup pids cap ${lim.maxProcesses} + RLIMIT_NPROC in the sandbox's user namespace`
        : `RLIMIT_NPROC ${lim.maxProcesses}, counted in the sandbox's own user namespace`,
    ],
    ['CPU share', full ? `cgroup CPU quota, ${lim.cpus} core(s)` : 'not capped (no cgroup): a run may use every core until its deadline'],
    ['CPU time', `RLIMIT_CPU ${lim.cpuSeconds} s per process`],
    ['file size', `RLIMIT_FSIZE ${mib(lim.fileBytes)}; /tmp is a private ${mib(lim.tmpBytes)} tmpfs`],
    ['open files', `RLIMIT_NOFILE ${lim.openFiles}`],
    ['network', 'network namespace: loopback only, nothing outside'],
    ['other processes', 'pid namespace per program: the judge and the host are invisible; seccomp denies ptrace'],
    ['files', 'mount namespace: read-only /usr and runners, no /proc, no home, no /work'],
  ];
}

/** One line naming a level and what it guarantees. */
export function describeLevel(level: IsolationLevel): string {
  return level === 'full'
    ? 'full (per-run cgroups + bwrap namespaces as uid 65534 + seccomp + rlimits)'
    : 'namespaces (no cgroup for this user: unprivileged bwrap namespaces + seccomp + rlimits; memory by address-space limit)';
}

/**
 * Check every isolation layer on this machine, ending with a real sandboxed run of node through
 * the whole chain. Cached for the process.
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
    tool('prlimit', 'util-linux', 'address space, CPU time, file size, open files, processes');
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
        ? {
            name: 'cgroups',
            ok: false,
            optional: true,
            detail: `${cg.missing}; limits fall back to rlimits (level namespaces)`,
            fix: 'run as root for exact per-run memory and process caps',
          }
        : { name: 'cgroups', ok: true, detail: `v${cg.version} ${Object.values(cg.parents).join(', ')}` },
    );
    const python = which('python3') === '/usr/bin/python3';
    layers.push({
      name: 'python3',
      ok: python,
      optional: true,
      detail: python ? '/usr/bin/python3 (Python problems)' : '/usr/bin/python3 not found: Python problems cannot run',
      fix: 'apt-get install python3',
    });
    const required = () => layers.every((l) => l.ok || l.optional);
    const cgroups = 'missing' in cg ? undefined : cg;
    const level: IsolationLevel = cgroups ? 'full' : 'namespaces';
    const report: Probed = { ok: required(), layers, tools, cgroups };
    if (report.ok) {
      // The real thing: does the whole chain start a program (Node: always there) and get its output back?
      const sb = new Sandbox(false, { ...DEFAULT_LIMITS, timeoutMs: 10_000 }, tools, cgroups, level);
      const r = await sb.run({ argv: [process.execPath, '-e', 'process.stdout.write(String(process.getuid()))'] });
      const ok = r.exitCode === 0 && r.stdout.trim() === String(NOBODY);
      layers.push({
        name: 'full chain',
        ok,
        detail: ok
          ? `node ran as uid ${NOBODY} inside bwrap with seccomp and rlimits${cgroups ? ' and cgroups' : ''}${root ? '' : ', unprivileged'}`
          : `test run failed: exit ${r.exitCode} ${r.signal ?? ''} ${r.stderr.trim().slice(0, 300)}`,
        fix: 'enable unprivileged user namespaces (sysctl user.max_user_namespaces > 0; on Ubuntu 24.04+ also kernel.apparmor_restrict_unprivileged_userns=0)',
      });
      report.ok = required();
    }
    if (report.ok) report.level = level;
    return report;
  })();
  return probed;
}

/** A human-readable table of the layers, for errors and `tony eval sandbox`. */
export function formatReport(r: IsolationReport): string {
  return r.layers
    .map(
      (l) =>
        `  ${l.ok ? 'ok     ' : l.optional ? 'absent ' : 'MISSING'} ${l.name.padEnd(10)} ${l.detail}${l.ok || !l.fix ? '' : `  → ${l.fix}`}`,
    )
    .join('\n');
}

/** Run counter for cgroup names, shared by every Sandbox in the process so names never collide. */
let runCounter = 0;

/** One started program of a run, while it runs. */
interface Started {
  child: ChildProcess;
  cg?: RunCgroup;
  cwd?: string;
  started: number;
  closed: Promise<{ code: number | null; signal: string | null } | Error>;
  /** Stop taking bytes from the output fds (at the deadline: what comes later is late). */
  freeze: () => void;
  collected: () => Pick<RunResult, 'stdout' | 'stderr' | 'outputTruncated' | 'outputs'>;
}

/**
 * Runs untrusted programs. Get one with `Sandbox.open()`; it throws a sandbox TonyError listing what
 * is missing unless every required layer works or `unsafeNoSandbox` is set.
 *
 *   const sb = await Sandbox.open();
 *   const r = await sb.run({ argv: ['/usr/bin/python3', '-c', 'print(1)'] });
 */
export class Sandbox {
  /** Directory of Tony's runner scripts as the program sees it. */
  readonly runners: string;

  constructor(
    readonly unsafe: boolean,
    readonly limits: Readonly<SandboxLimits>,
    private readonly tools: Record<string, string>,
    private readonly cgroups: CgroupLayout | undefined,
    /** The isolation level runs get (undefined when unsafe). */
    readonly level?: IsolationLevel,
  ) {
    this.runners = unsafe ? runnersHost() : RUNNERS_MOUNT;
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
    const report = (options.isolation ?? (await probeIsolation())) as Probed;
    if (!report.ok || !report.level) {
      throw new TonyError(
        'sandbox',
        `refusing to run untrusted code: isolation is incomplete on this machine\n${formatReport(report)}`,
        'install what is missing (the → lines), or pass --unsafe-no-sandbox to run programs unisolated (only for code you trust)',
      );
    }
    if (report.cgroups) sweepStaleGroups(report.cgroups);
    return new Sandbox(false, limits, report.tools, report.cgroups, report.level);
  }

  /** Run one program to completion (or the timeout) and collect what it wrote. */
  async run(spec: RunSpec): Promise<RunResult> {
    return (await this.runTogether([spec], []))[0]!;
  }

  /**
   * Run programs side by side, each in its own sandbox (own namespaces, own cgroups, own limits),
   * joined only by `links` (a socket pair each). The run ends when program 0 ends: the others are
   * killed then, and all of them at the deadline.
   */
  async runTogether(specs: RunSpec[], links: Link[]): Promise<RunResult[]> {
    for (const l of links) {
      if (!(l.a[0] < l.b[0])) throw new Error('a link goes from an earlier program to a later one');
    }
    const started: Started[] = [];
    let timedOut = false;
    const killAll = () => started.forEach((s) => this.kill(s));
    const timer = setTimeout(() => {
      timedOut = true;
      // Without cgroups the kills reach the processes through bwrap, one sandbox after the other; a
      // judge that outlives its candidate by a moment must not turn a timeout into its verdict.
      started.forEach((s) => s.freeze());
      killAll();
    }, this.limits.timeoutMs);
    try {
      for (const [i, spec] of specs.entries()) {
        // Each socket pair is made by the earlier program's spawn ('pipe' is a socketpair in libuv);
        // the later program inherits the harness's end, which the harness then closes.
        const inherit: Record<number, Readable | Writable> = {};
        const pipes: number[] = [];
        for (const l of links) {
          if (l.a[0] === i) pipes.push(l.a[1]);
          if (l.b[0] === i) inherit[l.b[1]] = started[l.a[0]]!.child.stdio[l.a[1]] as Readable;
        }
        started.push(this.start(spec, pipes, inherit));
      }
    } catch (e) {
      clearTimeout(timer);
      killAll();
      await Promise.all(started.map((s) => this.cleanup(s)));
      throw e;
    }
    for (const l of links) (started[l.a[0]]!.child.stdio[l.a[1]] as Readable | null)?.destroy();
    void started[0]!.closed.then(() => started.slice(1).forEach((s) => this.kill(s)));

    const exits = await Promise.all(started.map((s) => s.closed));
    clearTimeout(timer);
    const results: RunResult[] = [];
    let failure: TonyError | undefined;
    for (const [i, s] of started.entries()) {
      const exit = exits[i]!;
      const wallMs = performance.now() - s.started;
      if (this.unsafe && s.child.pid) {
        try {
          process.kill(-s.child.pid, 'SIGKILL'); // stray grandchildren of an unsandboxed run
        } catch {
          // group already empty
        }
      }
      const memoryLimitHit = s.cg?.hitMemoryLimit() ?? false;
      const oomKilled = s.cg?.oomKilled() ?? false;
      await this.cleanup(s);
      if (exit instanceof Error) {
        failure ??= new TonyError('sandbox', `cannot start ${specs[i]!.argv[0]}: ${String(exit)}`, 'check the interpreter path');
        continue;
      }
      const out = s.collected();
      const r: RunResult = { exitCode: exit.code, signal: exit.signal, timedOut, memoryLimitHit, ...out, wallMs };
      r.stoppedBy = this.stopCause(r, oomKilled, specs[i]!.argv[0] === process.execPath);
      results.push(r);
    }
    if (failure) throw failure;
    return results;
  }

  /**
   * What stopped a program, from what the harness can observe: the cgroup's OOM kills, the
   * interpreter's own out-of-memory report (the address-space limit makes allocations fail), the
   * CPU-time signal, the deadline. The program can fake its stderr, but that only changes the
   * wording of its own failure: the verdict never depends on it.
   */
  private stopCause(r: RunResult, oomKilled: boolean, node: boolean): StopCause | undefined {
    const lim = this.limits;
    if (oomKilled || (r.timedOut && r.memoryLimitHit)) return { limit: 'memory', by: `cgroup, ${mib(lim.memoryBytes)}` };
    if (node && V8_HEAP_LIMIT.test(r.stderr))
      return { limit: 'memory', by: `V8 heap limit (--max-old-space-size), ${mib(lim.memoryBytes)}` };
    if (OUT_OF_MEMORY.test(r.stderr)) {
      return { limit: 'memory', by: `address-space rlimit, ${mib(lim.memoryBytes)}${node ? ' (+ Node reserve)' : ''}` };
    }
    if (r.signal === 'SIGXCPU' || r.exitCode === EXIT_SIGXCPU) return { limit: 'cpu time', by: `RLIMIT_CPU, ${lim.cpuSeconds} s` };
    if (r.timedOut) return { limit: 'wall time', by: `deadline, ${lim.timeoutMs / 1000} s` };
    return undefined;
  }

  /** Start one program (its fds in `pipes` become socket pairs; those in `inherit` get the given streams). */
  private start(spec: RunSpec, pipes: number[], inherit: Record<number, Readable | Writable>): Started {
    const lim = this.limits;
    const inputs: Record<number, string | Uint8Array> = { ...spec.inputs };
    const outputs = spec.outputs ?? [];
    const usedFds = [...Object.keys(inputs).map(Number), ...outputs, ...pipes, ...Object.keys(inherit).map(Number)];
    const node = spec.argv[0] === process.execPath;
    let argv: string[];
    let cg: RunCgroup | undefined;
    let cwd: string | undefined;
    if (this.unsafe) {
      cwd = mkdtempSync(join(tmpdir(), 'tony-unsafe-'));
      argv = spec.argv.map((a) => (a.startsWith(`${RUNNERS_MOUNT}/`) ? runnersHost() + a.slice(RUNNERS_MOUNT.length) : a));
    } else {
      // bwrap reads (and closes) these before the program starts: the seccomp filter, passwd, group.
      const free = Math.max(2, ...usedFds) + 1;
      inputs[free] = seccompFilter();
      inputs[free + 1] = ETC_PASSWD;
      inputs[free + 2] = ETC_GROUP;
      if (this.cgroups) {
        cg = new RunCgroup(this.cgroups, `tony-run-${process.pid}-${runCounter++}`, {
          memoryBytes: lim.memoryBytes,
          maxProcesses: lim.maxProcesses,
          cpus: lim.cpus,
        });
      }
      const addressSpace = lim.memoryBytes + (node ? NODE_RESERVED_ADDRESS_SPACE : 0);
      argv = [
        ...(cg ? ['/bin/sh', '-c', `${cg.procsFiles.map((f) => `echo $$ > '${f}'`).join(' && ')} && exec "$@"`, 'sh'] : []),
        ...(process.getuid?.() === 0
          ? [
              this.tools.setpriv!,
              `--reuid=${NOBODY}`,
              `--regid=${NOBODY}`,
              '--clear-groups',
              '--no-new-privs',
              '--bounding-set=-all',
              '--inh-caps=-all',
              '--',
            ]
          : []),
        ...this.bwrapArgs(free, free + 1, free + 2),
        // Inside the namespaces, so that RLIMIT_NPROC counts this sandbox's processes only. The
        // hard CPU limit is one second above the soft one so SIGXCPU (reportable) comes first.
        this.tools.prlimit!,
        `--as=${addressSpace}`,
        `--cpu=${lim.cpuSeconds}:${lim.cpuSeconds + 1}`,
        `--fsize=${lim.fileBytes}`,
        `--nofile=${lim.openFiles}`,
        `--nproc=${lim.maxProcesses}`,
        '--core=0',
        '--',
        ...(node ? [spec.argv[0]!, `--max-old-space-size=${Math.floor(lim.memoryBytes / 2 ** 20)}`, ...spec.argv.slice(1)] : spec.argv),
      ];
    }

    const maxFd = Math.max(2, ...usedFds, ...Object.keys(inputs).map(Number));
    const stdio: Array<'pipe' | 'ignore' | Readable | Writable> = Array.from({ length: maxFd + 1 }, (_, fd) =>
      fd === 0 ? 'ignore' : (inherit[fd] ?? (fd <= 2 || fd in inputs || outputs.includes(fd) || pipes.includes(fd) ? 'pipe' : 'ignore')),
    );
    const started = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio,
      env: this.unsafe ? { PATH: '/usr/bin:/bin', HOME: cwd!, LANG: 'C.UTF-8' } : { PATH: '/usr/bin:/bin' },
      cwd: cwd ?? '/',
      detached: this.unsafe, // own process group, so the timeout can kill the whole tree
    });
    const closed = new Promise<{ code: number | null; signal: string | null } | Error>((resolve) => {
      child.on('error', resolve);
      child.on('close', (code, signal) => resolve({ code, signal }));
    });

    let truncated = false;
    let frozen = false;
    const collect = (stream: Readable | null | undefined, cap: number, freezes = false) => {
      const chunks: Buffer[] = [];
      let size = 0;
      stream?.on('data', (b: Buffer) => {
        if (freezes && frozen) return;
        if (size < cap) chunks.push(b.subarray(0, cap - size));
        else truncated = true;
        size += b.length;
      });
      stream?.on('error', () => {});
      return () => Buffer.concat(chunks);
    };
    const out = collect(child.stdout, lim.outputBytes);
    const err = collect(child.stderr, lim.outputBytes);
    const fdOut = Object.fromEntries(outputs.map((fd) => [fd, collect(child.stdio[fd] as Readable, MAX_FD_OUTPUT, true)]));
    for (const [fd, data] of Object.entries(inputs)) {
      const w = child.stdio[Number(fd)] as Writable | null;
      w?.on('error', () => {}); // the program may exit without reading; not our error
      w?.end(typeof data === 'string' ? Buffer.from(data) : data);
    }
    for (const fd of pipes) (child.stdio[fd] as Readable | null)?.on('error', () => {});
    return {
      child,
      cg,
      cwd,
      started,
      closed,
      freeze: () => {
        frozen = true;
      },
      collected: () => ({
        stdout: out().toString('utf8'),
        stderr: err().toString('utf8'),
        outputTruncated: truncated,
        outputs: Object.fromEntries(Object.entries(fdOut).map(([fd, get]) => [Number(fd), get()])),
      }),
    };
  }

  private kill(s: Started): void {
    s.cg?.killAll();
    try {
      if (this.unsafe && s.child.pid) process.kill(-s.child.pid, 'SIGKILL');
      else s.child.kill('SIGKILL');
    } catch {
      // already exited
    }
    // Unsandboxed, a setsid grandchild escapes the process group and may hold our pipes open;
    // stop waiting for it. (Sandboxed runs cannot: the pid namespace dies with bwrap.)
    if (this.unsafe) setTimeout(() => s.child.stdio.forEach((x) => x?.destroy()), UNSAFE_PIPE_GRACE_MS).unref();
  }

  private async cleanup(s: Started): Promise<void> {
    if (s.cg) {
      s.cg.killAll();
      await s.cg.remove();
    }
    if (s.cwd) rmSync(s.cwd, { recursive: true, force: true });
  }

  private bwrapArgs(seccompFd: number, passwdFd: number, groupFd: number): string[] {
    const a = [
      this.tools.bwrap!,
      '--unshare-all',
      '--unshare-user',
      '--disable-userns',
      '--die-with-parent',
      '--new-session',
      // Unprivileged, the user's uid is mapped to this; as root, setpriv already made it nobody.
      '--uid',
      String(NOBODY),
      '--gid',
      String(NOBODY),
      '--clearenv',
      '--setenv',
      'PATH',
      '/usr/bin:/bin',
      '--setenv',
      'HOME',
      '/tmp',
      '--setenv',
      'LANG',
      'C.UTF-8',
      '--hostname',
      'sandbox',
      '--ro-bind',
      '/usr',
      '/usr',
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
    a.push('--ro-bind-data', String(passwdFd), '/etc/passwd', '--ro-bind-data', String(groupFd), '/etc/group');
    // Node installed outside /usr (nvm, tarball): make its tree visible read-only.
    if (!process.execPath.startsWith('/usr/')) {
      const nodeRoot = dirname(dirname(process.execPath));
      a.push('--ro-bind', nodeRoot, nodeRoot);
    }
    a.push(
      '--ro-bind',
      runnersHost(),
      RUNNERS_MOUNT,
      '--dev',
      '/dev',
      '--size',
      String(this.limits.tmpBytes),
      '--tmpfs',
      '/tmp',
      '--chdir',
      '/tmp',
      '--seccomp',
      String(seccompFd),
    );
    return a;
  }
}
