/**
 * The CLI's flag parsers, one set for every command: a bad value is a usage error that names the
 * flag, what it must be, and what was given — `--steps must be a positive integer, got 'ten'`.
 */
import { Option } from 'commander';
import { TonyError } from '../errors.ts';

/** Range and kind of a numeric flag. */
export interface NumberRule {
  integer?: boolean;
  min?: number;
  max?: number;
  /** `min` itself is refused (e.g. a learning rate > 0). */
  exclusiveMin?: boolean;
}

function describeRule({ integer = false, min = -Infinity, max = Infinity, exclusiveMin = false }: NumberRule): string {
  const what = integer ? 'an integer' : 'a number';
  if (integer && min === 1 && max === Infinity) return 'a positive integer';
  if (min === 0 && exclusiveMin && max === Infinity) return integer ? 'a positive integer' : 'a positive number';
  if (min > -Infinity && max < Infinity) return `${what} in [${min}, ${max}]`;
  if (min > -Infinity) return `${what} ${exclusiveMin ? '>' : '≥'} ${min}`;
  if (max < Infinity) return `${what} ≤ ${max}`;
  return what;
}

/** Parse a number against `rule`; `flag` is the name without dashes, e.g. 'steps'. */
export function parseNumber(flag: string, v: string, rule: NumberRule = {}): number {
  const { integer = false, min = -Infinity, max = Infinity, exclusiveMin = false } = rule;
  const x = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(x) || (integer && !Number.isInteger(x)) || x < min || (exclusiveMin && x === min) || x > max) {
    throw new TonyError('usage', `--${flag} must be ${describeRule(rule)}, got '${v}'`);
  }
  return x;
}

/** A commander argument parser for a numeric flag. */
export const number =
  (flag: string, rule: NumberRule = {}) =>
  (v: string) =>
    parseNumber(flag, v, rule);
/** Any integer ≥ min (default: any integer). */
export const integer = (flag: string, min = -Infinity, max = Infinity) => number(flag, { integer: true, min, max });
/** An integer ≥ 1: counts, sizes, steps. */
export const count = (flag: string) => number(flag, { integer: true, min: 1 });
/** A number > 0: rates, durations. */
export const positive = (flag: string) => number(flag, { min: 0, exclusiveMin: true });
/** A number in [0, 1]. */
export const fraction = (flag: string) => number(flag, { min: 0, max: 1 });

/** A repeatable flag's values, in order. */
export const collect = (v: string, prev: string[]) => [...prev, v];

/** `--set nLayer=6` → { nLayer: 6 }: values parsed as JSON when they look like it. */
export function parseSets(sets: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq < 1) throw new TonyError('usage', `--set expects key=value, got '${s}'`);
    const raw = s.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      /* a plain string */
    }
    out[s.slice(0, eq)] = value;
  }
  return out;
}

/** `--device` and `--threads`: every command that runs a model takes both. */
export function runtimeOptions(): Option[] {
  return [
    new Option('--device <device>', 'execution provider').choices(['cpu', 'webgpu', 'cuda']).default('cpu'),
    new Option('--threads <n>', 'CPU threads of the runtime (default: all cores)').argParser(count('threads')),
  ];
}
