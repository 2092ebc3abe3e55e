/**
 * Tony's seeded pseudo-random numbers (Math.random cannot be seeded): mulberry32, a small, fast,
 * well-mixed 32-bit generator, plus the draws built on it. Same seed → same stream, everywhere.
 */

/** Uniform doubles in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded generator. Its methods are bound: `const next = rng.next` works. */
export class Rng {
  readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** Standard normal (Box–Muller). */
  readonly normal = (): number => Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());

  /** Integer in [lo, hi]. */
  readonly int = (lo: number, hi: number): number => lo + Math.floor(this.next() * (hi - lo + 1));

  /** Uniform in [lo, hi). */
  readonly uniform = (lo: number, hi: number): number => lo + (hi - lo) * this.next();

  /** A uniformly chosen element. */
  readonly pick = <T>(items: readonly T[]): T => items[Math.floor(this.next() * items.length)]!;
}

export const prng = (seed: number) => new Rng(seed);
