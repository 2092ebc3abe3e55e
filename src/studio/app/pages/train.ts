/**
 * Train in the tab: a tiny byte-level GPT learns the text below, in this page, from its training-step
 * graph — forward, backward and AdamW in one ONNX graph, the kind `tony train` runs — on
 * onnxruntime-web. Parameters and Adam moments go in and come back each step; the loss is plotted live.
 */
import { mulberry32 } from '../../../random.ts';
import { lineChart } from '../chart.ts';
import { type Ort, runtime } from '../ort.ts';
import { el, field, fmt, type StudioPage, status } from '../page.ts';

interface Manifest {
  config: { blockSize: number; vocabSize: number };
  batch: number;
  lr: number;
  params: Array<{ name: string; shape: number[]; offset: number }>;
}

const SAMPLE_TEXT = `def add(a, b):
    return a + b

def sub(a, b):
    return a - b

def mul(a, b):
    return a * b

class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)

    def pop(self):
        return self.items.pop()
`;

export const page: StudioPage = {
  id: 'train',
  title: 'Train in tab',
  order: 15,
  render(root) {
    const text = el('textarea', { rows: '10', spellcheck: 'false', class: 'wide' });
    text.value = SAMPLE_TEXT;
    const steps = el('input', { type: 'number', min: '1', max: '5000', step: '1', value: '100' });
    const start = el('button', { class: 'primary', text: 'Train in this tab' });
    const stop = el('button', { text: 'Stop', disabled: true });
    const chart = el('div', { class: 'chart', id: 'train-chart', 'aria-label': 'training loss' });
    const st = status();
    st.node.id = 'train-status';
    root.append(
      el('p', {
        class: 'lead',
        text: 'A 2-layer byte-level GPT (width 64, 32 bytes of context) learns this text in your browser: each step is one ONNX graph — forward, backward and AdamW — on onnxruntime-web (WebGPU where the browser has it, else WebAssembly; the status line says which). The loss starts near ln 260 ≈ 5.56 nats, a uniform guess over the byte vocabulary.',
      }),
      field('Training text', text),
      el('div', { class: 'row' }, field('Steps', steps), start, stop),
      st.node,
      el('div', { class: 'card' }, chart),
    );
    let running = false;
    stop.addEventListener('click', () => (running = false));
    start.addEventListener('click', async () => {
      start.disabled = true;
      stop.disabled = false;
      running = true;
      delete chart.dataset.done;
      try {
        const m = (await (await fetch('/api/train-in-page/manifest.json')).json()) as Manifest;
        const [graph, init] = await Promise.all(
          ['step.onnx', 'init.bin'].map(async (f) => new Uint8Array(await (await fetch(`/api/train-in-page/${f}`)).arrayBuffer())),
        );
        const ep = await runtime();
        const { ort } = ep;
        const session = await ort.InferenceSession.create(graph!, { executionProviders: ep.providers });
        const floats = new Float32Array(init!.buffer, init!.byteOffset, init!.byteLength / 4);
        let state: Record<string, Ort.Tensor> = {};
        for (const p of m.params) {
          const n = p.shape.reduce((a, b) => a * b, 1);
          state[p.name] = new ort.Tensor('float32', floats.slice(p.offset, p.offset + n), p.shape);
          state[`m.${p.name}`] = new ort.Tensor('float32', new Float32Array(n), p.shape);
          state[`v.${p.name}`] = new ort.Tensor('float32', new Float32Array(n), p.shape);
        }
        const bytes = new TextEncoder().encode(text.value);
        const T = m.config.blockSize;
        if (bytes.length < T + 2)
          throw new Error(`the text has ${bytes.length} bytes; it needs at least ${T + 2} (a context of ${T} and its next byte)`);
        const rand = mulberry32(0);
        const losses: number[] = [];
        const total = Number(steps.value);
        const t0 = performance.now();
        for (let step = 1; step <= total && running; step++) {
          // A batch of random windows: each target is the byte after its input.
          const idx = new BigInt64Array(m.batch * T);
          const targets = new BigInt64Array(m.batch * T);
          for (let b = 0; b < m.batch; b++) {
            const s = Math.floor(rand() * (bytes.length - T - 1));
            for (let t = 0; t < T; t++) {
              idx[b * T + t] = BigInt(bytes[s + t]!);
              targets[b * T + t] = BigInt(bytes[s + t + 1]!);
            }
          }
          const out = await session.run({
            idx: new ort.Tensor('int64', idx, [m.batch, T]),
            targets: new ort.Tensor('int64', targets, [m.batch, T]),
            step: new ort.Tensor('float32', Float32Array.of(step), []),
            lr: new ort.Tensor('float32', Float32Array.of(m.lr), []),
            ...state,
          });
          const next: Record<string, Ort.Tensor> = {};
          for (const p of m.params) {
            next[p.name] = out[`new.param.${p.name}`]!;
            next[`m.${p.name}`] = out[`new.m.${p.name}`]!;
            next[`v.${p.name}`] = out[`new.v.${p.name}`]!;
          }
          state = next;
          losses.push((out.loss!.data as Float32Array)[0]!);
          chart.dataset.losses = JSON.stringify(losses);
          if (step % 5 === 0 || step === total) {
            lineChart(chart, [{ label: 'training loss', x: losses.map((_, i) => i + 1), y: losses }], {
              xLabel: 'step',
              yLabel: 'loss (nats/byte)',
            });
            const ms = (performance.now() - t0) / step;
            st.set(
              `step ${step}/${total}: loss ${fmt(losses.at(-1)!)} nats/byte, ${fmt(ms, 3)} ms/step (${fmt((m.batch * T * 1000) / ms, 3)} tokens/s) on ${ep.label}`,
            );
          }
        }
        chart.dataset.done = 'true';
      } catch (err) {
        st.set((err as Error).message, true);
      } finally {
        running = false;
        start.disabled = false;
        stop.disabled = true;
      }
    });
    return () => {
      running = false;
    };
  },
};
