/**
 * GSM8K's calculator (Cobbe et al. 2021, §3.1 and the released sampling code): the dataset's
 * solutions annotate arithmetic as `<<48/2=24>>`; at sampling time, when the text ends in `<<expr=`,
 * the sampler evaluates `expr` and forces `result>>`, overriding the model.
 *
 * `expr` is parsed by a small recursive-descent parser over digits, `.`, `+ - * /`, parentheses and
 * unary minus — never `eval`. Number formatting (the reference used Python, which prints 48/2 as
 * `24.0`): Tony writes integers without a decimal point (`24`, as the dataset's own annotations do),
 * other values with up to `DECIMALS` decimals and trailing zeros removed (`0.3333333333`).
 */

/** Decimals kept for non-integer results (the dataset's annotations rarely show more). */
const DECIMALS = 10;
/** Integers beyond 2^53 are not exact in a double; Tony declines rather than print a wrong value. */
const MAX_EXACT = Number.MAX_SAFE_INTEGER;

/**
 * Evaluate an arithmetic expression; undefined when it is not one (letters, `**`, unbalanced
 * parentheses, division by zero, a result too large to print exactly).
 *
 *   evaluateArithmetic('48/2')         // 24
 *   evaluateArithmetic('(3 + 4) * -2') // -14
 */
export function evaluateArithmetic(expr: string): number | undefined {
  const src = expr.replace(/,/g, ''); // "1,000" as people (and the dataset) write it
  let pos = 0;
  const peek = () => {
    while (src[pos] === ' ') pos++;
    return src[pos];
  };
  const fail = Symbol('fail');
  const number = (): number => {
    peek();
    const m = /^(\d+\.?\d*|\.\d+)/.exec(src.slice(pos));
    if (!m) throw fail;
    pos += m[0].length;
    return Number(m[0]);
  };
  const factor = (): number => {
    const c = peek();
    if (c === '-') {
      pos++;
      return -factor();
    }
    if (c === '+') {
      pos++;
      return factor();
    }
    if (c === '(') {
      pos++;
      const v = sum();
      if (peek() !== ')') throw fail;
      pos++;
      return v;
    }
    return number();
  };
  const product = (): number => {
    let v = factor();
    for (;;) {
      const c = peek();
      if (c === '*' && src[pos + 1] !== '*') {
        pos++;
        v *= factor();
      } else if (c === '/') {
        pos++;
        const d = factor();
        if (d === 0) throw fail;
        v /= d;
      } else return v;
    }
  };
  const sum = (): number => {
    let v = product();
    for (;;) {
      const c = peek();
      if (c === '+') {
        pos++;
        v += product();
      } else if (c === '-') {
        pos++;
        v -= product();
      } else return v;
    }
  };
  try {
    const v = sum();
    if (peek() !== undefined) return undefined;
    if (!Number.isFinite(v) || Math.abs(v) > MAX_EXACT) return undefined;
    return v;
  } catch (e) {
    if (e === fail) return undefined;
    throw e;
  }
}

/** Print a calculator result as described in the file comment. */
export function formatNumber(v: number): string {
  const rounded = Math.round(v);
  // Within float noise of an integer (0.1 * 3 * 10 = 3.0000000000000004): print the integer.
  if (Math.abs(v - rounded) < 1e-9 * Math.max(1, Math.abs(v))) return String(rounded === 0 ? 0 : rounded);
  return v.toFixed(DECIMALS).replace(/0+$/, '').replace(/\.$/, '');
}

/**
 * The sampling hook: if `text` ends in an open `<<expr=`, the text to force next (`result>>`),
 * else undefined (the model goes on by itself).
 *
 *   calculatorHook('She has <<48/2=')  // '24>>'
 */
export function calculatorHook(text: string): string | undefined {
  if (!text.endsWith('=')) return undefined;
  const open = text.lastIndexOf('<<');
  if (open < 0 || text.indexOf('>>', open) >= 0) return undefined;
  const expr = text.slice(open + 2, -1);
  if (expr.includes('=')) return undefined;
  const v = evaluateArithmetic(expr);
  return v === undefined ? undefined : `${formatNumber(v)}>>`;
}
