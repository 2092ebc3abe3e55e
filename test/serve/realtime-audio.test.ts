/**
 * The realtime server's audio pieces against independent oracles: PCM16 bytes written by hand,
 * streamed resampling against whole-signal resampling and against analytic sines, and the VAD's
 * turn boundaries on synthetic speech/silence with boundaries known by construction and on
 * espeak-ng clips padded with known silences.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resample } from '../../src/audio/resample.ts';
import { decodeWav, toMono } from '../../src/audio/wav.ts';
import { InputBuffer } from '../../src/serve/realtime/input.ts';
import { decodePcm16, encodePcm16, pcm16Problem, StreamResampler } from '../../src/serve/realtime/pcm16.ts';
import { EnergyVad, type VadEvent } from '../../src/serve/realtime/vad.ts';
import { ESPEAK_NG, requires } from '../system.ts';

describe('PCM16 base64', () => {
  it('decodes little-endian int16 written by hand', () => {
    // 0x0000, 0x4000 (16384), 0x8000 (−32768), 0xFFFF (−1), 0x7FFF (32767)
    const bytes = Buffer.from([0x00, 0x00, 0x00, 0x40, 0x00, 0x80, 0xff, 0xff, 0xff, 0x7f]);
    const x = decodePcm16(bytes.toString('base64'));
    expect(Array.from(x)).toEqual([0, 0.5, -1, -1 / 32768, 32767 / 32768]);
  });

  it('encodes with rounding and clipping to the same bytes', () => {
    const b64 = encodePcm16([0, 0.5, -1, 2, -2, 0.25 / 32768, 0.75 / 32768]);
    expect([...Buffer.from(b64, 'base64')]).toEqual([0, 0, 0x00, 0x40, 0x00, 0x80, 0xff, 0x7f, 0x00, 0x80, 0, 0, 1, 0]);
  });

  it('names what is wrong with bad base64', () => {
    expect(pcm16Problem('AAA=')).toBeUndefined(); // 2 bytes: one sample
    expect(pcm16Problem('')).toBeUndefined();
    expect(pcm16Problem('AAA')).toMatch(/not valid base64/);
    expect(pcm16Problem('AA$A')).toMatch(/not valid base64/);
    expect(pcm16Problem('AAAAAA==')).toBeUndefined(); // 4 bytes: two samples
    expect(pcm16Problem('AA==')).toMatch(/holds 1 bytes, not whole 16-bit samples/);
    expect(pcm16Problem('AAAAAAA=')).toMatch(/holds 5 bytes/);
  });
});

const sine = (hz: number, rate: number, n: number, amp = 0.5, phase0 = 0) =>
  Float64Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / rate + phase0));

/** Feed `x` in chunks of the given sizes (cycled), then flush; the concatenated output. */
function streamed(r: StreamResampler, x: Float64Array, sizes: number[]): Float64Array {
  const out: number[] = [];
  let o = 0;
  for (let k = 0; o < x.length; k++) {
    const n = sizes[k % sizes.length]!;
    out.push(...r.push(x.subarray(o, o + n)));
    o += n;
  }
  out.push(...r.flush());
  return Float64Array.from(out);
}

describe('StreamResampler', () => {
  for (const [from, to] of [
    [16000, 24000],
    [24000, 16000],
    [22050, 24000],
  ] as const) {
    it(`${from} → ${to} Hz in uneven chunks equals resampling the whole signal`, () => {
      const x = sine(523, from, 9000).map((v, i) => v + 0.2 * Math.sin(i * 0.013) * Math.cos(i * 0.0021));
      const whole = resample(x, from, to);
      const y = streamed(new StreamResampler(from, to), x, [1, 480, 37, 2000, 5]);
      expect(y.length).toBe(whole.length);
      let err = 0;
      for (let i = 0; i < y.length; i++) err = Math.max(err, Math.abs(y[i]! - whole[i]!));
      expect(err).toBeLessThan(1e-6); // float32 output of the same float64 sums
    });
  }

  it('turns a 16 kHz sine into the analytic 24 kHz sine (away from the ends)', () => {
    const y = streamed(new StreamResampler(16000, 24000), sine(440, 16000, 16000), [640]);
    const ref = sine(440, 24000, 24000);
    let err = 0;
    for (let i = 200; i < 24000 - 200; i++) err = Math.max(err, Math.abs(y[i]! - ref[i]!));
    expect(err).toBeLessThan(1e-5);
  });

  it('is the identity at equal rates', () => {
    const r = new StreamResampler(24000, 24000);
    expect(Array.from(r.push([0.25, -0.5]))).toEqual([0.25, -0.5]);
    expect(r.flush().length).toBe(0);
  });
});

describe('InputBuffer', () => {
  it('takes [from, end) at the model rate: a 24 kHz sine appended in pieces is the 16 kHz sine', () => {
    const b = new InputBuffer(16000);
    const x = Float32Array.from(sine(300, 24000, 24000 * 2));
    for (let o = 0; o < x.length; o += 960) b.append(x.subarray(o, o + 960));
    // from 0.5 s: 1.5 s at 16 kHz, the sine's phase continuing from 0.5 s
    const y = b.take(12000);
    expect(y.length).toBe(24000);
    const ref = sine(300, 16000, 32000).subarray(8000);
    let err = 0;
    for (let i = 200; i < y.length - 200; i++) err = Math.max(err, Math.abs(y[i]! - ref[i]!));
    expect(err).toBeLessThan(1e-5);
    expect(b.length).toBe(0);
    expect(b.start).toBe(48000);
  });

  it('releases audio before a point and still takes the rest with the right timing', () => {
    const b = new InputBuffer(16000);
    const x = Float32Array.from(sine(250, 24000, 24000 * 3));
    for (let o = 0; o < x.length; o += 2400) {
      b.append(x.subarray(o, o + 2400));
      b.release(o - 24000); // keep about a second
    }
    const y = b.take(24000 * 2); // the last second
    expect(y.length).toBe(16000);
    const ref = sine(250, 16000, 48000).subarray(32000);
    let err = 0;
    for (let i = 200; i < y.length - 200; i++) err = Math.max(err, Math.abs(y[i]! - ref[i]!));
    expect(err).toBeLessThan(1e-5);
  });
});

// -------------------------------------------------------------------------------------------------
// VAD

const RATE = 24000;
const msToSamples = (ms: number) => (ms * RATE) / 1000;

/** Speech-like bursts (a 200 Hz buzz with a 4 Hz syllable envelope, −14 dBFS peak) between known silences. */
function bursts(spec: { silenceMs: number; speechMs: number }[], tailMs: number, noiseDb = -70): Float32Array {
  const parts: number[] = [];
  let seed = 7;
  const noise = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return (seed / 2 ** 31 - 0.5) * 2 * 10 ** (noiseDb / 20) * Math.sqrt(3);
  };
  for (const s of spec) {
    for (let i = 0; i < msToSamples(s.silenceMs); i++) parts.push(noise());
    const n = msToSamples(s.speechMs);
    for (let i = 0; i < n; i++) {
      const env = 0.6 + 0.4 * Math.sin((2 * Math.PI * 4 * i) / RATE);
      parts.push(0.2 * env * Math.sin((2 * Math.PI * 200 * i) / RATE) + noise());
    }
  }
  for (let i = 0; i < msToSamples(tailMs); i++) parts.push(noise());
  return Float32Array.from(parts);
}

function runVad(x: Float32Array, o: { threshold?: number; silenceDurationMs?: number } = {}, chunk = 480): VadEvent[] {
  const vad = new EnergyVad({ sampleRate: RATE, threshold: o.threshold ?? 0.5, silenceDurationMs: o.silenceDurationMs ?? 500 });
  const events: VadEvent[] = [];
  for (let i = 0; i < x.length; i += chunk) events.push(...vad.push(x.subarray(i, i + chunk)));
  return events;
}

describe('EnergyVad on synthetic speech and silence with known boundaries', () => {
  it('starts at the burst and stops silence_duration after it ends (10 ms frames)', () => {
    // speech 1000–2500 ms, 2000 ms of silence after
    const ev = runVad(bursts([{ silenceMs: 1000, speechMs: 1500 }], 2000));
    expect(ev.map((e) => e.type)).toEqual(['start', 'stop']);
    expect(ev[0]!.sample / RATE).toBeCloseTo(1.0, 2); // within a 10 ms frame
    expect(ev[1]!.sample / RATE).toBeGreaterThanOrEqual(3.0 - 0.0001);
    expect(ev[1]!.sample / RATE).toBeLessThanOrEqual(3.01 + 0.0001);
  });

  it('keeps one turn across pauses shorter than silence_duration and splits at longer ones', () => {
    const x = bursts(
      [
        { silenceMs: 500, speechMs: 800 },
        { silenceMs: 300, speechMs: 600 }, // a pause inside the turn
        { silenceMs: 1200, speechMs: 700 }, // a new turn
      ],
      2000,
    );
    const ev = runVad(x);
    expect(ev.map((e) => e.type)).toEqual(['start', 'stop', 'start', 'stop']);
    const s = ev.map((e) => e.sample / RATE);
    expect(s[0]).toBeCloseTo(0.5, 2);
    expect(s[1]).toBeCloseTo(2.2 + 0.5, 1); // speech ends at 0.5+0.8+0.3+0.6 = 2.2 s
    expect(s[2]).toBeCloseTo(3.4, 2);
    expect(s[3]).toBeCloseTo(4.1 + 0.5, 1);
    expect(s[3]! - 4.6).toBeLessThanOrEqual(0.0101);
    // a longer silence_duration merges the two turns
    expect(runVad(x, { silenceDurationMs: 1500 }).map((e) => e.type)).toEqual(['start', 'stop']);
  });

  it('threshold: quiet speech (−50 dBFS) opens a turn at 0.3 (−59 dBFS) but not at 0.5 (−45 dBFS)', () => {
    const quiet = bursts([{ silenceMs: 500, speechMs: 1000 }], 1000).map((v) => v * 10 ** (-36 / 20));
    expect(runVad(quiet, { threshold: 0.5 })).toEqual([]);
    expect(runVad(quiet, { threshold: 0.3 }).map((e) => e.type)).toEqual(['start', 'stop']);
  });

  it('ignores a 20 ms click (shorter than the 30 ms onset)', () => {
    const x = bursts([{ silenceMs: 500, speechMs: 20 }], 1000);
    expect(runVad(x)).toEqual([]);
  });

  it('gives the same events whatever the chunking', () => {
    const x = bursts([{ silenceMs: 700, speechMs: 900 }], 800);
    expect(runVad(x, {}, 1)).toEqual(runVad(x, {}, 4800));
  });
});

describe('EnergyVad on espeak-ng clips', () => {
  it('finds each utterance between known silences: one turn per utterance, boundaries within the clip', (ctx) => {
    requires(ctx, ESPEAK_NG);
    const dir = mkdtempSync(join(tmpdir(), 'tony-vad-'));
    try {
      const say = (text: string, voice: string) => {
        const path = join(dir, 'u.wav');
        execFileSync('espeak-ng', ['-v', voice, '-w', path, text]);
        const { audio } = decodeWav(readFileSync(path), 'espeak-ng output');
        return resample(toMono(audio), audio.sampleRate, RATE);
      };
      const clips = [say('The quiet river, after a while, opened the golden gate.', 'en-us'), say('Is seven more than four?', 'en-gb+f2')];
      // The clips' own extent: first and last sample above −40 dBFS (espeak pads a little silence).
      const extent = (c: Float64Array) => {
        let a = 0;
        let b = c.length - 1;
        while (Math.abs(c[a]!) < 0.01) a++;
        while (Math.abs(c[b]!) < 0.01) b--;
        return [a, b] as const;
      };
      const gaps = [RATE * 1, RATE * 1.5, RATE * 1];
      const x: number[] = [];
      const truth: [number, number][] = [];
      for (let k = 0; k < clips.length; k++) {
        for (let i = 0; i < gaps[k]!; i++) x.push(0);
        const [a, b] = extent(clips[k]!);
        truth.push([x.length + a, x.length + b]);
        x.push(...clips[k]!);
      }
      for (let i = 0; i < gaps[2]!; i++) x.push(0);
      const ev = runVad(Float32Array.from(x));
      expect(ev.map((e) => e.type)).toEqual(['start', 'stop', 'start', 'stop']);
      for (let k = 0; k < 2; k++) {
        const start = ev[2 * k]!.sample;
        const stop = ev[2 * k + 1]!.sample;
        // starts within 60 ms of the first loud sample (a soft onset takes a few frames)
        expect(Math.abs(start - truth[k]![0]) / RATE).toBeLessThan(0.06);
        // stops 500 ms (± 100 ms of trailing quiet phonemes) after the last loud sample
        expect((stop - truth[k]![1]) / RATE).toBeGreaterThan(0.4);
        expect((stop - truth[k]![1]) / RATE).toBeLessThan(0.6);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
