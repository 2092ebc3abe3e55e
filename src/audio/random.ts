/** Audio's seeded generator is Tony's (corpus text and music, Griffin-Lim's initial phase). */
export { Rng } from '../random.ts';
