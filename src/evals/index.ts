/** Evaluation of code and math samples: loaders, pass@k, HumanEval(-infilling), GSM8K, providers, the sandbox. */

export * from './calculator.ts';
export * from './data.ts';
export { type Execution, executeProgram, LANGUAGES, type Language } from './execute.ts';
export * from './generate.ts';
export * from './gsm8k.ts';
export * from './humaneval.ts';
export * from './passk.ts';
export * from './providers.ts';
export { describeLevel, enforcement, formatReport, probeIsolation, Sandbox } from './sandbox.ts';
