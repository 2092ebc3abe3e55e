/**
 * Bad mixtures are named, not thrown as stack traces: the file and line of a malformed example, ids
 * outside the vocabulary, a vocabSize override. Oracle: the messages name what the input got wrong.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TonyError } from '../../../src/errors.ts';
import { omniConfig, readOmniData } from '../../../src/models/omni/train.ts';
import { OmniVocab } from '../../../src/models/omni/vocab.ts';
import { trainBpe } from '../../../src/text/bpe.ts';

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function mixture(train: string, val = '{"task":"lm","ids":[1,2],"from":0}\n') {
  const dir = await mkdtemp(join(tmpdir(), 'tony-omni-data-'));
  dirs.push(dir);
  const v = new OmniVocab(await trainBpe(['hello'], { vocabSize: 260 }), 4, 4, ['en-us+m3']);
  await writeFile(join(dir, 'vocab.json'), JSON.stringify(v.toJSON()));
  await writeFile(join(dir, 'train.jsonl'), train);
  await writeFile(join(dir, 'val.jsonl'), val);
  return { dir, v };
}

describe('omni mixture reading', () => {
  it('reads a good mixture', async () => {
    const { dir, v } = await mixture('{"task":"asr","ids":[3,4,5],"from":1}\n\n{"task":"lm","ids":[6],"from":0}\n');
    const d = await readOmniData([dir]);
    expect(d.train.map((e) => e.task)).toEqual(['asr', 'lm']);
    expect(d.vocab.size).toBe(v.size);
  });

  it('names the file and line of a malformed example', async () => {
    const { dir } = await mixture('{"task":"lm","ids":[1],"from":0}\n{not json\n');
    await expect(readOmniData([dir])).rejects.toThrow(/train\.jsonl:2: not JSON/);
    const { dir: d2 } = await mixture('{"task":"dance","ids":[1],"from":0}\n');
    await expect(readOmniData([d2])).rejects.toThrow(/train\.jsonl:1: an example needs task, ids and from/);
  });

  it('rejects ids outside the vocabulary and a vocabSize override', async () => {
    const { dir, v } = await mixture('{"task":"lm","ids":[1,99999],"from":0}\n');
    await expect(readOmniData([dir])).rejects.toThrow(`token 99999 is outside the vocabulary of ${v.size}`);
    expect(() => omniConfig({ vocabSize: 10 })).toThrow(TonyError);
    await expect(readOmniData([dir, dir])).rejects.toThrow(/one prepared directory/);
  });
});
