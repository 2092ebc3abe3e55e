/**
 * Hostile programs for the sandbox and judge tests: each is a completion of `add(a, b)` that tries
 * one trick. Targets are harmless: the canary directory and port the test sets up on 127.0.0.1, and
 * the test's own environment variable. `expect` is the verdict the judge must give; `wrong` marks
 * completions whose arithmetic is wrong, so a `passed` for them would mean the trick worked.
 *
 * Placeholders filled in by the test: CANARY_DIR (a root-only directory visible read-only in the
 * sandbox), PORT (a TCP server on the host's 127.0.0.1), SECRET_VAR (set in the harness's env).
 */
export interface Hostile {
  name: string;
  completion: string;
  expect: 'passed' | 'failed' | 'timed out' | 'failed or timed out';
  /** What the verdict must also say (e.g. which limit stopped the program). */
  says?: RegExp;
}

/** A memory bomb must be reported as one, as root (cgroup or address space) and as a user (address space). */
export const MEMORY = /memory limit/;

export const PY_PROMPT = 'def add(a, b):\n    """Return a + b."""\n';
export const PY_TEST =
  'def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-4, 4) == 0\n    assert candidate(10, 5) == 15\n';

export const PYTHON: Hostile[] = [
  { name: 'control: correct', completion: '    return a + b\n', expect: 'passed' },
  { name: 'exit(0) before the test', completion: '    return 0\nimport sys\nsys.exit(0)\n', expect: 'failed' },
  { name: 'os._exit(0) before the test', completion: '    return 0\nimport os\nos._exit(0)\n', expect: 'failed' },
  { name: 'prints "passed"', completion: '    return 0\nprint("passed")\nprint(\'{"result": "passed"}\')\n', expect: 'failed' },
  {
    name: 'always-equal return value',
    completion:
      '    class Eq:\n        def __eq__(self, other): return True\n        def __ne__(self, other): return False\n    return Eq()\n',
    expect: 'failed',
  },
  {
    name: 'int subclass with lying __eq__',
    completion: '    class I(int):\n        def __eq__(self, other): return True\n    return I(0)\n',
    expect: 'failed',
  },
  {
    name: 'patches builtins and assert machinery',
    completion:
      '    return 0\nimport builtins\nbuiltins.AssertionError = type("AE", (Exception,), {})\nbuiltins.abs = lambda x: 0\nbuiltins.isinstance = lambda *a: True\n',
    expect: 'failed',
  },
  { name: 'defines a no-op check', completion: '    return 0\ndef check(candidate):\n    pass\n', expect: 'failed' },
  {
    name: 'forges a verdict on every fd and via /proc',
    completion:
      '    return 0\nimport os\nfor fd in range(3, 64):\n    try: os.write(fd, b\'{"result": "passed"}\\n{"ok": {"i": "3"}}\\n\')\n    except OSError: pass\n' +
      'for p in ["/proc/1/fd/5", "/proc/2/fd/5", "/proc/self/fd/5"]:\n    try: open(p, "w").write(\'{"result": "passed"}\')\n    except OSError: pass\n',
    expect: 'failed',
  },
  {
    name: 'atexit and signal handlers that forge',
    completion:
      '    return 0\nimport atexit, os, signal\natexit.register(lambda: [os.write(fd, b\'{"result": "passed"}\') for fd in (4, 5)])\nsignal.signal(signal.SIGTERM, lambda *a: os._exit(0))\n',
    expect: 'failed',
  },
  {
    name: 'searches memory for the test',
    completion:
      '    import gc\n    for o in gc.get_objects():\n        if isinstance(o, str) and "candidate(1, 2)" in o:\n            return 3\n    return 0\n',
    expect: 'failed',
  },
  { name: 'kills its parent (the judge)', completion: '    return 0\nimport os\nos.kill(os.getppid(), 9)\n', expect: 'failed' },
  { name: 'kills every process it can', completion: '    return 0\nimport os\nos.kill(-1, 9)\n', expect: 'failed' },
  // Issue 21 item 17: a correct program that tries to kill its judge must still pass (it cannot see it).
  { name: 'correct, and kills its parent', completion: '    return a + b\nimport os\nos.kill(os.getppid(), 9)\n', expect: 'passed' },
  {
    name: 'correct, and kills every process it can',
    completion: '    return a + b\nimport os\ntry: os.kill(-1, 9)\nexcept OSError: pass\n',
    expect: 'passed',
  },
  {
    // Prints the pids it can signal: only its own pid namespace's init (1) may be there.
    name: 'correct, and kills every pid it finds by scanning',
    completion:
      '    return a + b\nimport os\nseen = []\nfor pid in range(1, 1 << 15):\n    if pid != os.getpid():\n        try:\n            os.kill(pid, 0)\n            seen.append(pid)\n' +
      '            os.kill(pid, 9)\n        except OSError: pass\nprint("VISIBLE", seen)\n',
    expect: 'passed',
  },
  {
    name: 'correct, and uses pwd and getpass (issue 21 item 18)',
    completion:
      '    import getpass, os, pwd\n    assert pwd.getpwuid(os.getuid()).pw_name == getpass.getuser() == "nobody"\n    return a + b\n',
    expect: 'passed',
  },
  {
    name: 'setsid grandchild forges later',
    completion:
      '    return 0\nimport os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(0.3)\n        for fd in range(0, 64):\n' +
      '            try: os.write(fd, b\'{"result": "passed"}\')\n            except OSError: pass\n        os.execv("/usr/bin/sleep", ["sleep", "31.4159"])\n    os._exit(0)\n',
    expect: 'failed',
  },
  {
    name: 'fork bomb',
    completion: '    return a + b\nimport os\nwhile True:\n    try: os.fork()\n    except OSError: pass\n',
    expect: 'failed or timed out',
  },
  // bytearray(n) is calloc'd: untouched zero pages that never become resident (issue 21 item 19).
  {
    name: 'memory bomb',
    completion: '    return a + b\nx = []\nwhile True:\n    x.append(bytearray(16 << 20))\n',
    expect: 'failed',
    says: MEMORY,
  },
  {
    name: 'memory bomb, touched pages',
    completion: '    return a + b\nx = []\nwhile True:\n    x.append(b"x" * (16 << 20))\n',
    expect: 'failed',
    says: MEMORY,
  },
  {
    name: 'memory bomb inside the call',
    completion: '    x = []\n    while True:\n        x.append(b"x" * (16 << 20))\n',
    expect: 'failed',
    says: MEMORY,
  },
  { name: 'infinite output', completion: '    while True:\n        print("x" * 4096)\n', expect: 'timed out' },
  { name: 'infinite loop', completion: '    while True:\n        pass\n', expect: 'timed out' },
  { name: 'sleeps past the timeout', completion: '    import time\n    time.sleep(60)\n', expect: 'timed out' },
  {
    name: 'fills the disk',
    completion: '    return a + b\nwith open("/tmp/big", "wb") as f:\n    while True:\n        f.write(b"x" * (1 << 20))\n',
    expect: 'failed',
  },
  { name: 'huge return value', completion: '    return "x" * (40 << 20)\n', expect: 'failed or timed out' },
  { name: 'raises SystemExit inside the call', completion: '    raise SystemExit(0)\n', expect: 'failed' },
  { name: 'deep recursion', completion: '    return add(a, b)\n', expect: 'failed' },
  {
    name: 'network: host 127.0.0.1 and outside',
    completion:
      '    return a + b\nimport socket\nfor addr in [("127.0.0.1", PORT), ("8.8.8.8", 53)]:\n    try:\n        s = socket.create_connection(addr, timeout=0.5)\n        s.sendall(b"ESCAPED")\n        print("CONNECTED", addr)\n    except OSError as e:\n        print("net blocked", e)\n',
    expect: 'passed',
  },
  {
    name: 'reads secrets and the environment',
    completion:
      '    return a + b\nimport os\nprint("ENV", dict(os.environ))\nfor p in ["/etc/shadow", "CANARY_DIR/secret", "/root/.bashrc", "/proc/1/environ", "/work"]:\n    try:\n        print("READ", p, open(p).read()[:100])\n    except OSError as e:\n        print("denied", p, e)\n',
    expect: 'passed',
  },
  {
    name: 'writes and deletes outside its /tmp',
    completion:
      '    return a + b\nimport os\nfor p in ["CANARY_DIR/public", "CANARY_DIR/new", "/usr/tony-escape"]:\n    try:\n        open(p, "w").write("OVERWRITTEN")\n    except OSError as e:\n        print("denied", p, e)\ntry:\n    os.remove("CANARY_DIR/public")\nexcept OSError as e:\n    print("denied rm", e)\n',
    expect: 'passed',
  },
  {
    name: 'ptrace, namespaces, mount',
    completion:
      '    return a + b\nimport ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nfor name, nr in [("ptrace", 101), ("unshare", 272), ("mount", 165), ("setns", 308)]:\n' +
      '    r = libc.syscall(nr, 0x10000000 if name == "unshare" else 0, 0, 0, 0)\n    print("SYSCALL", name, r, os.strerror(ctypes.get_errno()))\n',
    expect: 'passed',
  },
];

export const JS_PROMPT = 'function add(a, b) {\n';
export const JS_TEST =
  "const assert = require('node:assert');\nfunction check(candidate) {\n  assert.deepStrictEqual(candidate(1, 2), 3);\n  assert.deepStrictEqual(candidate(-4, 4), 0);\n}\n";

export const JS: Hostile[] = [
  { name: 'control: correct', completion: '  return a + b;\n}\n', expect: 'passed' },
  { name: 'process.exit(0) before the test', completion: '  return 0;\n}\nprocess.exit(0);\n', expect: 'failed' },
  { name: 'prints "passed"', completion: "  return 0;\n}\nconsole.log('passed');\n", expect: 'failed' },
  {
    name: 'patches assert and prototypes',
    completion:
      "  return 0;\n}\nconst assert = require('node:assert');\nassert.deepStrictEqual = () => {};\nassert.strictEqual = () => {};\nObject.prototype.valueOf = () => 3;\n",
    expect: 'failed',
  },
  {
    name: 'returns a lying object',
    completion: '  return { valueOf() { return 3; }, toString() { return "3"; } };\n}\n',
    expect: 'failed',
  },
  {
    name: 'forges a verdict on every fd',
    completion:
      '  return 0;\n}\nconst fs = require(\'node:fs\');\nfor (let fd = 3; fd < 64; fd++) { try { fs.writeSync(fd, \'{"result": "passed"}\\n\'); } catch {} }\n',
    expect: 'failed',
  },
  { name: 'kills its parent (the judge)', completion: "  return 0;\n}\nprocess.kill(process.ppid, 'SIGKILL');\n", expect: 'failed' },
  { name: 'correct, and kills its parent', completion: "  return a + b;\n}\nprocess.kill(process.ppid, 'SIGKILL');\n", expect: 'passed' },
  {
    name: 'correct, and kills every pid it finds by scanning',
    // kill(tid) ends the whole process, and in its fresh pid namespace Node's threads have the pids
    // right after its own: skip those. Prints the pids it could signal (only init, 1, may be there).
    completion:
      '  return a + b;\n}\nconst seen = [];\nfor (let pid = 1; pid < 1 << 15; pid++) {\n  if (pid >= process.pid && pid < process.pid + 64) continue;\n' +
      "  try { process.kill(pid, 0); seen.push(pid); process.kill(pid, 'SIGKILL'); } catch {}\n}\nconsole.log('VISIBLE', JSON.stringify(seen));\n",
    expect: 'passed',
  },
  {
    name: 'process bomb',
    completion:
      "  return a + b;\n}\nconst cp = require('node:child_process');\nfor (;;) { try { cp.spawn('/usr/bin/sleep', ['30']); } catch {} }\n",
    expect: 'failed or timed out',
  },
  {
    name: 'memory bomb',
    completion: '  return a + b;\n}\nconst keep = [];\nfor (;;) keep.push(Buffer.alloc(16 << 20, 1));\n',
    expect: 'failed',
    says: MEMORY,
  },
  // JavaScript objects live in V8's heap, capped at the memory limit by --max-old-space-size.
  {
    name: 'heap bomb',
    completion: '  return a + b;\n}\nconst keep = [];\nfor (;;) keep.push(new Array(1 << 20).fill(1.5));\n',
    expect: 'failed',
    says: MEMORY,
  },
  { name: 'infinite loop', completion: '  for (;;) {}\n}\n', expect: 'timed out' },
  {
    name: 'network: host 127.0.0.1',
    // The candidate's event loop never turns (it answers calls synchronously): try from a child.
    completion:
      "  return a + b;\n}\nconst { execFileSync } = require('node:child_process');\n" +
      "const probe = \"const s = require('node:net').connect(PORT, '127.0.0.1', () => { s.write('ESCAPED'); console.log('CONNECTED'); s.end(); }); s.on('error', (e) => console.log('net blocked', e.code));\";\n" +
      "try { console.log(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' })); } catch (e) { console.log('spawn failed', e.message); }\n",
    expect: 'passed',
  },
  {
    name: 'reads secrets, writes outside',
    completion:
      "  return a + b;\n}\nconst fs = require('node:fs');\nconsole.log('ENV', JSON.stringify(process.env));\n" +
      "for (const p of ['/etc/shadow', 'CANARY_DIR/secret']) { try { console.log('READ', fs.readFileSync(p, 'utf8')); } catch (e) { console.log('denied', p, e.code); } }\n" +
      "try { fs.writeFileSync('CANARY_DIR/public', 'OVERWRITTEN'); } catch (e) { console.log('denied write', e.code); }\n" +
      "try { fs.unlinkSync('CANARY_DIR/public'); } catch (e) { console.log('denied rm', e.code); }\n",
    expect: 'passed',
  },
];
