/**
 * Stop strings, in one place: where the earliest one starts, and text cut before it. Used by token
 * generation (streaming: it searches only the text that could hold a new match), the eval
 * providers and HumanEval scoring.
 */

/**
 * The earliest of `stops` in `text` (searching from `from`) and where it starts, or undefined.
 * Empty stop strings never match.
 */
export function earliestStop(text: string, stops: readonly string[] | undefined, from = 0): { at: number; string: string } | undefined {
  let best: { at: number; string: string } | undefined;
  for (const s of stops ?? []) {
    if (!s) continue;
    const i = text.indexOf(s, from);
    if (i >= 0 && (!best || i < best.at)) best = { at: i, string: s };
  }
  return best;
}

/** Index where the earliest of `stops` starts in `text`, searching from `from`, or −1. */
export function stopIndex(text: string, stops: readonly string[] | undefined, from = 0): number {
  return earliestStop(text, stops, from)?.at ?? -1;
}

/** `text` cut before the earliest of `stops`; `cut` says whether one was found. */
export function cutAtStop(text: string, stops: readonly string[] | undefined): { text: string; cut: boolean } {
  const at = stopIndex(text, stops);
  return at < 0 ? { text, cut: false } : { text: text.slice(0, at), cut: true };
}
