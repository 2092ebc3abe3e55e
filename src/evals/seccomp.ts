/**
 * A seccomp-BPF deny list for untrusted programs, compiled here into the classic-BPF bytes that
 * bubblewrap loads with `--seccomp FD`.
 *
 * Namespaces, a read-only filesystem and an unprivileged uid already confine the sandbox; the filter
 * removes the kernel surface that confinement does not cover: debugging other processes (ptrace,
 * process_vm_*), creating namespaces or mounts (the usual first step of an escape), kernel modules,
 * keyrings, BPF, perf, io_uring (which bypasses seccomp for the calls it performs), clocks, reboot.
 * Denied calls fail with EPERM so a program sees an ordinary error instead of dying; `clone3` fails
 * with ENOSYS so the C library falls back to `clone` (whose namespace flags need capabilities the
 * sandbox does not have). A foreign architecture (e.g. x32 or 32-bit compat calls) kills the process:
 * syscall numbers there differ and a deny list keyed on numbers would not hold.
 *
 * The program layout (classic BPF, one 8-byte `sock_filter` per instruction):
 *
 *   0  ld   [arch]                 ; seccomp_data.arch
 *   1  jeq  AUDIT_ARCH, 0, →KILL
 *   2  ld   [nr]                   ; seccomp_data.nr
 *   3  jge  X32_BIT, →EPERM        ; x86-64 only: x32 numbers
 *   .  jeq  clone3, →ENOSYS
 *   .  jeq  <denied nr>, →EPERM    ; one per denied call
 *      ret  ALLOW
 *      ret  ERRNO(EPERM) / ERRNO(ENOSYS) / KILL_PROCESS
 */
import { arch, endianness } from 'node:os';

// linux/filter.h and linux/seccomp.h
const BPF_LD_W_ABS = 0x20;
const BPF_JMP_JEQ_K = 0x15;
const BPF_JMP_JGE_K = 0x35;
const BPF_RET_K = 0x06;
const SECCOMP_RET_KILL_PROCESS = 0x80000000;
const SECCOMP_RET_ERRNO = 0x00050000;
const SECCOMP_RET_ALLOW = 0x7fff0000;
const EPERM = 1;
const ENOSYS = 38;
// struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }
const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
const X32_SYSCALL_BIT = 0x40000000;

/** Syscalls denied with EPERM, by name. */
const DENIED_SYSCALLS = [
  'ptrace',
  'process_vm_readv',
  'process_vm_writev',
  'kcmp',
  'pidfd_getfd',
  'mount',
  'umount2',
  'pivot_root',
  'chroot',
  'unshare',
  'setns',
  'mount_setattr',
  'fsopen',
  'fsmount',
  'fsconfig',
  'fspick',
  'move_mount',
  'open_tree',
  'open_by_handle_at',
  'name_to_handle_at',
  'kexec_load',
  'kexec_file_load',
  'init_module',
  'finit_module',
  'delete_module',
  'bpf',
  'perf_event_open',
  'userfaultfd',
  'keyctl',
  'add_key',
  'request_key',
  'io_uring_setup',
  'io_uring_enter',
  'io_uring_register',
  'reboot',
  'swapon',
  'swapoff',
  'syslog',
  'acct',
  'quotactl',
  'lookup_dcookie',
  'fanotify_init',
  'settimeofday',
  'clock_settime',
  'clock_adjtime',
  'adjtimex',
  'sethostname',
  'setdomainname',
  'vhangup',
  'nfsservctl',
  // x86-64 only (absent from the generic table):
  'iopl',
  'ioperm',
  'modify_ldt',
  'uselib',
  '_sysctl',
  'create_module',
  'query_module',
  'get_kernel_syms',
] as const;

type Table = { auditArch: number; x32Check: boolean; nr: Partial<Record<string, number>> };

// Numbers from the kernel's uapi headers: asm/unistd_64.h (x86-64) and asm-generic/unistd.h (arm64).
const TABLES: Record<string, Table> = {
  x64: {
    auditArch: 0xc000003e, // AUDIT_ARCH_X86_64
    x32Check: true,
    nr: {
      ptrace: 101,
      process_vm_readv: 310,
      process_vm_writev: 311,
      kcmp: 312,
      pidfd_getfd: 438,
      mount: 165,
      umount2: 166,
      pivot_root: 155,
      chroot: 161,
      unshare: 272,
      setns: 308,
      mount_setattr: 442,
      fsopen: 430,
      fsmount: 432,
      fsconfig: 431,
      fspick: 433,
      move_mount: 429,
      open_tree: 428,
      open_by_handle_at: 304,
      name_to_handle_at: 303,
      kexec_load: 246,
      kexec_file_load: 320,
      init_module: 175,
      finit_module: 313,
      delete_module: 176,
      bpf: 321,
      perf_event_open: 298,
      userfaultfd: 323,
      keyctl: 250,
      add_key: 248,
      request_key: 249,
      io_uring_setup: 425,
      io_uring_enter: 426,
      io_uring_register: 427,
      reboot: 169,
      swapon: 167,
      swapoff: 168,
      syslog: 103,
      acct: 163,
      quotactl: 179,
      lookup_dcookie: 212,
      fanotify_init: 300,
      settimeofday: 164,
      clock_settime: 227,
      clock_adjtime: 305,
      adjtimex: 159,
      sethostname: 170,
      setdomainname: 171,
      vhangup: 153,
      nfsservctl: 180,
      iopl: 172,
      ioperm: 173,
      modify_ldt: 154,
      uselib: 134,
      _sysctl: 156,
      create_module: 174,
      query_module: 178,
      get_kernel_syms: 177,
      clone3: 435,
    },
  },
  arm64: {
    auditArch: 0xc00000b7, // AUDIT_ARCH_AARCH64
    x32Check: false,
    nr: {
      ptrace: 117,
      process_vm_readv: 270,
      process_vm_writev: 271,
      kcmp: 272,
      pidfd_getfd: 438,
      mount: 40,
      umount2: 39,
      pivot_root: 41,
      chroot: 51,
      unshare: 97,
      setns: 268,
      mount_setattr: 442,
      fsopen: 430,
      fsmount: 432,
      fsconfig: 431,
      fspick: 433,
      move_mount: 429,
      open_tree: 428,
      open_by_handle_at: 265,
      name_to_handle_at: 264,
      kexec_load: 104,
      kexec_file_load: 294,
      init_module: 105,
      finit_module: 273,
      delete_module: 106,
      bpf: 280,
      perf_event_open: 241,
      userfaultfd: 282,
      keyctl: 219,
      add_key: 217,
      request_key: 218,
      io_uring_setup: 425,
      io_uring_enter: 426,
      io_uring_register: 427,
      reboot: 142,
      swapon: 224,
      swapoff: 225,
      syslog: 116,
      acct: 89,
      quotactl: 60,
      lookup_dcookie: 18,
      fanotify_init: 262,
      settimeofday: 170,
      clock_settime: 112,
      clock_adjtime: 266,
      adjtimex: 171,
      sethostname: 161,
      setdomainname: 162,
      vhangup: 58,
      nfsservctl: 42,
      clone3: 435,
    },
  },
};

/** Whether Tony has a syscall table for this CPU architecture (x86-64 and arm64). */
export function seccompSupported(cpu: string = arch()): boolean {
  return cpu in TABLES;
}

/**
 * The filter as bytes for `bwrap --seccomp FD`: an array of `struct sock_filter` in host byte order.
 * Throws on an architecture without a table; callers check `seccompSupported` first.
 */
export function seccompFilter(cpu: string = arch()): Uint8Array {
  const table = TABLES[cpu];
  if (!table) throw new Error(`no seccomp syscall table for architecture '${cpu}'`);
  const denied = DENIED_SYSCALLS.map((n) => table.nr[n]).filter((n): n is number => n !== undefined);

  type Insn = [code: number, jt: number, jf: number, k: number];
  // Jump targets are resolved after layout: the four returns sit at the end, in this order.
  const body: Array<Insn | [code: number, target: 'eperm' | 'enosys' | 'kill', onFalse: boolean, k: number]> = [];
  body.push([BPF_LD_W_ABS, 0, 0, OFFSET_ARCH]);
  body.push([BPF_JMP_JEQ_K, 'kill', true, table.auditArch]);
  body.push([BPF_LD_W_ABS, 0, 0, OFFSET_NR]);
  if (table.x32Check) body.push([BPF_JMP_JGE_K, 'eperm', false, X32_SYSCALL_BIT]);
  body.push([BPF_JMP_JEQ_K, 'enosys', false, table.nr.clone3!]);
  for (const nr of denied) body.push([BPF_JMP_JEQ_K, 'eperm', false, nr]);
  const allowAt = body.length;
  const target = { eperm: allowAt + 1, enosys: allowAt + 2, kill: allowAt + 3 };

  const insns: Insn[] = body.map((ins, i) => {
    if (typeof ins[1] === 'number') return ins as Insn;
    const [code, to, onFalse, k] = ins as [number, keyof typeof target, boolean, number];
    const rel = target[to] - (i + 1); // BPF jumps are relative to the next instruction
    if (rel > 255) throw new Error('seccomp filter too long for 8-bit jumps');
    return onFalse ? [code, 0, rel, k] : [code, rel, 0, k];
  });
  insns.push([BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW]);
  insns.push([BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM]);
  insns.push([BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | ENOSYS]);
  insns.push([BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS]);

  const out = Buffer.alloc(insns.length * 8);
  const le = endianness() === 'LE';
  insns.forEach(([code, jt, jf, k], i) => {
    if (le) out.writeUInt16LE(code, i * 8);
    else out.writeUInt16BE(code, i * 8);
    out.writeUInt8(jt, i * 8 + 2);
    out.writeUInt8(jf, i * 8 + 3);
    if (le) out.writeUInt32LE(k >>> 0, i * 8 + 4);
    else out.writeUInt32BE(k >>> 0, i * 8 + 4);
  });
  return new Uint8Array(out);
}
