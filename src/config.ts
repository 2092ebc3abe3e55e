import { configError } from './errors.ts';

/**
 * Resolve a flat config: `defaults` gives every key, its type and its default; `overrides` may set
 * any of them. Unknown keys and values of the wrong type are errors that name the key and list the
 * valid ones. The result is frozen.
 *
 *   const cfg = resolveConfig('gpt', { nLayer: 2, dModel: 128 }, { nLayer: 4 });
 */
export function resolveConfig<T extends Record<string, unknown>>(
  what: string,
  defaults: T,
  overrides: Record<string, unknown> = {},
): Readonly<T> {
  const out: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(key in defaults)) {
      const near = closest(key, Object.keys(defaults));
      throw configError(
        `unknown ${what} config key '${key}'`,
        `${near ? `did you mean '${near}'? ` : ''}valid keys: ${Object.keys(defaults).join(', ')}`,
      );
    }
    const want = typeof defaults[key];
    if (typeof value !== want) {
      throw configError(`${what} config key '${key}' must be a ${want}, got ${JSON.stringify(value)} (${typeof value})`);
    }
    if (want === 'number' && !Number.isFinite(value as number)) {
      throw configError(`${what} config key '${key}' must be a finite number, got ${value}`);
    }
    out[key] = value;
  }
  return Object.freeze(out) as Readonly<T>;
}

function closest(key: string, keys: string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of keys) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
