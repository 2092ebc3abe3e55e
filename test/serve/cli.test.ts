/**
 * `tony serve` at the CLI boundary: bad flags and a model that cannot load are TonyErrors (which
 * src/cli/main.ts prints with their hint), never a stack trace. Serving itself is tested through
 * the library call in api.test.ts and limits.test.ts.
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { register } from '../../src/cli/serve.ts';
import { TonyError } from '../../src/errors.ts';

function program(): Command {
  const p = new Command('tony').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  register(p);
  return p;
}

describe('tony serve', () => {
  it('refuses a bad --port or --max-queue with a usage error naming the flag', async () => {
    await expect(program().parseAsync(['serve', '--model', 'm', '--port', 'eighty'], { from: 'user' })).rejects.toThrow(
      /--port must be an integer ≥ 0, got 'eighty'/,
    );
    await expect(program().parseAsync(['serve', '--model', 'm', '--max-queue', '-1'], { from: 'user' })).rejects.toThrow(
      /--max-queue must be an integer ≥ 0, got '-1'/,
    );
  });

  it('a model directory that cannot be loaded is a TonyError', async () => {
    const err = await program()
      .parseAsync(['serve', '--model', '/nonexistent/tony-model', '--port', '0'], { from: 'user' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TonyError);
  });
});
