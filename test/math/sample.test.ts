// Labelled sampling through a provider (what an OpenAI-compatible endpoint is behind `--model URL`):
// a scripted provider answers; labels follow GSM8K's rule (a sample without "####" is wrong, not an
// error), and the calculator reaches the provider as a hook only when asked for.
import { describe, expect, it } from 'vitest';
import type { GenerateOptions, Generation, Provider } from '../../src/evals/providers.ts';
import { sampleSolutions } from '../../src/math/sample.ts';

const problems = [
  { question: 'Natalia sold 48 clips in April and half as many in May. How many in all?', answer: '48/2 = <<48/2=24>>24\n#### 72' },
  { question: 'Two plus two?', answer: '#### 4' },
];

function scripted(answers: string[][]): Provider & { hooks: Array<GenerateOptions['hook']> } {
  const hooks: Array<GenerateOptions['hook']> = [];
  return {
    name: 'scripted',
    hooks,
    async generate(prompt: string, g: GenerateOptions): Promise<Generation[]> {
      hooks.push(g.hook);
      const i = prompt.includes('Natalia') ? 0 : 1;
      return answers[i]!.slice(0, g.n).map((text) => ({ text, finishReason: 'stop' }));
    },
  };
}

describe('sampleSolutions through a provider', () => {
  it('labels by final answer; no "####" is wrong, not an error', async () => {
    const p = scripted([
      [' so 72\n#### 72', ' #### 7,2', ' I think 72'],
      [' #### 4', ' #### 4.0', ' ####4'],
    ]);
    const out = await sampleSolutions(p, problems, { n: 3, temperature: 0.7, topP: 1, maxTokens: 50, calculator: true, seed: 0 });
    expect(out.map((s) => [s.task_id, s.answer, s.correct])).toEqual([
      ['gsm8k/0', '72', true],
      ['gsm8k/0', '72', true], // commas removed, as the reference does
      ['gsm8k/0', null, false],
      ['gsm8k/1', '4', true],
      ['gsm8k/1', '4.0', false], // exact string match
      ['gsm8k/1', null, false], // "####4" has no space: not an answer line
    ]);
    expect(out[0]!.question).toBe(problems[0]!.question);
    expect(p.hooks.every((h) => h?.stopAt === '=' && h.force('<<48/2=') === '24>>')).toBe(true);
    const off = scripted([[' #### 72'], [' #### 4']]);
    await sampleSolutions(off, problems, { n: 1, temperature: 0, topP: 1, maxTokens: 50, calculator: false, seed: 0 });
    expect(off.hooks).toEqual([undefined, undefined]);
  });
});
