/**
 * `tony` — the command line. Each area registers its commands from its own file; this file only
 * assembles them and is the one error boundary: a TonyError prints its message and hint and exits 2,
 * and so does a file-system failure the user can fix (a missing, read-only or full output location),
 * named by its path; anything else is a bug and prints its stack.
 */
import { Command, CommanderError } from 'commander';
import { TonyError } from '../errors.ts';
import { fileSystemError, writeFileAtomic } from '../io.ts';
import { areasFor } from './areas.ts';

const program = new Command('tony')
  .description('Define, train, sample, evaluate and serve generative models — TypeScript → ONNX → ONNX Runtime.')
  .showHelpAfterError()
  .exitOverride();

// Areas register here (src/cli/areas.ts): only the one that owns the command, so a command
// imports only what it uses.
for (const area of areasFor(process.argv)) (await area.load()).register(program);
// bin/tony.js keeps `tony --help`'s text with the CLI bundle, to print it without loading every area.
const helpCache = process.env.TONY_HELP_CACHE;
if (helpCache) {
  delete process.env.TONY_HELP_CACHE;
  await writeFileAtomic(helpCache, program.helpInformation());
}

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
