/** Tony's audio foundations: WAV, resampling, STFT/mel, Griffin-Lim, metrics, corpora, plots. */

export * from './fft.ts';
export * from './griffinlim.ts';
export * from './manifest.ts';
export * from './mel.ts';
export * from './metrics.ts';
export * from './music.ts';
export * from './npy.ts';
export * from './plot.ts';
export { Rng } from './random.ts';
export * from './resample.ts';
export * from './speech.ts';
export * from './stft.ts';
export * from './wav.ts';
