'use strict';
/**
 * The candidate side of Tony's JavaScript judge (see judge.cjs): loads the program under test and
 * answers the judge's calls to its entry point. Untrusted code runs in this process.
 * argv: candidate.cjs SOURCE_FILE ENTRY_POINT; fd 3 requests in, fd 4 replies out.
 */
const fs = require('node:fs');
const { createRequire } = require('node:module');
const vm = require('node:vm');
const { encode, decode, Channel } = require('./wire.cjs');

const [file, entry] = process.argv.slice(2);
const chan = new Channel(3, 4);

let fn;
try {
  const source = fs.readFileSync(file, 'utf8');
  const wrapper = `(function (exports, require, module, __filename, __dirname) {${source}\n;return typeof ${entry} === 'function' ? ${entry} : undefined;\n})`;
  const module = { exports: {} };
  fn = vm.runInThisContext(wrapper, { filename: file })(module.exports, createRequire(file), module, file, '.');
  if (typeof fn !== 'function') throw new ReferenceError(`${entry} is not defined as a function`);
} catch (e) {
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
    reply = { raise: [e?.constructor?.name ?? 'Error', e instanceof Error ? e.message : String(e)] };
  }
  chan.send(reply);
}
