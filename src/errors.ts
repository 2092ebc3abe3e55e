/**
 * Tony's one error type. Every error a user can cause is a TonyError with a kind, a message that
 * names the values involved, and a hint that says how to fix it. The CLI, the server and the studio
 * each map these once, at their boundary.
 */
export type ErrorKind =
  | 'shape' // tensor shapes or dtypes do not fit an op
  | 'config' // unknown key, bad value
  | 'checkpoint' // truncated, mismatched or foreign checkpoint file
  | 'data' // malformed input data (files, lines, formats)
  | 'sandbox' // isolation missing or misconfigured
  | 'device' // execution provider unavailable
  | 'numeric' // NaN/Inf during training
  | 'io' // a path that cannot be read or written: missing, read-only, full, a file where a directory should be
  | 'usage'; // bad CLI/API arguments

export class TonyError extends Error {
  readonly kind: ErrorKind;
  readonly hint: string | undefined;

  constructor(kind: ErrorKind, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = `${kind[0]!.toUpperCase()}${kind.slice(1)}Error`;
    this.kind = kind;
    this.hint = hint;
  }

  /** `message` plus the hint, as the CLI prints it. */
  format(): string {
    return this.hint ? `${this.message}\n  hint: ${this.hint}` : this.message;
  }
}

export const shapeError = (msg: string, hint?: string) => new TonyError('shape', msg, hint);
export const configError = (msg: string, hint?: string) => new TonyError('config', msg, hint);
export const dataError = (msg: string, hint?: string) => new TonyError('data', msg, hint);
