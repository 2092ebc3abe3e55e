/**
 * A small seeded PRNG so that datasets and samples are reproducible from a seed on every platform
 * (Math.random cannot be seeded). SplitMix32-style mixing of a 32-bit counter: fast, and its
 * streams for different seeds do not overlap in any way that matters for sampling shapes.
 */
/**
 * Uniform floats in [0, 1). Not src/random.ts's `Rng` (mulberry32): this SplitMix32 stream defines
 * every procedural scene and dataset item by seed, so it stays, under its own name.
 */
export type Uniform01 = () => number;

/** Uniform floats in [0, 1) from a 32-bit seed. */
export function makeRng(seed: number): Uniform01 {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return (z >>> 0) / 4294967296;
  };
}

/** A seed for item `index` of a stream seeded by `seed` (so items are independent of count). */
export function childSeed(seed: number, index: number): number {
  return makeRng((Math.imul(seed >>> 0, 0x27d4eb2f) ^ Math.imul(index + 1, 0x165667b1)) >>> 0)() * 4294967296;
}

/** A uniformly chosen element. */
export function pick<T>(rng: Uniform01, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}
