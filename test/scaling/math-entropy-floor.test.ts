/**
 * mathEntropyFloor over a shard directory: which problems each math-NNN.txt holds, and what a token is.
 * Byte tokens make the oracle hand-countable: a document's tokens are its UTF-8 bytes plus one
 * end-of-text; its nats are the sum of its problems' −ln P (problemLogProb, checked against the
 * enumerated generator in math-entropy.test.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TonyError } from '../../src/errors.ts';
import { generateProblems } from '../../src/math/problems.ts';
import { mathEntropyFloor, problemLogProb, problemText } from '../../src/scaling/math-entropy.ts';
import { buildShards } from '../../src/text/dataset.ts';
import { ByteTokenizer } from '../../src/text/tokenizer.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tony-entropy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('mathEntropyFloor', () => {
  it('scores files 0 and 2 as problems 0–3 and 8–11 of the seed, per byte token', async () => {
    const problems = generateProblems({ split: 'train', count: 12, seed: 7 });
    mkdirSync(join(tmp, 'text'));
    // Files 0 and 2 only: the floor must map a file's number to its problems, not count files.
    for (const f of [0, 2])
      writeFileSync(
        join(tmp, 'text', `math-00${f}.txt`),
        problems
          .slice(4 * f, 4 * f + 4)
          .map(problemText)
          .join(''),
      );
    await buildShards({ roots: [join(tmp, 'text')], valFraction: 0, tokenizer: new ByteTokenizer(), out: join(tmp, 'shards') });

    const mine = [...problems.slice(0, 4), ...problems.slice(8, 12)];
    const nats = -mine.reduce((a, p) => a + problemLogProb(p, { split: 'train' }), 0);
    const tokens = mine.reduce((a, p) => a + Buffer.byteLength(problemText(p)), 0) + 2; // + one end-of-text per file
    // buildShards keeps one document for validation even at valFraction 0: score both splits.
    const [a, b] = await Promise.all(
      (['train', 'val'] as const).map((shardSplit) =>
        mathEntropyFloor(join(tmp, 'shards'), { split: 'train', seed: 7, perFile: 4, shardSplit }),
      ),
    );
    expect(a!.documents + b!.documents).toBe(2);
    expect(a!.problems + b!.problems).toBe(8);
    expect(a!.tokens + b!.tokens).toBe(tokens);
    expect(a!.nats + b!.nats).toBeCloseTo(nats, 9);
    expect(a!.natsPerToken).toBeCloseTo(a!.nats / a!.tokens, 12);

    // Another seed wrote other text: refused, naming the file.
    await expect(mathEntropyFloor(join(tmp, 'shards'), { split: 'train', seed: 8, perFile: 4, shardSplit: 'train' })).rejects.toThrow(
      /math-00[02]\.txt' is not problems [08]…1?[13] of seed 8/,
    );
    await expect(mathEntropyFloor(join(tmp, 'text'), { split: 'train', seed: 7, perFile: 4 })).rejects.toThrow(TonyError);
  });
});
