import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEntry, readDataset } from '../../src/audio/manifest.ts';
import { type ClipSpec, composeClip, makeMusicCorpus, renderClip, TIMBRES, type Timbre } from '../../src/audio/music.ts';
import { Rng } from '../../src/audio/random.ts';
import { makeSentence, makeSpeechCorpus } from '../../src/audio/speech.ts';
import { magnitude, stft } from '../../src/audio/stft.ts';
import { encodeWav, readWav } from '../../src/audio/wav.ts';
import { TonyError } from '../../src/errors.ts';
import { ESPEAK_NG, requires } from '../system.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'tony-corpus-'));

describe('speech corpus (espeak-ng)', () => {
  it('writes WAVs + manifest with transcripts, deterministic by seed', async (ctx) => {
    requires(ctx, ESPEAK_NG);
    const [a, b, c] = [tmp(), tmp(), tmp()];
    const ea = await makeSpeechCorpus({ minutes: 0.1, out: a, seed: 5 });
    const eb = await makeSpeechCorpus({ minutes: 0.1, out: b, seed: 5 });
    const ec = await makeSpeechCorpus({ minutes: 0.05, out: c, seed: 6 });
    expect(ea).toEqual(eb);
    expect(readFileSync(join(a, 'manifest.jsonl'))).toEqual(readFileSync(join(b, 'manifest.jsonl')));
    for (const e of ea) expect(readFileSync(join(a, e.audio))).toEqual(readFileSync(join(b, e.audio)));
    expect(ec[0]!.text).not.toBe(ea[0]!.text);
    const total = ea.reduce((s, e) => s + e.seconds!, 0);
    expect(total).toBeGreaterThanOrEqual(6);
    // Read back through the dataset reader: the audio is 16 kHz speech of a plausible length for its
    // words at the drawn rate (espeak-ng's rate is words per minute), and not silent.
    const entries = await readDataset(a);
    expect(entries.length).toBe(ea.length);
    for (const e of entries) {
      const { audio, text } = await loadEntry(e);
      expect(audio.sampleRate).toBe(16000);
      expect(text).toMatch(/^[A-Z].*[.?]$/);
      const seconds = audio.channels[0]!.length / 16000;
      const words = text!.split(/\s+/).length;
      const expected = (words / (e.rate as number)) * 60;
      expect(seconds).toBeGreaterThan(expected * 0.5);
      expect(seconds).toBeLessThan(expected * 2 + 1);
      const rms = Math.sqrt(audio.channels[0]!.reduce((s, v) => s + v * v, 0) / audio.channels[0]!.length);
      expect(rms).toBeGreaterThan(0.01);
    }
  });

  it('says how to install espeak-ng when it is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(makeSpeechCorpus({ minutes: 0.01, out: tmp() })).rejects.toThrow(TonyError);
      await expect(makeSpeechCorpus({ minutes: 0.01, out: tmp() })).rejects.toMatchObject({
        hint: expect.stringMatching(/apt-get install espeak-ng/),
      });
    } finally {
      process.env.PATH = path;
    }
  });

  it('sentences are varied and well-formed', () => {
    const rng = new Rng(1);
    const s = new Set(Array.from({ length: 50 }, () => makeSentence(rng)));
    expect(s.size).toBe(50);
    for (const x of s) expect(x).toMatch(/^[A-Z][A-Za-z ,'-]+[.?]$/);
  });
});

describe('procedural music', () => {
  const sr = 16000;
  /** A one-note clip, to check each timbre against the note's frequency. */
  const single = (midi: number, timbre: Timbre): ClipSpec => ({
    key: 'A major',
    mode: 'major',
    tempo: 120,
    progression: 'I',
    chordStyle: 'block',
    caption: '',
    timbres: { melody: timbre, chords: 'sine', bass: 'sine' },
    seconds: 1.5,
    notes: [{ midi, start: 0, duration: 1, part: 'melody' }],
  });

  it('every timbre sounds at the note frequency (MIDI 69 = 440 Hz, 57 = 220 Hz)', () => {
    for (const timbre of TIMBRES) {
      for (const [midi, hz] of [
        [69, 440],
        [57, 220],
      ] as const) {
        const x = renderClip(single(midi, timbre), sr, new Rng(1));
        const S = stft(x.subarray(800, 800 + 8192), { nFft: 8192, hop: 8192, center: false });
        const m = magnitude(S);
        const binHz = sr / 8192;
        const k = Math.round(hz / binHz);
        // The note's frequency is the spectrum's maximum for the harmonic timbres; the FM bell's
        // carrier is at least a strong peak.
        const local = Math.max(...m.subarray(k - 2, k + 3));
        const max = Math.max(...m);
        if (timbre === 'bell') expect(local).toBeGreaterThan(0.1 * max);
        else expect(local).toBeCloseTo(max, 6);
      }
    }
  });

  it('is band-limited: no energy above 0.46 × the rate, even for a high saw', () => {
    for (const timbre of ['saw', 'square', 'organ'] as const) {
      const x = renderClip(single(93, timbre), sr, new Rng(1)); // A6 = 1760 Hz
      const S = stft(x, { nFft: 2048, hop: 512 });
      const m = magnitude(S);
      let hi = 0,
        all = 0;
      for (let t = 0; t < S.frames; t++) {
        for (let k = 0; k < S.bins; k++) {
          const p = m[t * S.bins + k]! ** 2;
          all += p;
          if ((k * sr) / 2048 > 0.46 * sr) hi += p;
        }
      }
      expect(10 * Math.log10(hi / all)).toBeLessThan(-60);
    }
  });

  it('compositions follow their metadata: notes in key, bars at the tempo', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 20; i++) {
      const c = composeClip(rng, 8);
      const [name, mode] = c.key.split(' ');
      const root = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'].indexOf(name!);
      const scale = mode === 'major' ? [0, 2, 4, 5, 7, 9, 11] : [0, 2, 3, 5, 7, 8, 10];
      for (const n of c.notes) expect(scale).toContain((((n.midi - root) % 12) + 12) % 12);
      const bar = (4 * 60) / c.tempo;
      for (const n of c.notes.filter((n) => n.part === 'bass')) {
        const halfBars = n.start / (bar / 2);
        expect(Math.abs(halfBars - Math.round(halfBars))).toBeLessThan(1e-9);
      }
      expect(c.caption).toContain(`${c.tempo} bpm`);
    }
  });

  it('corpus: WAVs + manifest, deterministic by seed, metadata with every note', async () => {
    const [a, b] = [tmp(), tmp()];
    const ea = await makeMusicCorpus({ minutes: 0.1, out: a, seed: 2, sampleRate: sr, clipSeconds: 3 });
    await makeMusicCorpus({ minutes: 0.1, out: b, seed: 2, sampleRate: sr, clipSeconds: 3 });
    expect(readFileSync(join(a, 'manifest.jsonl'))).toEqual(readFileSync(join(b, 'manifest.jsonl')));
    for (const e of ea) {
      expect(readFileSync(join(a, e.audio))).toEqual(readFileSync(join(b, e.audio)));
      const audio = await readWav(join(a, e.audio));
      expect(audio.sampleRate).toBe(sr);
      const peak = Math.max(...audio.channels[0]!.map(Math.abs));
      expect(peak).toBeGreaterThan(0.85);
      expect(peak).toBeLessThan(0.9);
      expect((e.notes as unknown[]).length).toBeGreaterThan(3);
    }
    expect(ea.reduce((s, e) => s + e.seconds!, 0)).toBeGreaterThanOrEqual(6);
  });
});

describe('dataset readers', () => {
  const wav = (x: number[]) => encodeWav({ sampleRate: 8000, channels: [Float64Array.from(x)] });

  it('LJSpeech metadata.csv', async () => {
    const d = tmp();
    mkdirSync(join(d, 'wavs'));
    writeFileSync(join(d, 'wavs', 'LJ001-0001.wav'), wav([0.5, -0.5]));
    writeFileSync(join(d, 'metadata.csv'), 'LJ001-0001|Printing, in the 1st sense|Printing, in the first sense\n');
    const [e] = await readDataset(d);
    expect(e).toMatchObject({ id: 'LJ001-0001', text: 'Printing, in the first sense', audio: join(d, 'wavs', 'LJ001-0001.wav') });
    expect([...(await loadEntry(e!)).audio.channels[0]!]).toEqual([0.5, -0.5]);
  });

  it('LibriSpeech *.trans.txt (WAV beside; FLAC gets a conversion hint)', async () => {
    const d = tmp();
    mkdirSync(join(d, '19', '198'), { recursive: true });
    writeFileSync(join(d, '19', '198', '19-198.trans.txt'), '19-198-0000 NORTHANGER ABBEY\n19-198-0001 THIS LITTLE WORK\n');
    writeFileSync(join(d, '19', '198', '19-198-0000.wav'), wav([0.25]));
    const es = await readDataset(d);
    expect(es.map((e) => [e.id, e.text])).toEqual([
      ['19-198-0000', 'NORTHANGER ABBEY'],
      ['19-198-0001', 'THIS LITTLE WORK'],
    ]);
    expect((await loadEntry(es[0]!)).audio.channels[0]![0]).toBe(0.25);
    await expect(loadEntry(es[1]!)).rejects.toMatchObject({ kind: 'data', hint: expect.stringMatching(/ffmpeg/) });
  });

  it('a plain WAV directory with .txt transcripts; errors for empty dirs and bad manifests', async () => {
    const d = tmp();
    mkdirSync(join(d, 'sub'));
    writeFileSync(join(d, 'sub', 'a.wav'), wav([0.125]));
    writeFileSync(join(d, 'sub', 'a.txt'), 'hello world\n');
    writeFileSync(join(d, 'b.wav'), wav([0]));
    const es = await readDataset(d);
    expect(es.map((e) => e.id)).toEqual(['b', join('sub', 'a')]);
    expect((await loadEntry(es[1]!)).text).toBe('hello world');
    await expect(readDataset(tmp())).rejects.toThrow(/no \.wav files/);
    const m = tmp();
    writeFileSync(join(m, 'manifest.jsonl'), '{"id": "x"}\n');
    await expect(readDataset(m)).rejects.toThrow(/manifest.jsonl:1: entry needs string fields/);
  });
});
