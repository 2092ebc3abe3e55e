/**
 * `tony serve --model <dir>` on a model with the capability 'realtime' (the test double's registry
 * row, through TONY_MODEL_KINDS): the CLI prints the /v1/realtime URL, a client gets
 * session.created from it, and SIGTERM shuts it down.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RtClient } from './realtime-client.ts';

describe('tony serve with a realtime model', () => {
  it('mounts /v1/realtime and says where', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tony-rt-cli-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ kind: 'omni-double' }));
    const child = spawn(process.execPath, ['bin/tony.js', 'serve', '--model', dir, '--port', '0'], {
      env: { ...process.env, TONY_MODEL_KINDS: resolve('test/serve/realtime-kind.ts') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      const url = await new Promise<string>((res, rej) => {
        child.stdout.on('data', (d) => {
          out += d;
          const m = /Realtime\s+(ws:\/\/\S+)\/v1\/realtime \(voices: ash, sage\)/.exec(out);
          if (m) res(m[1]!.replace(/^ws/, 'http'));
        });
        child.once('exit', (code) => rej(new Error(`tony serve exited ${code}: ${out}${err}`)));
      });
      expect(out).toMatch(/^serving omni-double on test double/);
      expect(out).not.toMatch(/OpenAI API/); // the double does not complete text
      const c = await RtClient.open(url);
      expect((await c.next('session.created')).session.voice).toBe('ash');
      await c.close();
      const exited = new Promise<number | null>((r) => child.once('exit', r));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
