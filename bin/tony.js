#!/usr/bin/env node
// The `tony` command. Tony ships TypeScript sources and runs them through tsx's loader (the ONNX
// Runtime worker is plain JavaScript, so it needs no loader).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
