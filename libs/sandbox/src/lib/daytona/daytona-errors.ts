import { DaytonaConnectionError, DaytonaError, DaytonaTimeoutError } from '@daytonaio/sdk';
import { SandboxProviderError, type SandboxErrorCode, type SandboxOperation } from '../sandbox-errors';

/** Statuses worth a later retry: the request was fine, the service was not (or asked us to wait). */
function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function codeForStatus(status: number): SandboxErrorCode {
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 404) return 'not_found';
  if (isRetryableStatus(status)) return 'upstream_unavailable';
  return 'upstream_rejected';
}

/**
 * Maps whatever the SDK threw to a SandboxProviderError. The SDK already parses Daytona's error
 * body (`{statusCode, message, error}`) into `DaytonaError.message` and `.statusCode`; we keep
 * both and decide retryability once, here.
 */
export function toSandboxProviderError(
  error: unknown,
  operation: SandboxOperation,
  sandboxId?: string,
): SandboxProviderError {
  if (error instanceof SandboxProviderError) return error;
  const base = { provider: 'daytona' as const, operation, sandboxId, cause: error };
  if (!(error instanceof DaytonaError)) {
    // The SDK wraps every HTTP failure in a DaytonaError; anything else is the SDK tripping over
    // an answer it did not expect (a TypeError on a missing field), which a retry will not fix.
    const message = error instanceof Error ? error.message : String(error);
    return new SandboxProviderError({
      ...base,
      code: 'invalid_response',
      retryable: false,
      message: `daytona ${operation} failed: ${message}`,
    });
  }
  const status = error.statusCode;
  const message = `daytona ${operation} failed: ${error.message}`;
  if (status !== undefined) {
    return new SandboxProviderError({
      ...base,
      code: codeForStatus(status),
      retryable: isRetryableStatus(status),
      upstreamStatus: status,
      message,
    });
  }
  // Checked before DaytonaConnectionError: a connect timeout is both, and "timeout" says more.
  if (error instanceof DaytonaTimeoutError)
    return new SandboxProviderError({ ...base, code: 'timeout', retryable: true, message });
  if (error instanceof DaytonaConnectionError)
    return new SandboxProviderError({ ...base, code: 'upstream_unavailable', retryable: true, message });
  // No HTTP status and no transport failure: the SDK itself gave up, e.g. the sandbox reached the
  // `error` state while starting. A fresh sandbox may well start, so the caller may retry.
  return new SandboxProviderError({ ...base, code: 'sandbox_failed', retryable: true, message });
}

/** True when the SDK error means "no such sandbox" (deleted, never existed). */
export function isDaytonaNotFound(error: unknown): boolean {
  return error instanceof DaytonaError && error.statusCode === 404;
}

/**
 * True when Daytona refused because the sandbox is between states (409 "Sandbox state change in
 * progress", its StateChangeInProgressError): the same request succeeds once the transition ends.
 */
export function isDaytonaStateChangeInProgress(error: unknown): boolean {
  return error instanceof DaytonaError && error.statusCode === 409 && /state change in progress/i.test(error.message);
}
