/**
 * The studio's routes under bad requests: each is a 4xx in the one error shape naming what is wrong
 * and how to fix it, and the server keeps serving. And what they answer when the request is good,
 * checked against the library they wrap (audio: WAV/PNG that decode; 3D: a GLB whose counts match).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeManifest } from '../../src/audio/manifest.ts';
import { decodeWav, writeWav } from '../../src/audio/wav.ts';
import { readGlb } from '../../src/shape/glb.ts';
import { type StudioHandle, serveStudio } from '../../src/studio/serve.ts';

let dir: string;
let studio: StudioHandle;
let bare: StudioHandle;
let withCorpus: StudioHandle;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tony-studio-routes-'));
  await mkdir(join(dir, 'one'));
  await writeFile(join(dir, 'one', 'config.json'), JSON.stringify({ kind: 'gpt', params: 10, nonembedding_params: 8 }));
  await writeFile(join(dir, 'one', 'metrics.jsonl'), '{"step":1,"tokens":10,"loss":2}\n{"step":2,"tokens":20,"loss":1.5}\n{"step":3,"tok');
  await writeFile(join(dir, 'bad_results.jsonl'), 'not json\n');
  await writeFile(join(dir, 'secret.txt'), 'x');
  studio = await serveStudio({ port: 0, runsDir: dir });
  bare = await serveStudio({ port: 0 });
  // A corpus of two utterances, one at 22.05 kHz (the studio resamples to 16 kHz).
  const corpus = join(dir, 'corpus');
  await mkdir(corpus);
  const tone = (rate: number, n: number) => Float64Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / rate));
  await writeWav(join(corpus, 'a.wav'), { sampleRate: 16000, channels: [tone(16000, 8000)] });
  await writeWav(join(corpus, 'b.wav'), { sampleRate: 22050, channels: [tone(22050, 22050)] });
  await writeManifest(join(corpus, 'manifest.jsonl'), [
    { id: 'a', audio: join(corpus, 'a.wav'), text: 'a tone', seconds: 0.5 },
    { id: 'b', audio: join(corpus, 'b.wav'), text: 'another tone', seconds: 1 },
  ]);
  withCorpus = await serveStudio({ port: 0, audioDir: corpus });
});

afterAll(async () => {
  await studio?.close();
  await bare?.close();
  await withCorpus?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A JSON answer as the tests read it (every route's shape differs; an error is { error: { message } }). */
// biome-ignore lint/suspicious/noExplicitAny: the tests index answers of many shapes
type Json = any;

async function call(path: string, body?: unknown, base = studio.url) {
  const res = await fetch(
    base + path,
    body === undefined
      ? {}
      : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) },
  );
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, type, json: type.includes('json') ? ((await res.json()) as Json) : undefined, res };
}

describe('studio routes', () => {
  it.each([
    ['/api/audio/clip?source=music:-1', undefined, 400, /'source seed' must be an integer from 0/],
    ['/api/audio/clip?seconds=100', undefined, 400, /'seconds' must be a number from 0.5 to 10/],
    ['/api/audio/clip?source=speech:1', undefined, 400, /'source' must be music:<seed> or corpus:<id>/],
    ['/api/audio/clip?source=corpus:a', undefined, 404, /no audio corpus: start it with --audio <dir>/],
    ['/api/audio/corpus', undefined, 404, /no audio corpus: start it with --audio <dir>/],
    ['/api/audio/invert', { method: 'phase-vocoder' }, 400, /'method' must be one of griffin-lim, fast-griffin-lim, vocoder/],
    ['/api/audio/invert', { iters: 1.5 }, 400, /'iters' must be an integer from 0 to 200/],
    ['/api/audio/invert', { method: 'vocoder' }, 400, /no vocoder: start it with --vocoder <dir>/],
    ['/api/audio/invert', '[1,2]', 400, /Send a JSON object/],
    ['/api/audio/invert', '{"seed": 1', 400, /could not parse the JSON body/],
    ['/api/shapes/mesh', { caption: 'a purple dodecahedron' }, 400, /hint: write e\.g\. "a small red cube/],
    ['/api/shapes/mesh', { caption: 'a red cube', item: '0-1' }, 400, /exactly one of "caption".*or "item"/],
    ['/api/shapes/mesh', { caption: 'a red cube', grid: 1000 }, 400, /'grid' must be an integer from 8 to 160/],
    ['/api/shapes/mesh', { item: 'seven' }, 400, /bad item id 'seven'/],
    ['/api/shapes/scene?seed=x', undefined, 400, /'seed' must be a whole number/],
    ['/api/runs/..%2F..%2Fetc', undefined, 400, /is not inside the runs folder/],
    ['/api/runs/missing', undefined, 400, /no run 'missing' in the runs folder/],
    ['/api/runs/one%2F..', undefined, 400, /not a run \(no metrics\.jsonl\)/],
    ['/api/evals/secret.txt', undefined, 400, /not a results file/],
    ['/api/evals/bad_results.jsonl', undefined, 400, /bad_results\.jsonl:1 is not JSON/],
    ['/api/in-page/manifest.json', undefined, 404, /serves no text model to run in the page/],
    ['/api/train-in-page/passwd', undefined, 404, /No file 'passwd'; there are manifest\.json, step\.onnx, init\.bin/],
    ['/ort/..%2Fpackage.json', undefined, 404, /No runtime file/],
  ])('%s %j → %i', async (path, body, status, message) => {
    const r = await call(path, body);
    expect(r.status).toBe(status);
    expect(r.json.error.message).toMatch(message);
    expect(r.json.error.message).not.toMatch(/\n\s+at /); // no stack trace
    // Still serving.
    expect((await call('/api/studio')).status).toBe(200);
  });

  it('without a runs folder, Runs/Evals/Scaling say how to give one', async () => {
    for (const path of ['/api/runs', '/api/evals', '/api/scaling?dir=x']) {
      const r = await call(path, undefined, bare.url);
      expect(r.status).toBe(404);
      expect(r.json.error.message).toBe('This studio has no runs folder.');
    }
  });

  it('lists runs (a torn last line is not a row) and follows metrics.jsonl as events', async () => {
    const runs = (await call('/api/runs')).json.data as Array<{ name: string; steps: number; lastLoss: number }>;
    expect(runs.map((r) => [r.name, r.steps, r.lastLoss])).toEqual([['one', 2, 1.5]]);
    const ac = new AbortController();
    const res = await fetch(`${studio.url}/api/runs/one/metrics`, { signal: ac.signal });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    const events = () =>
      text
        .split('\n\n')
        .filter((e) => e.startsWith('data: '))
        .map((e) => JSON.parse(e.slice(6)) as { rows: Array<{ step: number }> });
    while (events().length < 1) text += new TextDecoder().decode((await reader.read()).value);
    expect(events()[0]!.rows.map((r) => r.step)).toEqual([1, 2]);
    // The torn line completes, and one more arrives: both come as they are written.
    await writeFile(
      join(dir, 'one', 'metrics.jsonl'),
      '{"step":1,"tokens":10,"loss":2}\n{"step":2,"tokens":20,"loss":1.5}\n{"step":3,"tokens":30,"loss":1.2}\n{"step":4,"tokens":40,"loss":1.1}\n',
    );
    while (events().flatMap((e) => e.rows).length < 4) text += new TextDecoder().decode((await reader.read()).value);
    expect(events().flatMap((e) => e.rows.map((r) => r.step))).toEqual([1, 2, 3, 4]);
    ac.abort();
  });

  it('an unreadable results file is listed with why, beside the others', async () => {
    const list = (await call('/api/evals')).json.data;
    expect(list).toEqual([{ name: 'bad_results.jsonl', samples: 0, passed: 0, error: 'bad_results.jsonl:1 is not JSON' }]);
  });

  it('scaling on too few runs is a note, not an error', async () => {
    const r = await call('/api/scaling?dir=one');
    expect(r.status).toBe(200);
    expect(r.json.params.note).toMatch(/needs at least 4 points/);
  });

  it('music clips and Griffin-Lim reconstructions come back as WAV and PNG that decode', async () => {
    const clip = (await call('/api/audio/clip?source=music:3&seconds=1')).json as { wav: string; spectrogram: string; caption: string };
    const { audio } = decodeWav(Buffer.from(clip.wav, 'base64'));
    expect(audio.sampleRate).toBe(16000);
    // A clip is whole bars of its tempo: about, not exactly, the seconds asked for.
    const n = audio.channels[0]!.length;
    expect(n / 16000).toBeGreaterThan(0.5);
    expect(n / 16000).toBeLessThan(4);
    expect(Buffer.from(clip.spectrogram, 'base64').subarray(1, 4).toString()).toBe('PNG');
    const inv = (await call('/api/audio/invert', { source: 'music:3', seconds: 1, iters: 8 })).json as { wav: string; scDb: number };
    expect(decodeWav(Buffer.from(inv.wav, 'base64')).audio.channels[0]!.length).toBe(n);
    expect(inv.scDb).toBeLessThan(0);
  });

  it('a caption meshes into a GLB whose vertex and face counts the headers give', async () => {
    const r = await call('/api/shapes/mesh', { caption: 'a blue sphere', grid: 24 });
    expect(r.type).toBe('model/gltf-binary');
    const mesh = await readGlb(new Uint8Array(await r.res.arrayBuffer()));
    expect(mesh.positions.length / 3).toBe(Number(r.res.headers.get('x-vertices')));
    expect(mesh.indices.length / 3).toBe(Number(r.res.headers.get('x-faces')));
    expect(mesh.colors).toBeDefined();
  });

  it('a corpus is listed, its clips come resampled to 16 kHz, and an unknown id is a 400', async () => {
    const list = (await call('/api/audio/corpus', undefined, withCorpus.url)).json.data;
    expect(list).toEqual([
      { id: 'a', text: 'a tone', seconds: 0.5 },
      { id: 'b', text: 'another tone', seconds: 1 },
    ]);
    const b = (await call('/api/audio/clip?source=corpus:b', undefined, withCorpus.url)).json as { wav: string; caption: string };
    expect(b.caption).toBe('another tone');
    const { audio } = decodeWav(Buffer.from(b.wav, 'base64'));
    expect(audio.sampleRate).toBe(16000);
    expect(Math.abs(audio.channels[0]!.length - 16000)).toBeLessThanOrEqual(1);
    const bad = await call('/api/audio/clip?source=corpus:zzz', undefined, withCorpus.url);
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/No corpus entry 'zzz'; GET \/api\/audio\/corpus lists them/);
  });
});
