/** Scaling laws: power-law fits, bootstrap intervals, the compute frontier, run readers, plots, sweeps. */
export * from './powerlaw.ts';
export * from './resample.ts';
export * from './frontier.ts';
export * from './runs.ts';
export * from './analyze.ts';
export * from './plot.ts';
export { runSweep, parseSizes, SWEEP_DEFAULTS, type SweepEvent } from './sweep.ts';
