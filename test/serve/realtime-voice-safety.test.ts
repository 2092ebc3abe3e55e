/**
 * The output-voice guard (src/models/omni/voice-safety.ts): its maths against analytic values
 * (matrix inverse, Mahalanobis distance of Gaussian data, the pitch of a synthetic voice), and the
 * bundled classifier in the server's output path on espeak-ng voices it never saw: a preset voice
 * speaks to the end, a non-preset voice is stopped (content_filter).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resample } from '../../src/audio/resample.ts';
import { decodeWav, toMono } from '../../src/audio/wav.ts';
import { TonyError } from '../../src/errors.ts';
import {
  FEATURE_DIM,
  fitPresets,
  invert,
  loadVoiceSafety,
  presetDistance,
  VOICE_RATE,
  windowFeatures,
} from '../../src/models/omni/voice-safety.ts';
import { Rng } from '../../src/random.ts';
import { createServer, type Server } from '../../src/serve/index.ts';
import { decodePcm16 } from '../../src/serve/realtime/pcm16.ts';
import { realtimeRoutes } from '../../src/serve/routes/realtime.ts';
import { ESPEAK_NG, requires } from '../system.ts';
import { RtClient } from './realtime-client.ts';
import { OmniDouble } from './realtime-double.ts';

const BUNDLED = 'models/voice-safety/classifier.json';

describe('voice-safety maths', () => {
  it('invert: A · A⁻¹ = I for a random symmetric positive-definite matrix', () => {
    const rng = new Rng(3);
    const n = 7;
    const b = Float64Array.from({ length: n * n }, () => rng.normal());
    const a = new Float64Array(n * n); // BᵀB + I
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j]! += b[k * n + i]! * b[k * n + j]!;
    for (let i = 0; i < n; i++) a[i * n + i]! += 1;
    const inv = invert(a, n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += a[i * n + k]! * inv[k * n + j]!;
        expect(s).toBeCloseTo(i === j ? 1 : 0, 9);
      }
  });

  it('presetDistance: a point 3σ off the mean along one axis is at 9 / dim (independent Gaussian data)', () => {
    const rng = new Rng(5);
    const mu = Array.from({ length: FEATURE_DIM }, (_, k) => k - 20);
    const sigma = Array.from({ length: FEATURE_DIM }, (_, k) => 0.5 + (k % 7));
    const windows = Array.from({ length: 4000 }, () => Float64Array.from(mu, (m, k) => m + sigma[k]! * rng.normal()));
    const p = fitPresets(new Map([['v', windows]]));
    const probe = Float64Array.from(mu);
    probe[11] = mu[11]! + 3 * sigma[11]!;
    // sampling error of 4000 draws: a few per cent
    expect(presetDistance(p, probe).distance).toBeCloseTo(9 / FEATURE_DIM, 1);
    expect(presetDistance(p, Float64Array.from(mu)).distance).toBeLessThan(0.01);
  });

  it('windowFeatures: the pitch feature of a 150 Hz harmonic voice is 10·ln 150; silence is not judged', () => {
    const x = Float64Array.from({ length: VOICE_RATE }, (_, i) => {
      let s = 0;
      for (let h = 1; h <= 10; h++) s += Math.sin((2 * Math.PI * 150 * h * i) / VOICE_RATE) / h;
      return 0.2 * s;
    });
    const f = windowFeatures(x)!;
    expect(f[FEATURE_DIM - 2]! / 10).toBeCloseTo(Math.log(150), 2);
    expect(f[FEATURE_DIM - 1]).toBeCloseTo(0, 3); // a steady pitch: no spread
    expect(windowFeatures(new Float64Array(VOICE_RATE))).toBeUndefined();
  });

  it('loading a file that is not a classifier is a checkpoint error naming it, with a hint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tony-vs-'));
    try {
      const path = join(dir, 'c.json');
      writeFileSync(path, '{"format":"something-else"}');
      const err = await loadVoiceSafety(path).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TonyError);
      expect((err as TonyError).kind).toBe('checkpoint');
      expect((err as TonyError).message).toContain(path);
      expect((err as TonyError).hint).toMatch(/voice-safety/);
      await expect(loadVoiceSafety(join(dir, 'none.json'))).rejects.toThrow(/cannot read the voice-safety classifier/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the bundled classifier in the server output path (espeak-ng voices it never saw)', () => {
  let server: Server;
  let url: string;
  const model = new OmniDouble({ audioChunkMs: 100 });
  beforeAll(async () => {
    server = createServer({ port: 0 }).mount(realtimeRoutes(model, { guard: await loadVoiceSafety(BUNDLED) }));
    url = await server.listen();
  });
  afterAll(() => server.close());

  const speak = (text: string, args: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'tony-vs-'));
    try {
      execFileSync('espeak-ng', [...args, '-w', join(dir, 'u.wav'), text]);
      const { audio } = decodeWav(readFileSync(join(dir, 'u.wav')), 'espeak-ng output');
      return Float32Array.from(resample(toMono(audio), audio.sampleRate, VOICE_RATE));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  /** Have the double answer in `voice` for as long as the clip lasts; the response's final status and audio seconds. */
  async function answerIn(voice: Float32Array): Promise<{ status: string; reason?: string; seconds: number }> {
    model.voiceAudio = voice;
    const c = await RtClient.open(url);
    try {
      await c.next('session.created');
      const words = Array.from({ length: Math.floor(voice.length / (VOICE_RATE / 10)) }, (_, i) => `w${i}`).join(' ');
      c.send({ type: 'conversation.item.create', item: { role: 'user', content: [{ type: 'input_text', text: words }] } });
      c.send({ type: 'response.create' });
      const events = await c.until('response.done', 30_000);
      const seconds = events.filter((e) => e.type === 'response.audio.delta').reduce((s, e) => s + decodePcm16(e.delta).length, 0) / 24000;
      const r = events.at(-1)!.response;
      return { status: r.status, reason: r.status_details?.reason, seconds };
    } finally {
      await c.close();
    }
  }
  const TEXT = 'The patient teacher carried the silver lamp across the narrow bridge, and the river was quiet all night.';

  it('a preset voice (en-us+m3, pitch 50, 165 wpm) speaks to the end', async (ctx) => {
    requires(ctx, ESPEAK_NG);
    const r = await answerIn(speak(TEXT, ['-v', 'en-us+m3', '-p', '50', '-s', '165']));
    expect(r.status).toBe('completed');
  }, 60_000);

  it('non-preset voices (another variant, another pitch) are stopped by content_filter, within 2.5 s of audio', async (ctx) => {
    requires(ctx, ESPEAK_NG);
    for (const args of [
      ['-v', 'en-gb-scotland+f4', '-p', '70', '-s', '150'], // a variant the classifier never saw
      ['-v', 'en-us+m3', '-p', '20', '-s', '165'], // the preset's own variant, far lower
    ]) {
      const r = await answerIn(speak(TEXT, args));
      expect(r, args.join(' ')).toMatchObject({ status: 'incomplete', reason: 'content_filter' });
      expect(r.seconds).toBeLessThan(2.5);
    }
  }, 60_000);
});
