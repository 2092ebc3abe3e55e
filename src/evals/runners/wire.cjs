'use strict';
/**
 * The JavaScript side of Tony's judge protocol, shared by judge.cjs (trusted) and candidate.cjs
 * (runs untrusted code): newline-delimited JSON over blocking file descriptors, with values tagged
 * so that the judge rebuilds fresh, plain objects (see judge.py for the reasoning).
 */
const fs = require('node:fs');

const MAX_MESSAGE = 16 << 20;
const MAX_DEPTH = 100;

function encode(v, depth = 0) {
  if (depth > MAX_DEPTH) throw new RangeError('value nested too deeply to return');
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (v === undefined) return { u: 1 };
  if (typeof v === 'number') return { n: Object.is(v, -0) ? '-0' : String(v) };
  if (typeof v === 'bigint') return { big: v.toString() };
  if (Array.isArray(v)) return Array.from(v, (x) => encode(x, depth + 1));
  if (v instanceof Map) return { m: [...v].map(([k, x]) => [encode(k, depth + 1), encode(x, depth + 1)]) };
  if (v instanceof Set) return { s: [...v].map((x) => encode(x, depth + 1)) };
  const proto = Object.getPrototypeOf(v);
  if (typeof v === 'object' && (proto === Object.prototype || proto === null)) {
    return { o: Object.keys(v).map((k) => [k, encode(v[k], depth + 1)]) };
  }
  throw new TypeError(`cannot pass a value of type ${typeof v} (${proto?.constructor?.name}) across the sandbox (plain data only)`);
}

function decode(v) {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(decode);
  if (typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const x = v[keys[0]];
      switch (keys[0]) {
        case 'u':
          return undefined;
        case 'n':
          return Number(x);
        case 'big':
          return BigInt(x);
        case 'm':
          return new Map(x.map(([k, y]) => [decode(k), decode(y)]));
        case 's':
          return new Set(x.map(decode));
        // fromEntries defines own properties, so a key named __proto__ stays a plain key
        case 'o':
          return Object.fromEntries(x.map(([k, y]) => [String(k), decode(y)]));
      }
    }
  }
  throw new TypeError('malformed value from the candidate');
}

/** Sleep without spinning, for the rare non-blocking descriptor. */
function nap(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

class Channel {
  constructor(rfd, wfd) {
    this.rfd = rfd;
    this.wfd = wfd;
    this.pending = Buffer.alloc(0);
  }

  send(msg) {
    const data = Buffer.from(JSON.stringify(msg) + '\n');
    let off = 0;
    while (off < data.length) {
      try {
        off += fs.writeSync(this.wfd, data, off);
      } catch (e) {
        if (e.code !== 'EAGAIN') throw e;
        nap(1);
      }
    }
  }

  /** The next message, or null at EOF or past MAX_MESSAGE. */
  recv() {
    const chunk = Buffer.alloc(1 << 16);
    for (;;) {
      const nl = this.pending.indexOf(10);
      if (nl >= 0) {
        const line = this.pending.subarray(0, nl);
        this.pending = this.pending.subarray(nl + 1);
        return JSON.parse(line.toString('utf8'));
      }
      if (this.pending.length > MAX_MESSAGE) return null;
      let n;
      try {
        n = fs.readSync(this.rfd, chunk, 0, chunk.length, null);
      } catch (e) {
        if (e.code === 'EAGAIN') {
          nap(1);
          continue;
        }
        if (e.code === 'EOF' || e.code === 'ECONNRESET' || e.code === 'EPIPE') return null;
        throw e;
      }
      if (n === 0) return null;
      this.pending = Buffer.concat([this.pending, chunk.subarray(0, n)]);
    }
  }
}

module.exports = { encode, decode, Channel };
