#!/usr/bin/env node
// The `tony` command. Tony ships TypeScript sources and runs them through tsx's loader; worker
// threads that Tony starts inherit the same loader (see src/engine/runtime.ts).
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';

register('tsx/esm', pathToFileURL('./'));
await import('../src/cli/main.ts');
