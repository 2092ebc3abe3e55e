/** Scaling laws: power-law fits, bootstrap intervals, the compute frontier, run readers, plots, sweeps. */

export * from './analyze.ts';
export * from './frontier.ts';
export * from './plot.ts';
export * from './powerlaw.ts';
export * from './resample.ts';
export * from './runs.ts';
export { parseSizes, runSweep, SWEEP_DEFAULTS, type SweepEvent } from './sweep.ts';
