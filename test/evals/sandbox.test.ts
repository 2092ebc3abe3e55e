// The isolation layers one by one, each observed from inside a sandboxed program, and the refusal
// when a layer is missing. Needs root and bubblewrap (CI installs it).
import { describe, expect, it } from 'vitest';
import { TonyError } from '../../src/errors.ts';
import { Sandbox, probeIsolation } from '../../src/evals/sandbox.ts';

const py = (sb: Sandbox, code: string) => sb.run({ argv: ['/usr/bin/python3', '-I', '-c', code] });

describe('probeIsolation', () => {
  it('finds every layer working on this machine, ending with a real run', async () => {
    const r = await probeIsolation();
    expect(r.layers.map((l) => [l.name, l.ok])).toEqual([
      ['bwrap', true], ['prlimit', true], ['setpriv', true], ['seccomp', true], ['cgroups', true], ['python3', true], ['full chain', true],
    ]);
    expect(r.ok).toBe(true);
  });

  it('makes Tony refuse, naming what is missing and how to get it, unless --unsafe-no-sandbox', async () => {
    const isolation = { ok: false, layers: [{ name: 'bwrap', ok: false, detail: 'bwrap not found', fix: 'apt-get install bubblewrap' }] };
    const err = await Sandbox.open({ isolation }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TonyError);
    expect((err as TonyError).kind).toBe('sandbox');
    expect((err as TonyError).message).toMatch(/MISSING bwrap .*apt-get install bubblewrap/);
    expect((err as TonyError).hint).toMatch(/--unsafe-no-sandbox/);
    expect((await Sandbox.open({ isolation, unsafeNoSandbox: true })).unsafe).toBe(true);
  });
});

describe('a sandboxed program', () => {
  it('runs as nobody, with an empty environment, no /proc, no network and a private /tmp', async () => {
    process.env.TONY_SANDBOX_TEST_SECRET = 'hunter2';
    const sb = await Sandbox.open();
    const r = await py(
      sb,
      'import os, socket, json\n' +
        'print(json.dumps({"uid": os.getuid(), "gid": os.getgid(), "env": dict(os.environ), "root": sorted(os.listdir("/")),' +
        ' "tmp": os.listdir("/tmp"), "ifaces": [n for _, n in socket.if_nameindex()], "host": socket.gethostname(),' +
        ' "proc": os.path.exists("/proc/self"), "work": os.path.exists("/work")}))',
    );
    delete process.env.TONY_SANDBOX_TEST_SECRET;
    expect(r.exitCode).toBe(0);
    const seen = JSON.parse(r.stdout);
    expect(seen.uid).toBe(65534);
    expect(seen.gid).toBe(65534);
    expect(Object.keys(seen.env).sort()).toEqual(['HOME', 'LANG', 'PATH', 'PWD']);
    expect(JSON.stringify(seen.env)).not.toContain('hunter2');
    expect(seen.root).toEqual(['bin', 'dev', 'etc', 'lib', 'lib64', 'sbin', 'tmp', 'tony', 'usr']);
    expect(seen.tmp).toEqual([]);
    expect(seen.ifaces).toEqual(['lo']);
    expect(seen.host).toBe('sandbox');
    expect(seen.proc).toBe(false);
    expect(seen.work).toBe(false);
  });

  it('is held to its memory cap by the cgroup', async () => {
    const sb = await Sandbox.open({ limits: { memoryBytes: 64 * 2 ** 20 } });
    const r = await py(sb, 'x = bytearray(200 * 2**20)\nfor i in range(0, len(x), 4096): x[i] = 1\nprint("survived")');
    expect(r.stdout).not.toContain('survived');
    expect(r.signal ?? r.exitCode).not.toBe(0);
    expect(r.memoryLimitHit).toBe(true);
  });

  it('cannot make more processes than the pids cap', async () => {
    const sb = await Sandbox.open({ limits: { maxProcesses: 8 } });
    const r = await py(sb, 'import os\nn = 0\ntry:\n    for _ in range(50):\n        if os.fork() == 0:\n            import time; time.sleep(5)\n        n += 1\nexcept OSError as e:\n    print("forks", n, e.errno, flush=True)\nos._exit(0)');
    const m = /forks (\d+) 11/.exec(r.stdout); // EAGAIN
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(8);
  });

  it('cannot write files past the size cap nor fill /tmp past its size', async () => {
    const sb = await Sandbox.open({ limits: { fileBytes: 2 ** 20, tmpBytes: 4 * 2 ** 20 } });
    const r = await py(sb, 'import os\ntry:\n    open("/tmp/a", "wb").write(b"x" * (2 * 2**20))\nexcept OSError as e:\n    print("fsize", e.errno)\n' +
      'n = 0\ntry:\n    for i in range(10):\n        open(f"/tmp/b{i}", "wb").write(b"x" * (2**20 - 1)); n += 1\nexcept OSError as e:\n    print("tmpfs", n, e.errno)');
    expect(r.stdout).toMatch(/fsize 27/); // EFBIG
    expect(r.stdout).toMatch(/tmpfs [34] 28/); // ENOSPC after ~4 MiB
  });

  it('keeps at most outputBytes of its output', async () => {
    const sb = await Sandbox.open({ limits: { outputBytes: 1000 } });
    const r = await py(sb, 'import sys\nsys.stdout.write("y" * 100000)\nsys.stderr.write("e" * 5000)');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('y'.repeat(1000));
    expect(r.stderr).toBe('e'.repeat(1000));
    expect(r.outputTruncated).toBe(true);
  });

  it('rejects unknown limit names', async () => {
    await expect(Sandbox.open({ limits: { timeoutMS: 5 } as never })).rejects.toThrow(/unknown sandbox limits config key 'timeoutMS'/);
  });

  it('is killed with its whole tree at the timeout', async () => {
    const sb = await Sandbox.open({ limits: { timeoutMs: 500 } });
    const t0 = performance.now();
    const r = await py(sb, 'import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(30)\ntime.sleep(30)');
    expect(r.timedOut).toBe(true);
    expect(performance.now() - t0).toBeLessThan(3000);
  });
});
