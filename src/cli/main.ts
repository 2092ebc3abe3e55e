/**
 * `tony` — the command line. Each area registers its commands from its own file; this file only
 * assembles them and is the one error boundary: a TonyError prints its message and hint and exits 2,
 * and so does a file-system failure the user can fix (a missing, read-only or full output location),
 * named by its path; anything else is a bug and prints its stack.
 */
import { Command, CommanderError } from 'commander';
import { TonyError } from '../errors.ts';
import { fileSystemError } from '../io.ts';
import { register as audio } from './audio.ts';
import { register as evals } from './evals.ts';
import { register as generate } from './generate.ts';
import { register as math } from './math.ts';
import { register as pointe } from './pointe.ts';
import { register as scaling } from './scaling.ts';
import { register as serve } from './serve.ts';
import { register as shapes } from './shapes.ts';
import { register as studio } from './studio.ts';
import { register as train } from './train.ts';

const program = new Command('tony')
  .description('Define, train, sample, evaluate and serve generative models — TypeScript → ONNX → ONNX Runtime.')
  .showHelpAfterError()
  .exitOverride();

// Areas register here, in pipeline order.
const areas: Array<(p: Command) => void> = [train, generate, serve, audio, shapes, pointe, math, evals, scaling, studio];
for (const register of areas) register(program);

// A reader that stops early (`tony sample … | head -2`) closes the pipe. Stop quietly, as Unix
// tools do, instead of dying on the next write with an EPIPE stack: drop further output and let the
// command wind down (sample and infill stop generating when stdout closes). Exiting on the spot
// would end ONNX Runtime's worker mid-run, which aborts the whole process (SIGABRT, status 134).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    stream.write = (() => true) as typeof stream.write;
  });
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const known = err instanceof TonyError ? err : fileSystemError(err);
  if (known) {
    process.stderr.write(`tony: ${known.format()}\n`);
    process.exit(2);
  }
  throw err;
}
