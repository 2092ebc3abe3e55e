// GSM8K: extraction as the released code does it, the calculator against hand-computed values,
// majority vote, and scoring of a small file.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { calculatorHook, evaluateArithmetic, formatNumber } from '../../src/evals/calculator.ts';
import { evaluateGsm8k, extractAnswer, majorityVote } from '../../src/evals/gsm8k.ts';

const REFERENCE =
  'Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72';

describe('answer extraction', () => {
  it('takes the first #### number, commas removed, and the A: form of model samples', () => {
    expect(extractAnswer(REFERENCE)).toBe('72');
    expect(extractAnswer('so\n#### 1,234\n#### 5')).toBe('1234');
    expect(extractAnswer('#### -3.5')).toBe('-3.5');
    expect(extractAnswer('reasoning... A: 7\nmore A: 18')).toBe('18');
    expect(extractAnswer('no answer here')).toBeUndefined();
  });

  it('majority vote ignores invalid samples and breaks ties by first seen', () => {
    expect(majorityVote(['#### 3', '#### 4', 'junk', '#### 4'])).toBe('4');
    expect(majorityVote(['#### 5', '#### 6'])).toBe('5');
    expect(majorityVote(['junk'])).toBeUndefined();
  });
});

describe('calculator', () => {
  it('evaluates + - * / ( ) and unary minus with the usual precedence', () => {
    expect(evaluateArithmetic('48/2')).toBe(24);
    expect(evaluateArithmetic('2+3*4')).toBe(14);
    expect(evaluateArithmetic('(2+3)*4')).toBe(20);
    expect(evaluateArithmetic('10-4-3')).toBe(3);
    expect(evaluateArithmetic('-(3 + 4) * -2')).toBe(14);
    expect(evaluateArithmetic('1,200*.5')).toBe(600);
    expect(evaluateArithmetic('7/2')).toBe(3.5);
  });

  it('refuses anything that is not arithmetic (it never evals)', () => {
    for (const bad of ['2**10', 'abs(3)', '__import__("os")', '1/0', '(1+2', '1+', '', 'x=1', '3 4']) {
      expect(evaluateArithmetic(bad), bad).toBeUndefined();
    }
  });

  it('formats integers without a decimal point and others with up to 10 decimals', () => {
    expect(formatNumber(24)).toBe('24');
    expect(formatNumber(0.1 * 3 * 10)).toBe('3');
    expect(formatNumber(1 / 3)).toBe('0.3333333333');
    expect(formatNumber(2.5)).toBe('2.5');
    expect(formatNumber(-0)).toBe('0');
  });

  it('forces result>> only after an open <<expr=', () => {
    expect(calculatorHook('sold <<48/2=')).toBe('24>>');
    expect(calculatorHook('sold <<48/2=24>> and x =')).toBeUndefined();
    expect(calculatorHook('x = ')).toBeUndefined();
    expect(calculatorHook('<<a+b=')).toBeUndefined();
  });
});

describe('evaluateGsm8k', () => {
  it('scores test@1, mean accuracy and majority vote, and writes results', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tony-gsm-'));
    const data = join(dir, 'test.jsonl');
    writeFileSync(
      data,
      [
        { question: 'q0', answer: REFERENCE },
        { question: 'q1', answer: 'x\n#### 1,000' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const samples = join(dir, 'samples.jsonl');
    const rows = [
      { task_id: 'gsm8k/0', completion: '#### 71' }, // first sample wrong...
      { task_id: 'gsm8k/0', completion: '#### 72' },
      { task_id: 'gsm8k/0', completion: 'A: 72' }, // ...but the majority is right
      { question: 'q1', completion: '#### 1000' },
      { question: 'q1', completion: '#### 999' },
      { question: 'q1', completion: '#### 1,000' },
    ];
    writeFileSync(samples, rows.map((r) => JSON.stringify(r)).join('\n'));
    const r = await evaluateGsm8k({ data, samples });
    expect(r.metrics['test@1']).toBe(0.5);
    expect(r.metrics['mean accuracy']).toBeCloseTo(4 / 6, 15);
    expect(r.metrics['maj@3']).toBe(1);
    const lines = readFileSync(`${samples}_results.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.correct)).toEqual([false, true, true, true, false, true]);
  });

  it('names the sample it cannot match', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tony-gsm-'));
    writeFileSync(join(dir, 'd.jsonl'), JSON.stringify({ question: 'q', answer: '#### 1' }));
    writeFileSync(join(dir, 's.jsonl'), JSON.stringify({ task_id: 'gsm8k/5', completion: '#### 1' }));
    await expect(evaluateGsm8k({ data: join(dir, 'd.jsonl'), samples: join(dir, 's.jsonl') })).rejects.toThrow(/sample 1: cannot match/);
  });
});
