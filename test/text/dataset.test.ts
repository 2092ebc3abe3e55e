import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prng } from '../../src/engine/nn.ts';
import { TonyError } from '../../src/errors.ts';
import { trainBpe } from '../../src/text/bpe.ts';
import { windowBatch } from '../../src/text/corpus.ts';
import { buildShards, openShards } from '../../src/text/dataset.ts';
import { o200kBase } from '../../src/text/o200k.ts';
import { randomString } from './strings.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tony-shards-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const corpus = readFileSync(join(import.meta.dirname, 'fixtures', 'bpe_corpus.txt'), 'utf8');
const tok = await trainBpe([corpus], { vocabSize: 600 });

// A small tree: 40 source files, one exact duplicate, one too large, one binary, one not UTF-8,
// an excluded folder and a file with another extension.
const root = join(tmp, 'src');
const texts = new Map<string, string>();
const r = prng(51);
for (let i = 0; i < 40; i++) {
  const path = `${i % 3 ? 'pkg' : 'lib'}/mod${String(i).padStart(2, '0')}.py`;
  const text = `# module ${i}\n${randomString(r, 20).replaceAll('\0', '')}\n`; // a NUL would mark it binary
  texts.set(path, text);
}
for (const [p, t] of texts) {
  mkdirSync(join(root, p, '..'), { recursive: true });
  writeFileSync(join(root, p), t);
}
writeFileSync(join(root, 'lib/zz_copy_of_mod00.py'), texts.get('lib/mod00.py')!);
writeFileSync(join(root, 'big.py'), 'x = 1\n'.repeat(1000));
writeFileSync(join(root, 'blob.py'), Buffer.from([0x70, 0x00, 0x01, 0x02]));
writeFileSync(join(root, 'latin1.py'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
mkdirSync(join(root, 'skip'), { recursive: true });
writeFileSync(join(root, 'skip/ignored.py'), 'print("no")\n');
writeFileSync(join(root, 'notes.md'), '# not included\n');

const VAL_FRACTION = 0.3;
const isVal = (path: string) => createHash('sha1').update(path).digest().readUInt32BE(0) / 2 ** 32 < VAL_FRACTION;
const sortedPaths = [...texts.keys()].sort();
/** The split streams built in memory, independently of the shard code. */
const reference = (split: 'train' | 'val') =>
  Uint16Array.from(
    sortedPaths.filter((p) => isVal(p) === (split === 'val')).flatMap((p) => [...tok.encode(texts.get(p)!), tok.special.eot]),
  );

const out = join(tmp, 'shards');
const index = await buildShards({
  roots: [root],
  include: ['**/*.py'],
  exclude: ['skip/**'],
  maxFileBytes: 2000,
  valFraction: VAL_FRACTION,
  tokenizer: tok,
  out,
  shardTokens: 300,
});

describe('buildShards', () => {
  it('filters the files: duplicates, too large, binary, not UTF-8, excluded, other extensions', () => {
    expect(index.stats).toMatchObject({ files: 40, duplicates: 1, tooLarge: 1, binary: 1, notUtf8: 1 });
    const paths = [...index.splits.train.documents, ...index.splits.val.documents].map((d) => d.path).sort();
    expect(paths).toEqual(sortedPaths);
  });

  it('splits by a stable hash of the path and packs documents with end-of-text, in several uint16 shards', async () => {
    expect(index.dtype).toBe('uint16');
    expect(index.splits.val.documents.map((d) => d.path)).toEqual(sortedPaths.filter(isVal));
    expect(index.splits.train.shards.length).toBeGreaterThan(2);
    const sh = await openShards(out);
    for (const split of ['train', 'val'] as const) {
      const got = Uint16Array.from([...sh.tokens(split)].flatMap((c) => [...c]));
      expect(got).toEqual(reference(split));
      for (const d of sh.documents(split)) expect(tok.decode([...d.ids])).toBe(`${texts.get(d.path)}<|endoftext|>`);
    }
    sh.close();
  });

  it('streams the same windows windowBatch draws from the stream in memory', async () => {
    const sh = await openShards(out);
    for (const split of ['train', 'val'] as const) {
      const ref = reference(split);
      for (const [i, seed] of [
        [0, 0],
        [1, 0],
        [7, 3],
        [123, 9],
      ] as const) {
        const got = sh.batch(split, i, 4, 32, { seed });
        const want = windowBatch(ref, 4, 32, seed, i);
        expect(Array.from(got.idx.data as BigInt64Array)).toEqual(Array.from(want.idx!.data as BigInt64Array));
        expect(Array.from(got.targets.data as BigInt64Array)).toEqual(Array.from(want.targets!.data as BigInt64Array));
      }
    }
    // reads that span shard boundaries
    const ref = reference('train');
    expect(Array.from(sh.read('train', 250, 400))).toEqual(Array.from(ref.subarray(250, 650)));
    expect(() => sh.read('train', ref.length - 2, 5)).toThrow(TonyError);
    sh.close();
  });

  it('applies context-level FIM to windows, deterministically, with targets shifted by one', async () => {
    const sh = await openShards(out);
    const plain = sh.batch('train', 5, 3, 64, { seed: 1 });
    expect(sh.batch('train', 5, 3, 64, { seed: 1, fim: { rate: 0 } })).toEqual(plain);
    const a = sh.batch('train', 5, 3, 64, { seed: 1, fim: { rate: 1 } });
    expect(sh.batch('train', 5, 3, 64, { seed: 1, fim: { rate: 1 } })).toEqual(a);
    const idx = Array.from(a.idx.data as BigInt64Array, Number);
    const tgt = Array.from(a.targets.data as BigInt64Array, Number);
    for (let b = 0; b < 3; b++) for (let t = 0; t + 1 < 64; t++) expect(tgt[b * 64 + t]).toBe(idx[b * 64 + t + 1]);
    expect(idx.includes(tok.special.fimPrefix) && idx.includes(tok.special.fimMiddle)).toBe(true);
    sh.close();
  });

  it('applies document-level FIM to training documents only', async () => {
    const dir = join(tmp, 'docfim');
    const idx = await buildShards({
      roots: [root],
      include: ['**/*.py'],
      exclude: ['skip/**'],
      maxFileBytes: 2000,
      valFraction: VAL_FRACTION,
      tokenizer: tok,
      out: dir,
      fim: { rate: 1, mode: 'psm', seed: 4 },
    });
    const sh = await openShards(dir);
    for (const d of sh.documents('train')) expect(d.ids[0]).toBe(tok.special.fimPrefix);
    for (const d of sh.documents('val')) expect(tok.decode([...d.ids])).toBe(`${texts.get(d.path)}<|endoftext|>`);
    expect(idx.options.fim).toMatchObject({ rate: 1, mode: 'psm', seed: 4 });
    sh.close();
  });

  it('always holds out a validation document, and uses uint32 for large vocabularies', async () => {
    const dir = join(tmp, 'o200k');
    const idx = await buildShards({ roots: [root], include: ['lib/*.py'], valFraction: 0, tokenizer: o200kBase(), out: dir });
    expect(idx.dtype).toBe('uint32');
    expect(idx.splits.val.documents).toHaveLength(1);
    expect(idx.splits.val.documents[0]!.path).toBe('lib/mod39.py'); // the last training document
    const sh = await openShards(dir);
    const o = o200kBase();
    const want = [...o.encode(texts.get('lib/mod39.py')!), o.special.eot];
    expect(Array.from(sh.read('val', 0, want.length))).toEqual(want);
    sh.close();
  });

  it('reports corrupt or missing shards as clear data errors', async () => {
    const bad = (name: string) => {
      const dir = join(tmp, name);
      cpSync(out, dir, { recursive: true });
      return dir;
    };
    const expectError = async (dir: string, msg: RegExp) => {
      const err = await openShards(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TonyError);
      expect((err as TonyError).kind).toBe('data');
      expect((err as TonyError).message).toMatch(msg);
    };
    const first = index.splits.train.shards[0]!.file;
    let dir = bad('magic');
    const buf = readFileSync(join(dir, first));
    buf[0] = 0x58;
    writeFileSync(join(dir, first), buf);
    await expectError(dir, /not a Tony token shard/);
    dir = bad('version');
    buf[0] = 'T'.charCodeAt(0);
    buf.writeUInt32LE(7, 8);
    writeFileSync(join(dir, first), buf);
    await expectError(dir, /format version 7/);
    dir = bad('count');
    buf.writeUInt32LE(1, 8);
    buf.writeBigUInt64LE(5n, 24);
    writeFileSync(join(dir, first), buf);
    await expectError(dir, /holds 5 tokens by its header/);
    dir = bad('truncated');
    truncateSync(join(dir, first), 40);
    await expectError(dir, /truncated/);
    dir = bad('noindex');
    rmSync(join(dir, 'index.json'));
    await expectError(dir, /no index.json/);
    await expect(buildShards({ roots: [join(tmp, 'nowhere')], tokenizer: tok, out: join(tmp, 'x') })).rejects.toThrow(/not a directory/);
    await expect(buildShards({ roots: [root], include: ['**/*.rs'], tokenizer: tok, out: join(tmp, 'x') })).rejects.toThrow(
      /0 training and 0 validation/,
    );
  });
});
