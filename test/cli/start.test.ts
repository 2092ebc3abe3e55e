/**
 * `npm start` — `tony start` serves the bundled code model (models/code): the playground and the
 * OpenAI-compatible API come up, a completion and an infill work, and SIGTERM shuts it down cleanly.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

it('tony start serves the bundled model with the playground, and stops on SIGTERM', async () => {
  const child = spawn(process.execPath, ['bin/tony.js', 'start', '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL within 60 s; stderr: ${err}`)), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /playground\s+(http:\/\/\S+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  try {
    expect(out).toMatch(/serving code on cpu \(onnxruntime-node/);
    const page = await fetch(`${url}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('Tony playground');
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: Array<{ id: string }> };
    expect(models.data.map((m) => m.id)).toEqual(['code']);
    const complete = async (body: object) => {
      const r = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(r.status).toBe(200);
      return (await r.json()) as { choices: Array<{ text: string }> };
    };
    const c = await complete({ model: 'code', prompt: 'class Foo:\n    def', max_tokens: 16, temperature: 0, seed: 0 });
    expect(c.choices[0]!.text.length).toBeGreaterThan(0);
    const fill = await complete({ model: 'code', prompt: 'import os\n', suffix: '\n', max_tokens: 16, temperature: 0 });
    expect(typeof fill.choices[0]!.text).toBe('string');
  } finally {
    child.kill('SIGTERM');
  }
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect(code).toBe(0);
  expect(err).toContain('shutting down');
});
