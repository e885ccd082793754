/**
 * Errors are typed with a code; the HTTP status for each code is decided in one place.
 * Routes throw `AppError`; one express middleware renders `{ error: { code, message } }`.
 */
export const HTTP_STATUS = {
  bad_request: 400,
  invalid_body: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof HTTP_STATUS;

/** A command-line problem the user can act on: the `weir` command prints its message alone, no stack. */
export class UsageError extends Error {}

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
    opts?: ErrorOptions,
  ) {
    super(message, opts);
    this.name = new.target.name;
  }
  get status(): number {
    return HTTP_STATUS[this.code];
  }
}
