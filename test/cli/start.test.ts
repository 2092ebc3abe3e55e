/**
 * `npm start` — `tony start` serves Tony Studio on the bundled code model (models/code): the studio, the playground and the
 * OpenAI-compatible API come up, /v1/models lists the bundled model, completions report the tokens
 * the tokenizer counts, seeded sampling is reproducible, and SIGTERM shuts it down cleanly.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { loadTokenizer } from '../../src/text/tokenizers.ts';

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
    // npm start is Tony Studio (test/studio/ drives it in Chromium), with the playground kept at /playground.
    expect(out).toContain(`studio      ${url}/`);
    const studio = await fetch(`${url}/`);
    expect(await studio.text()).toContain('<title>Tony Studio</title>');
    const page = await fetch(`${url}/playground`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('Tony playground');
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: Array<{ id: string }> };
    expect(models.data.map((m) => m.id)).toEqual(['code']);
    // The bundled model's own tokenizer counts what usage must report.
    const tok = loadTokenizer(
      (JSON.parse(readFileSync(join(root, 'models/code/config.json'), 'utf8')) as { tokenizer: Record<string, unknown> }).tokenizer,
    );
    type Completion = {
      choices: Array<{ text: string; finish_reason: string }>;
      usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    };
    const complete = async (body: object) => {
      const r = await fetch(`${url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(r.status).toBe(200);
      return (await r.json()) as Completion;
    };
    const prompt = 'class Foo:\n    def';
    const greedy = await complete({ model: 'code', prompt, max_tokens: 16, temperature: 0 });
    // Mid-definition, the model writes on: all 16 tokens, none of them the end of text.
    expect(greedy.choices[0]!.finish_reason).toBe('length');
    expect(greedy.usage).toEqual({
      prompt_tokens: tok.encode(prompt).length,
      completion_tokens: 16,
      total_tokens: tok.encode(prompt).length + 16,
    });
    // Greedy text re-encodes to at most the tokens generated (BPE may merge across token boundaries).
    expect(tok.encode(greedy.choices[0]!.text).length).toBeLessThanOrEqual(16);
    expect(greedy.choices[0]!.text.length).toBeGreaterThan(0);

    // Sampling with a seed is reproducible; another seed draws other samples.
    const sampled = { model: 'code', prompt, max_tokens: 12, temperature: 1, n: 2, seed: 7 };
    const a = await complete(sampled);
    const b = await complete(sampled);
    expect(b.choices.map((c) => c.text)).toEqual(a.choices.map((c) => c.text));
    const c = await complete({ ...sampled, seed: 8 });
    expect(c.choices.map((x) => x.text)).not.toEqual(a.choices.map((x) => x.text));
    expect(a.usage.completion_tokens).toBeLessThanOrEqual(2 * 12);

    // An infill's prompt is the PSM layout: <PRE> prefix <SUF> suffix <MID>.
    const fill = await complete({ model: 'code', prompt: 'import os\n', suffix: '\n', max_tokens: 16, temperature: 0 });
    expect(fill.usage.prompt_tokens).toBe(tok.encode('import os\n').length + tok.encode('\n').length + 3);
  } finally {
    child.kill('SIGTERM');
  }
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect(code).toBe(0);
  expect(err).toContain('shutting down');
});
