/**
 * The plain (non-TTY) progress line: rate and ETA count only this process's work, so a run resumed
 * at step 2,100 does not claim the earlier steps were done in its first seconds. Oracle: the rate
 * and ETA worked out by hand from a stubbed clock.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { progressBar } from '../../src/cli/progress.ts';

describe('progressBar (plain lines)', () => {
  afterEach(() => vi.restoreAllMocks());

  const lineAfter = (seconds: number, p: { done: number; total: number; from?: number }) => {
    const tty = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');
    Object.defineProperty(process.stderr, 'isTTY', { value: false, configurable: true });
    const now = vi.spyOn(Date, 'now').mockReturnValue(1_000_000);
    const bar = progressBar('train', 'steps');
    now.mockReturnValue(1_000_000 + seconds * 1000);
    const out: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => out.push(String(s)) > 0);
    bar.update(p);
    if (tty) Object.defineProperty(process.stderr, 'isTTY', tty);
    else delete (process.stderr as { isTTY?: boolean }).isTTY;
    return out.join('');
  };

  it('counts from the first step of a fresh run', () => {
    // 30 steps in 10 s: 3.0 steps/s; 70 left: 23 s.
    expect(lineAfter(10, { done: 30, total: 100 })).toContain('30/100 steps | 3.0 steps/s | ETA 23s');
  });

  it('counts from where a resumed run began', () => {
    // Resumed at 2,100; 10 steps in 10 s: 1.0 steps/s; 1,490 left: 1,490 s (not 2,110 steps in 10 s).
    expect(lineAfter(10, { done: 2110, total: 3600, from: 2100 })).toContain('2110/3600 steps | 1.0 steps/s | ETA 1490s');
  });
});
