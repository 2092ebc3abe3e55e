'use strict';
/**
 * Tony's judge for JavaScript/TypeScript programs (TypeScript arrives transpiled). Trusted code, run
 * inside the sandbox; the design is judge.py's: the test runs here against a proxy, the program under
 * test runs in a separate process (candidate.cjs) in a separate sandbox, and only plain data crosses
 * between them, over one socket the harness made:
 *
 *   fd 4 judge spec JSON {reference, test} in    fd 5 verdict out    fd 6 the socket to the candidate
 *
 * argv: judge.cjs ENTRY_POINT
 */
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { createRequire } = require('node:module');
const { encode, decode, Channel } = require('./wire.cjs');

const entry = process.argv[2];
const SAFE_NAME = /^[A-Za-z_$][\w$]*$/;

class CandidateError extends Error {}

function proxyFor(chan) {
  return function candidate(...args) {
    const request = { args: encode(args) };
    try {
      chan.send(request);
    } catch {
      throw new CandidateError('candidate process exited'); // its end of the socket is gone
    }
    const reply = chan.recv();
    if (reply === null) throw new CandidateError('candidate process exited or sent an oversized reply');
    if ('ok' in reply) return decode(reply.ok);
    if ('raise' in reply) {
      const [name, message] = reply.raise.map(String);
      const cls = globalThis[name];
      // Re-throw the candidate's built-in error types so tests expecting them still work.
      if (typeof cls === 'function' && (cls === Error || cls.prototype instanceof Error)) throw new cls(message);
      throw new CandidateError(`${name}: ${message}`);
    }
    throw new CandidateError('malformed reply from the candidate');
  };
}

function judge(spec, chan) {
  const first = chan.recv();
  if (first === null) return `failed: candidate process exited before defining ${entry}`;
  if ('load_error' in first) return `failed: ${String(first.load_error)}`;
  const proxy = proxyFor(chan);
  // The problem's own prompt (trusted) defines helpers the test may use; inside a block, the entry
  // point's name is rebound to the proxy so tests that call it by name reach the candidate.
  const wrap = (reference) =>
    `(function (require, module, exports, __tony_candidate) {\n${reference}\n;{\nconst ${entry} = __tony_candidate;\n` +
    `${spec.test}\n;if (typeof check === 'function') check(${entry});\n}\n})`;
  const file = path.join(process.cwd(), 'test.js');
  let compiled;
  try {
    compiled = vm.runInThisContext(wrap(spec.reference), { filename: 'test.js' });
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    // Datasets without canonical solutions: the test runs without the prompt's helpers.
    compiled = vm.runInThisContext(wrap(''), { filename: 'test.js' });
  }
  try {
    const module = { exports: {} };
    compiled(createRequire(file), module, module.exports, proxy);
  } catch (e) {
    return `failed: ${e instanceof Error ? e.message : String(e)}`;
  }
  return 'passed';
}

function main() {
  if (!SAFE_NAME.test(entry)) throw new Error(`entry point '${entry}' is not an identifier`);
  const spec = JSON.parse(fs.readFileSync(4, 'utf8'));
  fs.closeSync(4);
  let result;
  try {
    result = judge(spec, new Channel(6, 6));
  } catch (e) {
    result = `failed: ${e instanceof Error ? e.message : String(e)}`;
  }
  fs.writeSync(5, JSON.stringify({ result }));
  fs.closeSync(5);
  process.exit(0);
}

main();
