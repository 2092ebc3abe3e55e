/** Every op Tony defines. Importing this module registers them all. */

export * from './conv.ts';
export * from './elementwise.ts';
export * from './linalg.ts';
export * from './nn.ts';
export * from './random.ts';
export * from './reduce.ts';
export * from './shape.ts';
export * from './signal.ts';
