/**
 * Which output-voice classifier a realtime model is served with: its own (fitted on its output
 * channel) when its directory has one, else the bundled one. Oracle: the paths, written out.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { voiceGuardFor } from '../../src/cli/serve.ts';

const dir = mkdtempSync(join(tmpdir(), 'tony-guard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("serves a model's own voice classifier when it has one, else the bundled one", () => {
  expect(voiceGuardFor(dir)).toBe(resolve('models/voice-safety/classifier.json'));
  writeFileSync(join(dir, 'voice-safety.json'), '{}');
  expect(voiceGuardFor(dir)).toBe(join(dir, 'voice-safety.json'));
});
