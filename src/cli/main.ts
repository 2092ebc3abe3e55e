/**
 * `tony` — the command line. Each area registers its commands from its own file; this file only
 * assembles them and is the one error boundary: a TonyError prints its message and hint and exits 2;
 * anything else is a bug and prints its stack.
 */
import { Command, CommanderError } from 'commander';
import { TonyError } from '../errors.ts';
import { register as scaling } from './scaling.ts';
import { register as shapes } from './shapes.ts';
import { register as audio } from './audio.ts';
import { register as generate } from './generate.ts';
import { register as serve } from './serve.ts';
import { register as train } from './train.ts';
import { register as evals } from './evals.ts';

const program = new Command('tony')
  .description('Define, train, sample, evaluate and serve generative models — TypeScript → ONNX → ONNX Runtime.')
  .showHelpAfterError()
  .exitOverride();

// Areas register here, in pipeline order.
const areas: Array<(p: Command) => void> = [
  train,
  generate,
  serve,
  audio,
  shapes,
  evals,
  scaling,
];
for (const register of areas) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (err instanceof TonyError) {
    process.stderr.write(`tony: ${err.format()}\n`);
    process.exit(2);
  }
  throw err;
}
