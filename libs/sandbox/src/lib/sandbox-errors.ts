import { AppError } from '@sandbox-relay/service-kit';
import { SandboxSpec, type SandboxProviderKind } from './sandbox-provider';

/** Stable, machine-readable failure reasons. Callers branch on `retryable`, operators read `code`. */
export const SANDBOX_ERROR_CODES = [
  'invalid_spec',
  'unauthorized',
  'not_found',
  'upstream_rejected',
  'upstream_unavailable',
  'timeout',
  'invalid_response',
  'sandbox_failed',
  'worker_bundle_missing',
  'repository_clone_failed',
  'worker_start_failed',
] as const;
export type SandboxErrorCode = (typeof SANDBOX_ERROR_CODES)[number];

export type SandboxOperation = 'spawn' | 'terminate' | 'status' | 'logs';

export interface SandboxProviderErrorInit {
  code: SandboxErrorCode;
  message: string;
  provider: SandboxProviderKind;
  operation: SandboxOperation;
  /** Whether doing the same thing again later may succeed (5xx, 429, timeouts, unreachable). */
  retryable: boolean;
  /** The upstream HTTP status, when the failure came from an HTTP answer. */
  upstreamStatus?: number;
  sandboxId?: string;
  cause?: unknown;
}

/** HTTP status the relay answers with when this error reaches an express handler (rule 18). */
function httpStatusFor(code: SandboxErrorCode, retryable: boolean): number {
  if (code === 'invalid_spec') return 400;
  if (code === 'not_found') return 404;
  return retryable ? 503 : 502;
}

/**
 * Every outbound failure of a provider. Extends the one error model (`AppError`, rule 17) so the
 * express error middleware maps it without knowing about sandboxes.
 */
export class SandboxProviderError extends AppError {
  readonly retryable: boolean;
  readonly provider: SandboxProviderKind;
  readonly operation: SandboxOperation;
  readonly upstreamStatus?: number;
  readonly sandboxId?: string;
  declare readonly code: SandboxErrorCode;

  constructor(init: SandboxProviderErrorInit) {
    const details = {
      provider: init.provider,
      operation: init.operation,
      retryable: init.retryable,
      upstreamStatus: init.upstreamStatus,
      sandboxId: init.sandboxId,
    };
    super(httpStatusFor(init.code, init.retryable), init.code, init.message, details);
    this.name = 'SandboxProviderError';
    this.retryable = init.retryable;
    this.provider = init.provider;
    this.operation = init.operation;
    this.upstreamStatus = init.upstreamStatus;
    this.sandboxId = init.sandboxId;
    if (init.cause !== undefined) this.cause = init.cause;
  }
}

export function isSandboxProviderError(error: unknown): error is SandboxProviderError {
  return error instanceof SandboxProviderError;
}

/** Validates a spec at the provider's door; a bad spec is the caller's bug, never worth a retry. */
export function parseSandboxSpec(spec: unknown, provider: SandboxProviderKind): SandboxSpec {
  const parsed = SandboxSpec.safeParse(spec);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new SandboxProviderError({
    code: 'invalid_spec',
    message: `invalid sandbox spec: ${issues.join('; ')}`,
    provider,
    operation: 'spawn',
    retryable: false,
  });
}

/** Spawning needs the bundled worker on disk; say so plainly when it is not (a deploy without a build). */
export function workerBundleMissing(path: string, provider: SandboxProviderKind, cause: unknown): SandboxProviderError {
  return new SandboxProviderError({
    code: 'worker_bundle_missing',
    message: `worker bundle ${path} is not readable (build it with node tools/build-worker.mjs)`,
    provider,
    operation: 'spawn',
    retryable: false,
    cause,
  });
}
