/**
 * The one error type webnmf throws on purpose. `kind` drives the CLI's exit code:
 * 'input' and 'usage' → 2 (the user can fix it), 'runtime' and 'device' → 1.
 * Messages name the problem and the fix; they never need a stack trace to be understood.
 */
export type ErrorKind = 'usage' | 'input' | 'runtime' | 'device';

export class WebnmfError extends Error {
  readonly kind: ErrorKind;
  /** Extra data a caller can use, e.g. the last good W and H after a device loss. */
  readonly details?: Record<string, unknown>;

  constructor(kind: ErrorKind, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'WebnmfError';
    this.kind = kind;
    this.details = details;
  }
}

export const inputError = (message: string, details?: Record<string, unknown>) =>
  new WebnmfError('input', message, details);
export const usageError = (message: string) => new WebnmfError('usage', message);
