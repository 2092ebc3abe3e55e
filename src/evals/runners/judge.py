"""Tony's judge for Python programs. Trusted code: it runs inside the sandbox (see sandbox.ts).

Why two processes. The reference harness runs `prompt + completion + test + check(entry_point)` in one
interpreter, so the completion can rewrite anything the test relies on: `exit(0)` before the test,
a patched `builtins`, a `check` that does nothing, a return value whose `__eq__` is always true, a
print of "passed". Here the completion never shares an interpreter with the test:

  judge       runs the problem's own prompt (trusted dataset text) and test, with the entry point
              replaced by a proxy; writes the verdict to fd 5.
  candidate   runs prompt + completion [+ suffix] and answers the proxy's calls.

Calls cross a socket as JSON with tagged builtin types (int, float, str, bytes, bool, None, list,
tuple, dict, set, frozenset, complex). The judge builds fresh builtin objects from that data, so the
candidate can only influence the verdict through the values it returns. The two processes run in
separate sandboxes (separate pid, mount and user namespaces; see sandbox.ts), joined only by that
socket: the candidate never sees the test or the verdict channel, and cannot see, signal or trace
the judge (there is no judge in its pid namespace; seccomp denies ptrace and process_vm_*).

Two roles, one per sandbox:
  judge.py judge ENTRY_POINT       fd 4 judge spec JSON {reference, test}, fd 5 verdict out,
                                   fd 6 the socket to the candidate
  judge.py candidate ENTRY_POINT   fd 3 candidate source (read, then closed), fd 4 the socket to the judge
"""
import builtins
import json
import os
import sys

CANDIDATE_FD, SPEC_FD, VERDICT_FD, JUDGE_SOCKET = 3, 4, 5, 6
CANDIDATE_SOCKET = 4
MAX_MESSAGE = 16 << 20  # one reply's JSON; bigger is a protocol violation
MAX_FD = 1024


def read_all(fd):
    chunks = []
    while True:
        b = os.read(fd, 1 << 16)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def close_all_but(keep):
    lo = 3
    for fd in sorted(k for k in keep if k >= 3) + [MAX_FD]:
        os.closerange(lo, fd)
        lo = fd + 1


# ---- the value codec (both sides use it; only the judge's decoding matters for the verdict) ----

def encode(v, depth=0):
    if depth > 100:
        raise ValueError("value nested too deeply to return")
    t = type(v)
    if v is None or t is bool or t is str:
        return v
    if t is int:
        return {"i": str(v)}
    if t is float:
        return {"f": repr(v)}
    if t is list:
        return [encode(x, depth + 1) for x in v]
    if t is tuple:
        return {"t": [encode(x, depth + 1) for x in v]}
    if t is dict:
        return {"d": [[encode(k, depth + 1), encode(x, depth + 1)] for k, x in v.items()]}
    if t is set:
        return {"s": [encode(x, depth + 1) for x in v]}
    if t is frozenset:
        return {"fs": [encode(x, depth + 1) for x in v]}
    if t is bytes:
        return {"b": v.hex()}
    if t is complex:
        return {"c": [repr(v.real), repr(v.imag)]}
    raise TypeError(f"cannot pass a value of type {t.__name__} across the sandbox (plain data only)")


def decode(v):
    if v is None or v is True or v is False or type(v) is str:
        return v
    if type(v) is list:
        return [decode(x) for x in v]
    if type(v) is dict and len(v) == 1:
        (tag, x), = v.items()
        if tag == "i":
            return int(x)
        if tag == "f":
            return float(x)
        if tag == "t":
            return tuple(decode(y) for y in x)
        if tag == "d":
            return {decode(k): decode(y) for k, y in x}
        if tag == "s":
            return {decode(y) for y in x}
        if tag == "fs":
            return frozenset(decode(y) for y in x)
        if tag == "b":
            return bytes.fromhex(x)
        if tag == "c":
            return complex(float(x[0]), float(x[1]))
    raise ValueError("malformed value from the candidate")


class Channel:
    """Newline-delimited JSON over one socket fd (both directions)."""

    def __init__(self, fd):
        # The harness's libuv made one end non-blocking (a flag shared with whoever inherits it).
        os.set_blocking(fd, True)
        self.r = os.fdopen(fd, "rb", closefd=False)
        self.w = fd

    def send(self, msg):
        data = json.dumps(msg).encode() + b"\n"
        while data:
            data = data[os.write(self.w, data):]

    def recv(self):
        line = self.r.readline(MAX_MESSAGE + 1)
        if not line.endswith(b"\n"):
            return None  # EOF (the other side died or exited) or an oversized message
        return json.loads(line)


# ---- candidate side (untrusted code runs here) ----

def candidate_main(source, entry, chan):
    ns = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(source, "candidate.py", "exec"), ns)
        fn = ns[entry]
    except BaseException as e:  # SyntaxError, NameError, SystemExit from exit() ...
        report_to_harness(e)
        chan.send({"load_error": format_exc(e)})
        os._exit(1)
    chan.send({"ready": True})
    while True:
        req = chan.recv()
        if req is None:
            os._exit(0)
        try:
            args = decode(req["args"])
            kwargs = decode(req.get("kwargs", {"d": []}))
            value = fn(*args, **kwargs)
            reply = {"ok": encode(value)}
        except BaseException as e:
            if isinstance(e, MemoryError):
                report_to_harness(e)
            reply = {"raise": [type(e).__name__, format_exc(e) if isinstance(e, MemoryError) else str(e)]}
        chan.send(reply)


def report_to_harness(e):
    """stderr is how the harness learns why the candidate stopped (e.g. the address-space limit)."""
    try:
        os.write(2, f"candidate: {type(e).__name__}: {e}\n".encode("utf-8", "replace"))
    except OSError:
        pass


def format_exc(e):
    if isinstance(e, MemoryError):
        return "MemoryError: out of memory"
    return str(e) if isinstance(e, Exception) else f"{type(e).__name__}: {e}"


# ---- judge side (trusted) ----

class CandidateError(Exception):
    """The candidate could not answer: it died, exited, or sent something that is not plain data."""


def make_proxy(chan):
    def candidate(*args, **kwargs):
        try:
            chan.send({"args": encode(list(args)), "kwargs": encode(kwargs)})
        except OSError:  # the candidate's end is gone
            raise CandidateError("candidate process exited") from None
        reply = chan.recv()
        if reply is None:
            raise CandidateError("candidate process exited or sent an oversized reply")
        if "ok" in reply:
            return decode(reply["ok"])
        if "raise" in reply:
            name, msg = str(reply["raise"][0]), str(reply["raise"][1])
            cls = getattr(builtins, name, None)
            # Re-raise the candidate's builtin exception types, so tests that expect an exception
            # still work; never SystemExit/KeyboardInterrupt (they would stop the judge itself).
            if isinstance(cls, type) and issubclass(cls, Exception):
                raise cls(msg)
            raise CandidateError(f"{name}: {msg}")
        raise CandidateError("malformed reply from the candidate")
    return candidate


def judge(spec, entry, chan):
    first = chan.recv()
    if first is None:
        return "failed: candidate process exited before defining " + entry
    if "load_error" in first:
        return "failed: " + str(first["load_error"])
    ns = {"__name__": "__main__"}
    try:
        code = compile(spec["reference"], "reference.py", "exec")
    except SyntaxError:
        # Datasets without canonical solutions (prompt alone is an unfinished function): the
        # test then runs without the prompt's helpers.
        code = None
    try:
        if code is not None:
            exec(code, ns)
    except BaseException as e:
        return f"failed: harness: the problem's own prompt does not run: {format_exc(e)}"
    proxy = make_proxy(chan)
    ns[entry] = proxy  # tests that call the entry point by name reach the candidate too
    try:
        exec(compile(spec["test"] + "\n", "test.py", "exec"), ns)
        if "check" in ns:
            ns["check"](proxy)
    except BaseException as e:  # the reference harness's rule: any exception fails, with str(e)
        return f"failed: {e}"
    return "passed"


def judge_main(entry):
    spec = json.loads(read_all(SPEC_FD))
    os.close(SPEC_FD)
    try:
        result = judge(spec, entry, Channel(JUDGE_SOCKET))
    except BaseException as e:
        result = f"failed: {format_exc(e)}"
    data = json.dumps({"result": result}).encode()
    while data:
        data = data[os.write(VERDICT_FD, data):]
    os.close(VERDICT_FD)
    os._exit(0)  # skip interpreter teardown (and any atexit hooks the test code registered)


def main():
    role, entry = sys.argv[1], sys.argv[2]
    if role == "judge":
        judge_main(entry)
    source = read_all(CANDIDATE_FD).decode("utf-8", "replace")
    os.close(CANDIDATE_FD)
    close_all_but({CANDIDATE_SOCKET})
    candidate_main(source, entry, Channel(CANDIDATE_SOCKET))
    os._exit(0)


if __name__ == "__main__":
    main()
