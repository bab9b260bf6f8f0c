/** Field-level detail of a rejected request: which field, and why. */
export interface FieldIssue {
  field: string;
  message: string;
}

/**
 * The one error vocabulary of every service. `code` is stable and machine-readable; `expose` says
 * whether `message` may be shown to the caller (5xx messages are replaced by a generic one).
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly expose = status < 500,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export class BadRequestError extends AppError {
  constructor(message: string, details?: unknown) {
    super(400, 'bad_request', message, details);
    this.name = 'BadRequestError';
  }
}

export class ValidationError extends AppError {
  constructor(
    readonly issues: FieldIssue[],
    status = 422,
  ) {
    super(status, 'validation_failed', `invalid ${issues.map((issue) => issue.field).join(', ')}`, issues);
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'not found') {
    super(404, 'not_found', message);
    this.name = 'NotFoundError';
  }
}

/** A dependency (Postgres, Redis) is unreachable: the caller should retry later. */
export class ServiceUnavailableError extends AppError {
  constructor(message: string, cause?: unknown) {
    super(503, 'service_unavailable', message, undefined, true);
    this.name = 'ServiceUnavailableError';
    if (cause !== undefined) this.cause = cause;
  }
}
