// Loaders: reference formats from .jsonl and .jsonl.gz; malformed input is reported with file and line.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadMathProblems, loadProblems, loadSamples, resultsPath } from '../../src/evals/data.ts';

const dir = mkdtempSync(join(tmpdir(), 'tony-data-'));
const write = (name: string, text: string | Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const problem = {
  task_id: 'T/0',
  prompt: 'def f():\n',
  entry_point: 'f',
  canonical_solution: '    return 1\n',
  test: 'def check(c):\n    assert c() == 1\n',
};

describe('loaders', () => {
  it('read .jsonl and .jsonl.gz (by content, not name), skipping blank lines', async () => {
    const text = `${JSON.stringify(problem)}\n\n${JSON.stringify({ ...problem, task_id: 'T/1' })}\n`;
    expect([...(await loadProblems(write('a.jsonl', text))).keys()]).toEqual(['T/0', 'T/1']);
    expect((await loadProblems(write('b.jsonl.gz', gzipSync(text)))).size).toBe(2);
    expect((await loadProblems(write('mislabelled.jsonl', gzipSync(text)))).size).toBe(2);
  });

  it('report malformed lines with file and line number', async () => {
    const bad = write('bad.jsonl', `${JSON.stringify(problem)}\n{"task_id": "T/1", oops}\n`);
    await expect(loadProblems(bad)).rejects.toThrow(/bad\.jsonl:2: not valid JSON/);
    const arr = write('arr.jsonl', `[${JSON.stringify(problem)}]`);
    await expect(loadProblems(arr)).rejects.toThrow(/arr\.jsonl:1: expected a JSON object, got an array/);
    const missing = write('missing.jsonl', `\n${JSON.stringify({ ...problem, test: undefined })}`);
    await expect(loadProblems(missing)).rejects.toThrow(/missing\.jsonl:2: problem field 'test' is missing/);
    const dup = write('dup.jsonl', `${JSON.stringify(problem)}\n${JSON.stringify(problem)}`);
    await expect(loadProblems(dup)).rejects.toThrow(/'T\/0' appears twice/);
    await expect(loadProblems(write('nosuffix.jsonl', JSON.stringify(problem)), { infilling: true })).rejects.toThrow(
      /field 'suffix' is missing/,
    );
    await expect(loadSamples(write('s.jsonl', '{"task_id": "T/0", "completion": 5}'))).rejects.toThrow(
      /s\.jsonl:1: sample field 'completion' is a number/,
    );
    await expect(loadMathProblems(write('m.jsonl', '{"question": "q"}'))).rejects.toThrow(/m\.jsonl:1: GSM8K field 'answer' is missing/);
    await expect(loadProblems(join(dir, 'nope.jsonl'))).rejects.toThrow(/cannot read .*nope\.jsonl.*ENOENT/);
  });

  it('keep extra sample fields and name results like the reference', async () => {
    const s = await loadSamples(write('x.jsonl', '{"task_id": "T/0", "completion": "", "logprob": -1.5}'));
    expect(s[0]).toEqual({ task_id: 'T/0', completion: '', logprob: -1.5 });
    expect(resultsPath('out/samples.jsonl')).toBe('out/samples.jsonl_results.jsonl');
  });
});
