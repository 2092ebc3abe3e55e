'use strict';
/**
 * The candidate side of Tony's JavaScript judge (see judge.cjs): loads the program under test and
 * answers the judge's calls to its entry point. Untrusted code runs in this process, in its own
 * sandbox: the judge is in another one, reachable only through the socket on fd 4.
 * argv: candidate.cjs ENTRY_POINT; fd 3 the source (read, then closed), fd 4 the socket to the judge.
 */
const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');
const vm = require('node:vm');
const { encode, decode, Channel } = require('./wire.cjs');

const entry = process.argv[2];
const chan = new Channel(4, 4);

/** stderr is how the harness learns why the candidate stopped (e.g. the address-space limit). */
function reportToHarness(e) {
  try {
    fs.writeSync(2, `candidate: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
  } catch {
    // stderr closed: nothing to tell
  }
}

let fn;
try {
  const source = fs.readFileSync(3, 'utf8');
  fs.closeSync(3);
  // A file name for stack traces and require(); the candidate's own /tmp.
  const file = path.join(process.cwd(), 'candidate.js');
  fs.writeFileSync(file, source);
  const wrapper = `(function (exports, require, module, __filename, __dirname) {${source}\n;return typeof ${entry} === 'function' ? ${entry} : undefined;\n})`;
  const module = { exports: {} };
  fn = vm.runInThisContext(wrapper, { filename: file })(module.exports, createRequire(file), module, file, '.');
  if (typeof fn !== 'function') throw new ReferenceError(`${entry} is not defined as a function`);
} catch (e) {
  reportToHarness(e);
  chan.send({ load_error: e instanceof Error ? e.message : String(e) });
  process.exit(1);
}
chan.send({ ready: true });
for (;;) {
  const req = chan.recv();
  if (req === null) process.exit(0);
  let reply;
  try {
    reply = { ok: encode(fn(...decode(req.args))) };
  } catch (e) {
    if (e instanceof RangeError && /allocation failed|Invalid (typed )?array length|Array buffer/.test(e.message)) reportToHarness(e);
    reply = { raise: [e?.constructor?.name ?? 'Error', e instanceof Error ? e.message : String(e)] };
  }
  chan.send(reply);
}
