/**
 * Typed errors of the operations layer. Each front-end maps them once
 * (exit codes over SSH, reply text in Matrix, HTTP status).
 */
export type ErrorKind = 'usage' | 'permission' | 'not_found' | 'conflict' | 'unavailable' | 'failed';

export class LabdError extends Error {
  readonly kind: ErrorKind = 'failed';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class UsageError extends LabdError {
  override readonly kind = 'usage' as const;
  /** The command whose usage text should accompany the error, when known. */
  commandPath?: string[];
}
export class PermissionDenied extends LabdError {
  override readonly kind = 'permission' as const;
}
export class NotFound extends LabdError {
  override readonly kind = 'not_found' as const;
}
export class Conflict extends LabdError {
  override readonly kind = 'conflict' as const;
}
export class Unavailable extends LabdError {
  override readonly kind = 'unavailable' as const;
}
export class Failed extends LabdError {
  override readonly kind = 'failed' as const;
}

export function errorKind(err: unknown): ErrorKind {
  return err instanceof LabdError ? err.kind : 'failed';
}

/** A message safe to show a user: internal errors are not echoed verbatim. */
export function publicMessage(err: unknown): string {
  if (err instanceof LabdError) return err.message;
  return 'internal error (see the server log)';
}
