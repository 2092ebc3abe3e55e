/** Evaluation of code and math samples: loaders, pass@k, HumanEval(-infilling), GSM8K, providers, the sandbox. */
export * from './data.ts';
export * from './passk.ts';
export * from './humaneval.ts';
export * from './gsm8k.ts';
export * from './calculator.ts';
export * from './providers.ts';
export * from './generate.ts';
export { executeProgram, LANGUAGES, type Execution, type Language } from './execute.ts';
export { Sandbox, probeIsolation, formatReport, describeLevel, enforcement } from './sandbox.ts';
