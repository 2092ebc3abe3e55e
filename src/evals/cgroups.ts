/**
 * Per-run control groups: a memory cap, a process-count cap, a CPU-share cap, and a way to kill
 * every process of a run at once. Works with cgroup v1 (one hierarchy per controller, as on this
 * project's Firecracker VMs) and v2 (one unified hierarchy with `cgroup.kill`).
 *
 * Why cgroups and not rlimits: RLIMIT_AS breaks Node (it reserves large address ranges; it cannot
 * start under ~512 MiB), and RLIMIT_NPROC counts every process of the uid across all sandboxes (and
 * root ignores it). A cgroup caps exactly the processes of one run, however they fork or `setsid`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = '/sys/fs/cgroup';
/** CFS period for the CPU cap; quota = cpus × period. */
const CPU_PERIOD_US = 100_000;

export interface CgroupLimits {
  memoryBytes: number;
  maxProcesses: number;
  /** CPU cores one run may use (fractional allowed). */
  cpus: number;
}

/** Where a run's cgroups go; found once by `probeCgroups`. */
export interface CgroupLayout {
  version: 1 | 2;
  /** v1: controller name → directory under which Tony creates run groups; v2: one directory. */
  parents: Record<string, string>;
}

/** What this process's cgroup is in each hierarchy, from /proc/self/cgroup. */
function selfCgroups(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
    const [, controllers, path] = line.split(':', 3) as [string, string, string];
    for (const c of controllers.split(',')) out.set(c, path);
  }
  return out;
}

/**
 * Find writable cgroup hierarchies with the memory and pids controllers (cpu is optional). Returns
 * the layout, or the reason none works (controllers missing, read-only cgroupfs, nothing delegated).
 *
 * Root may write anywhere. An ordinary user gets a cgroup only where one was delegated to it: v1, its
 * own group's directories made writable (chown) by an administrator; v2, an ancestor of its own
 * group that it owns with memory and pids available — as systemd delegates `user@UID.service` (a
 * desktop session's apps run there; from an ssh login, `systemd-run --user --scope tony …` puts
 * Tony there).
 */
export function probeCgroups(): CgroupLayout | { missing: string } {
  const root = process.getuid?.() === 0;
  const found = findCgroups(root);
  return 'missing' in found && !root ? { missing: `no cgroup delegated to this user (${found.missing})` } : found;
}

function findCgroups(root: boolean): CgroupLayout | { missing: string } {
  let self: Map<string, string>;
  try {
    self = selfCgroups();
  } catch {
    return { missing: '/proc/self/cgroup unreadable' };
  }
  // v1: separate mounts per controller.
  if (existsSync(join(ROOT, 'memory', 'memory.limit_in_bytes')) || existsSync(join(ROOT, 'memory', 'cgroup.procs'))) {
    const parents: Record<string, string> = {};
    for (const c of ['memory', 'pids', 'cpu']) {
      const dir = join(ROOT, c, self.get(c) ?? '/');
      if (existsSync(dir)) parents[c] = dir;
    }
    if (!parents.memory || !parents.pids) return { missing: 'cgroup v1 memory or pids controller not mounted' };
    if (!tryMkdir(parents.memory) || !tryMkdir(parents.pids)) return { missing: 'cgroup v1 hierarchy not writable' };
    if (parents.cpu && !tryMkdir(parents.cpu)) delete parents.cpu; // the CPU cap is optional
    return { version: 1, parents };
  }
  // v2: unified; run groups must live under a group that delegates memory and pids.
  const unified = existsSync(join(ROOT, 'cgroup.controllers')) ? ROOT : join(ROOT, 'unified');
  if (!existsSync(join(unified, 'cgroup.controllers'))) return { missing: 'no cgroup filesystem at /sys/fs/cgroup' };
  // A v2 group with processes cannot also have controller-enabled children ("no internal
  // processes"), so Tony makes its own parent next to, not under, its own group: at the root for
  // root, in the nearest ancestor the user owns otherwise.
  const own = (self.get('') ?? '/').split('/').filter(Boolean);
  const ancestors = root ? [''] : own.slice(0, -1).map((_, i) => own.slice(0, own.length - 1 - i).join('/'));
  let why = root ? 'cgroup v2 without memory/pids controllers' : "no ancestor of this process's cgroup is writable with memory and pids";
  for (const a of ancestors) {
    const dir = join(unified, a);
    let have: string[];
    try {
      have = readFileSync(join(dir, 'cgroup.controllers'), 'utf8').split(/\s+/);
    } catch {
      continue;
    }
    if (!have.includes('memory') || !have.includes('pids')) continue;
    const parent = join(dir, root ? 'tony-evals' : `tony-evals-${process.getuid?.()}`);
    try {
      mkdirSync(parent, { recursive: true });
    } catch {
      why = `cgroup v2: ${dir} not writable`;
      continue;
    }
    if (
      tryWrite(join(parent, 'cgroup.subtree_control'), '+memory +pids +cpu') ||
      tryWrite(join(parent, 'cgroup.subtree_control'), '+memory +pids')
    ) {
      return { version: 2, parents: { unified: parent } };
    }
    why = 'cgroup v2 hierarchy not writable or controllers not delegated';
  }
  return { missing: why };
}

function tryMkdir(parent: string): boolean {
  const probe = join(parent, `tony-probe-${process.pid}`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
    return true;
  } catch {
    return false;
  }
}

/** One run's group(s): create, join (by the launcher shell), kill, remove. */
export class RunCgroup {
  /** The `cgroup.procs` files a launcher writes its pid into before exec'ing the sandbox. */
  readonly procsFiles: string[];
  private readonly dirs: string[];

  constructor(
    private readonly layout: CgroupLayout,
    name: string,
    limits: CgroupLimits,
  ) {
    this.dirs = Object.values(layout.parents).map((p) => join(p, name));
    for (const d of this.dirs) mkdirSync(d, { recursive: true });
    if (layout.version === 1) {
      const { memory, pids, cpu } = layout.parents;
      writeFileSync(join(memory!, name, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      // No swap on these VMs; where there is, cap memory+swap too so the cap cannot be dodged.
      tryWrite(join(memory!, name, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
      writeFileSync(join(pids!, name, 'pids.max'), String(limits.maxProcesses));
      if (cpu) {
        writeFileSync(join(cpu, name, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
        writeFileSync(join(cpu, name, 'cpu.cfs_quota_us'), String(Math.round(limits.cpus * CPU_PERIOD_US)));
      }
    } else {
      const d = this.dirs[0]!;
      writeFileSync(join(d, 'memory.max'), String(limits.memoryBytes));
      tryWrite(join(d, 'memory.swap.max'), '0');
      writeFileSync(join(d, 'pids.max'), String(limits.maxProcesses));
      tryWrite(join(d, 'cpu.max'), `${Math.round(limits.cpus * CPU_PERIOD_US)} ${CPU_PERIOD_US}`);
    }
    this.procsFiles = this.dirs.map((d) => join(d, 'cgroup.procs'));
  }

  /** Pids still in the run's group (v1: read from the pids hierarchy, which every run joins). */
  pids(): number[] {
    const file = this.layout.version === 1 ? join(this.layout.parents.pids!, this.name(), 'cgroup.procs') : this.procsFiles[0]!;
    try {
      return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /** Whether the memory cap was hit during the run (the kernel's OOM killer then killed something). */
  hitMemoryLimit(): boolean {
    try {
      if (this.layout.version === 1) {
        // With memory+swap capped too, the kernel may count the hit on either counter.
        const dir = join(this.layout.parents.memory!, this.name());
        const count = (f: string) => {
          try {
            return Number(readFileSync(join(dir, f), 'utf8'));
          } catch {
            return 0;
          }
        };
        const oom = /oom_kill (\d+)/.exec(readFileSync(join(dir, 'memory.oom_control'), 'utf8'));
        return count('memory.failcnt') > 0 || count('memory.memsw.failcnt') > 0 || Number(oom?.[1] ?? 0) > 0;
      }
      const events = readFileSync(join(this.dirs[0]!, 'memory.events'), 'utf8');
      return /oom_kill [1-9]/.test(events) || /max [1-9]/.test(events);
    } catch {
      return false;
    }
  }

  /** Whether the kernel's OOM killer killed a process of the group (the memory cap stopped it). */
  oomKilled(): boolean {
    try {
      const file =
        this.layout.version === 1
          ? join(this.layout.parents.memory!, this.name(), 'memory.oom_control')
          : join(this.dirs[0]!, 'memory.events');
      return Number(/oom_kill (\d+)/.exec(readFileSync(file, 'utf8'))?.[1] ?? 0) > 0;
    } catch {
      return false;
    }
  }

  /**
   * SIGKILL every process in the group. v2 has `cgroup.kill`; v1 loops over `cgroup.procs` until it
   * is empty (the pids cap bounds how many a fork bomb can make between two passes).
   */
  killAll(): void {
    if (this.layout.version === 2 && tryWrite(join(this.dirs[0]!, 'cgroup.kill'), '1')) return;
    for (let pass = 0; pass < 100; pass++) {
      const pids = this.pids();
      if (pids.length === 0) return;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }

  /** Remove the group(s); retries briefly while the kernel finishes reaping. */
  async remove(): Promise<void> {
    for (const d of this.dirs) {
      for (let i = 0; i < 50; i++) {
        try {
          rmdirSync(d);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
          this.killAll();
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    }
  }

  private name(): string {
    return this.dirs[0]!.split('/').pop()!;
  }
}

function tryWrite(file: string, value: string): boolean {
  try {
    writeFileSync(file, value);
    return true;
  } catch {
    return false;
  }
}

/** Remove leftover run groups of dead Tony processes (a crash between create and remove). */
export function sweepStaleGroups(layout: CgroupLayout): void {
  for (const parent of Object.values(layout.parents)) {
    let names: string[] = [];
    try {
      names = readdirSync(parent).filter((n) => n.startsWith('tony-run-'));
    } catch {
      continue;
    }
    for (const n of names) {
      const pid = Number(n.split('-')[2]);
      if (pid && pidAlive(pid)) continue;
      try {
        rmdirSync(join(parent, n));
      } catch {
        // still has processes or already gone
      }
    }
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
