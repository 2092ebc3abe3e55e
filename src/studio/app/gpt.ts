/**
 * A Tony GPT in the tab on onnxruntime-web (WebAssembly): the server's own prefill and decode graphs
 * (src/studio/in-page.ts), weights and KV cache fed as inputs, greedy decoding exactly as
 * src/models/gpt/generate.ts does it — prompt padded with <EOT> to the block, first token from the
 * prefill's logits at the prompt's last position, then one decode step per token at its position.
 * Once loaded it needs no server.
 */
import { tokenHealing } from '../../models/gpt/healing.ts';
import { BpeTokenizer } from '../../text/bpe.ts';
import { type Ort, runtime } from './ort.ts';

interface Manifest {
  config: { vocabSize: number; blockSize: number };
  tokenizer: Record<string, unknown>;
  weights: Array<{ name: string; shape: number[]; offset: number }>;
  cache: Array<{ output: string; input: string }>;
}

async function bytes(path: string): Promise<Uint8Array> {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${res.statusText}`);
  return new Uint8Array(await res.arrayBuffer());
}

export class PageGpt {
  /** The allowed tokens per healed tail, as the server keeps them. */
  private readonly healCache = new Map<string, ReadonlySet<number>>();

  private constructor(
    readonly tokenizer: BpeTokenizer,
    private readonly cfg: Manifest['config'],
    private readonly ort: typeof Ort,
    private readonly weights: Record<string, Ort.Tensor>,
    private readonly cache: Manifest['cache'],
    private readonly prefill: Ort.InferenceSession,
    private readonly decode: Ort.InferenceSession,
    /** Which execution provider runs it, for the page to say. */
    readonly provider: string,
  ) {}

  static async load(base = '/api/in-page'): Promise<PageGpt> {
    const manifest = (await (await fetch(`${base}/manifest.json`)).json()) as Manifest;
    const [blob, prefill, decode] = await Promise.all([
      bytes(`${base}/weights.bin`),
      bytes(`${base}/prefill.onnx`),
      bytes(`${base}/decode.onnx`),
    ]);
    const floats = new Float32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4);
    const { ort, providers, label } = await runtime();
    const weights: Record<string, Ort.Tensor> = {};
    for (const w of manifest.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      weights[w.name] = new ort.Tensor('float32', floats.subarray(w.offset, w.offset + n), w.shape);
    }
    const opts: Ort.InferenceSession.SessionOptions = { executionProviders: providers };
    const [p, d] = await Promise.all([ort.InferenceSession.create(prefill, opts), ort.InferenceSession.create(decode, opts)]);
    return new PageGpt(BpeTokenizer.fromJSON(manifest.tokenizer), manifest.config, ort, weights, manifest.cache, p, d, label);
  }

  /**
   * Greedy completion of `prompt`, at most `maxTokens` tokens (plus those re-writing a healed tail), ending early at
   * <EOT> or a FIM token (the server's stop tokens); `onText` gets the text so far after each token.
   */
  async complete(
    prompt: string,
    maxTokens: number,
    onText?: (text: string) => void,
  ): Promise<{ text: string; tokens: number[]; seconds: number }> {
    const t0 = performance.now();
    const { eot, fimPrefix, fimMiddle, fimSuffix } = this.tokenizer.special;
    const stops = new Set([eot, fimPrefix, fimMiddle, fimSuffix]);
    const T = this.cfg.blockSize;
    const ids = this.tokenizer.encode(prompt);
    if (ids.length === 0) ids.push(eot); // an empty prompt starts a document
    if (ids.length >= T) throw new Error(`the prompt has ${ids.length} tokens; this model reads ${T}`);
    const maxNew = Math.min(maxTokens, T - ids.length);
    // Token healing, as the server does it (src/models/gpt/healing.ts): a whitespace tail is taken
    // back and re-written first — by tokens that start with what is left of it or are a prefix of it.
    // That text is the prompt's, not the output's, and its tokens do not count towards maxTokens.
    const healed = tokenHealing(this.tokenizer, ids, this.healCache);
    let rest = healed?.text ?? '';
    let healTokens = 0;
    if (healed) ids.pop();
    const idx = new BigInt64Array(T).fill(BigInt(eot));
    ids.forEach((t, i) => (idx[i] = BigInt(t)));
    let out = await this.prefill.run({
      idx: new this.ort.Tensor('int64', idx, [1, T]),
      last: new this.ort.Tensor('int64', BigInt64Array.of(BigInt(ids.length - 1)), [1]),
      ...this.weights,
    });
    let caches: Record<string, Ort.Tensor> = Object.fromEntries(this.cache.map((c) => [c.input, out[c.input]!]));
    const tokens: number[] = [];
    let pos = ids.length;
    for (;;) {
      const logits = out.logits!.data as Float32Array;
      const allowed = rest ? healed!.allowed(rest) : undefined;
      let best = -1;
      // Greedy: the first index on ties, as the server's pickToken.
      for (let i = 0; i < logits.length; i++) if ((!allowed || allowed.has(i)) && (best < 0 || logits[i]! > logits[best]!)) best = i;
      if (stops.has(best)) break;
      tokens.push(best);
      if (rest) {
        const piece = this.tokenizer.decode([best]);
        rest = rest.startsWith(piece) ? rest.slice(piece.length) : '';
        healTokens++;
      }
      onText?.(this.tokenizer.decode(tokens).slice(healed?.text.length ?? 0));
      if (tokens.length - healTokens >= maxNew || pos + 1 >= T) break;
      out = await this.decode.run({
        idx: new this.ort.Tensor('int64', BigInt64Array.of(BigInt(best)), [1, 1]),
        pos: new this.ort.Tensor('int64', BigInt64Array.of(BigInt(pos)), [1]),
        ...caches,
        ...this.weights,
      });
      caches = Object.fromEntries(this.cache.map((c) => [c.input, out[c.output]!]));
      pos++;
    }
    return { text: this.tokenizer.decode(tokens).slice(healed?.text.length ?? 0), tokens, seconds: (performance.now() - t0) / 1000 };
  }
}
