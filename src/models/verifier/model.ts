/**
 * A trained verifier loaded for inference: solutions in, values out. `score` is what best-of-N
 * ranks by (the value at a solution's last token, PAPERS.md §3); `values` gives the value after
 * every solution token (what the studio draws along a solution).
 */
import { basename, resolve } from 'node:path';
import { latestCheckpoint, loadCheckpoint } from '../../engine/checkpoint.ts';
import { hostTensor } from '../../engine/dtype.ts';
import { type Device, Runtime, type Session } from '../../engine/runtime.ts';
import { loadWeights, runOnWeights } from '../../engine/state.ts';
import { TonyError } from '../../errors.ts';
import type { Tokenizer } from '../../text/tokenizer.ts';
import { loadTokenizer } from '../../text/tokenizers.ts';
import { type GPTConfig, gptConfig } from '../gpt/gpt.ts';
import type { Capability, LoadedModel } from '../index.ts';
import { solutionPrompt } from './data.ts';
import { buildValueGraph } from './verifier.ts';

/** Sequences per run of the value graph (one graph shape; a short last batch is padded). */
const SCORE_BATCH = 8;

export class VerifierModel implements LoadedModel {
  readonly kind = 'verifier';
  readonly capabilities: readonly Capability[] = ['score'];
  private graph: { session: Promise<Session>; ps: ReturnType<typeof buildValueGraph>['ps'] } | undefined;

  constructor(
    readonly id: string,
    readonly cfg: Readonly<GPTConfig>,
    readonly valueToken: number,
    readonly level: string,
    readonly tokenizer: Tokenizer,
    readonly runtime: Runtime,
  ) {}

  get provider(): string {
    return this.runtime.description;
  }

  /**
   * The value after every token of each solution to `question`. A solution longer than the context
   * is cut at the context's end (its values stop there).
   */
  async values(question: string, solutions: readonly string[]): Promise<number[][]> {
    const { prompt, rows } = this.encode(question, solutions);
    return (await this.run(rows)).map((v, i) => Array.from(v.subarray(prompt.length, rows[i]!.length)));
  }

  /**
   * Each solution's score: its value at its last token (the last one inside the context); an empty
   * solution scores the value at the prompt's last token.
   */
  async score(question: string, solutions: readonly string[]): Promise<number[]> {
    const { rows } = this.encode(question, solutions);
    return (await this.run(rows)).map((v, i) => v[rows[i]!.length - 1]!);
  }

  private encode(question: string, solutions: readonly string[]): { prompt: number[]; rows: number[][] } {
    const T = this.cfg.blockSize;
    const prompt = this.tokenizer.encode(solutionPrompt(question));
    if (prompt.length >= T)
      throw new TonyError('usage', `the question takes ${prompt.length} tokens; the verifier's context is ${T}`, 'shorten the question');
    return { prompt, rows: solutions.map((s) => [...prompt, ...this.tokenizer.encode(s)].slice(0, T)) };
  }

  /** Token rows (each ≤ blockSize) → the value at every position of each, (T) per row. */
  private async run(rows: readonly number[][]): Promise<Float32Array[]> {
    const T = this.cfg.blockSize;
    if (!this.graph) {
      const g = buildValueGraph(this.cfg, this.valueToken, SCORE_BATCH);
      this.graph = { session: this.runtime.load(g.model), ps: g.ps };
    }
    const session = await this.graph.session;
    const out: Float32Array[] = [];
    for (let first = 0; first < rows.length; first += SCORE_BATCH) {
      const ids = new Array<number>(SCORE_BATCH * T).fill(this.tokenizer.special.eot);
      rows.slice(first, first + SCORE_BATCH).forEach((r, b) => r.forEach((t, i) => (ids[b * T + i] = t)));
      const res = await runOnWeights(this.runtime, session, this.graph.ps, { idx: hostTensor('int64', [SCORE_BATCH, T], ids) });
      const v = res.values!.data as Float32Array; // (B, T)
      for (let b = 0; b < Math.min(SCORE_BATCH, rows.length - first); b++) out.push(v.slice(b * T, (b + 1) * T));
    }
    return out;
  }

  async close(): Promise<void> {
    await this.runtime.close();
  }
}

/** Load a verifier from a run directory (its latest checkpoint) or a checkpoint directory. */
export async function loadVerifier(dir: string, opts: { device?: Device; threads?: number; id?: string } = {}): Promise<VerifierModel> {
  const entry = await latestCheckpoint(dir);
  const ck = await loadCheckpoint<{
    kind?: string;
    model?: Record<string, unknown>;
    tokenizer?: Record<string, unknown>;
    valueToken?: number;
    level?: string;
  }>(entry?.dir ?? dir);
  if (ck.config.kind !== 'verifier' || !ck.config.model || typeof ck.config.valueToken !== 'number')
    throw new TonyError(
      'checkpoint',
      `${ck.dir} is not a Tony verifier checkpoint (kind '${String(ck.config.kind)}')`,
      'pass a run of tony train verifier',
    );
  const cfg = gptConfig(ck.config.model);
  const runtime = await Runtime.start({ device: opts.device, threads: opts.threads });
  await loadWeights(runtime, ck.params, { transfer: true }); // read for this alone
  return new VerifierModel(
    opts.id ?? basename(resolve(dir)),
    cfg,
    ck.config.valueToken,
    ck.config.level ?? 'token',
    loadTokenizer(ck.config.tokenizer ?? { kind: 'bytes' }),
    runtime,
  );
}
