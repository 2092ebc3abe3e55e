// `tony eval …` as a user runs it: flags in, a summary table, the metrics as the last line of JSON.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBLEMS } from './toy-problems.ts';

const run = async (args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'eval', ...args], {
      encoding: 'utf8',
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
};
const lastJson = (s: string) => JSON.parse(s.trim().split('\n').pop()!);
const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

const dir = mkdtempSync(join(tmpdir(), 'tony-cli-'));
const problems = join(dir, 'problems.jsonl');
writeFileSync(problems, jsonl(PROBLEMS));
// A fake model server that lists one model and answers each prompt with that problem's canonical
// solution.
const models: string[] = [];
const server = createServer((req, res) => {
  let data = '';
  req.on('data', (d) => (data += d));
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    if (req.method === 'GET') return void res.end(JSON.stringify({ object: 'list', data: [{ id: 'fake-1', object: 'model' }] }));
    const b = JSON.parse(data);
    models.push(b.model);
    const p = PROBLEMS.find((x) => x.prompt === b.prompt);
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        choices: Array.from({ length: b.n }, (_, index) => ({
          index,
          text: `${p?.canonical_solution ?? ''}\n\ndef extra():\n    pass`,
          finish_reason: 'stop',
        })),
      }),
    );
  });
});
let url = '';
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => server.close());

describe('tony eval', () => {
  it('humaneval --samples scores and prints the metrics last', async () => {
    const samples = join(dir, 'samples.jsonl');
    writeFileSync(
      samples,
      jsonl([
        { task_id: 'Toy/0', completion: '    return a + b\n' },
        { task_id: 'Toy/0', completion: '    return 0\n' },
      ]),
    );
    const r = await run(['humaneval', '--samples', samples, '--problems', problems, '--k', '1,2,5']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/problems attempted\s+1 of 3/);
    expect(lastJson(r.stdout)).toEqual({ 'pass@1': 0.5, 'pass@2': 1 });
    expect(readFileSync(`${samples}_results.jsonl`, 'utf8')).toContain('"passed":true');
  });

  it('humaneval --model URL samples with Codex stops, then scores', async () => {
    const samples = join(dir, 'generated.jsonl');
    const r = await run(['humaneval', '--model', url, '--n', '2', '--problems', problems, '--samples', samples, '--k', '1']);
    expect(r.code).toBe(0);
    expect(lastJson(r.stdout)).toEqual({ 'pass@1': 1 });
    const written = readFileSync(samples, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(written).toHaveLength(6);
    expect(written[0].completion).toBe(PROBLEMS[0]!.canonical_solution + '\n'); // cut at "\ndef"
    expect(new Set(models)).toEqual(new Set(['fake-1'])); // the one model GET /v1/models lists
  });

  it('--model DIR that is not a Tony checkpoint says so', async () => {
    const r = await run(['humaneval', '--model', dir, '--problems', problems]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/checkpoint/);
  });

  it('gsm8k --samples prints exact match and majority vote', async () => {
    const data = join(dir, 'gsm.jsonl');
    writeFileSync(data, jsonl([{ question: 'q', answer: 'r\n#### 4' }]));
    const samples = join(dir, 'gs.jsonl');
    writeFileSync(
      samples,
      jsonl([
        { task_id: 'gsm8k/0', completion: '#### 4' },
        { task_id: 'gsm8k/0', completion: '#### 5' },
      ]),
    );
    const r = await run(['gsm8k', '--samples', samples, '--data', data]);
    expect(r.code).toBe(0);
    expect(lastJson(r.stdout)).toEqual({ 'test@1': 1, 'mean accuracy': 0.5, 'maj@2': 1 });
  });

  it('sandbox reports the layers', async () => {
    const r = await run(['sandbox']);
    expect(r.stdout).toMatch(/sandbox: ready/);
    expect(lastJson(r.stdout)).toEqual({ ok: true });
  });
});
