import { GitHubError, type GitHubErrorKind } from '@sandbox-relay/github';
import { AppError } from '@sandbox-relay/service-kit';

/** The service runs without GitHub credentials; every workflow request answers this. */
export class GitHubNotConfiguredError extends AppError {
  constructor() {
    super(
      503,
      'github_not_configured',
      'GitHub is not configured: set GITHUB_TOKEN and GITHUB_REPOSITORY to use the branch workflow',
      undefined,
      true,
    );
    this.name = 'GitHubNotConfiguredError';
  }
}

/** A step that cannot be done in the ticket's current state (no commits yet, no pull request yet, …). */
export class WorkflowConflictError extends AppError {
  constructor(code: string, message: string, details?: unknown) {
    super(409, code, message, details);
    this.name = 'WorkflowConflictError';
  }
}

/** How each GitHub answer reaches a person at the edge. 5xx messages stay visible: they say what GitHub said. */
const HTTP_FOR: Record<GitHubErrorKind, { status: number; code: string }> = {
  ref_exists: { status: 409, code: 'ref_exists' },
  not_mergeable: { status: 409, code: 'not_mergeable' },
  head_changed: { status: 409, code: 'head_changed' },
  already_exists: { status: 409, code: 'pull_request_exists' },
  no_commits: { status: 409, code: 'no_commits' },
  not_found: { status: 502, code: 'github_not_found' },
  rate_limited: { status: 503, code: 'github_rate_limited' },
  unauthorized: { status: 502, code: 'github_unauthorized' },
  invalid: { status: 502, code: 'github_rejected' },
  unavailable: { status: 503, code: 'github_unavailable' },
};

export function gitHubAppError(error: GitHubError, repository: string): AppError {
  const { status, code } = HTTP_FOR[error.kind];
  const hint = error.kind === 'not_found' ? ` (does ${repository} exist, and can the token see it?)` : '';
  return new AppError(
    status,
    code,
    `${error.message}${hint}`,
    {
      github_status: error.status,
      ...(error.retryAfterSeconds ? { retry_after_seconds: error.retryAfterSeconds } : {}),
    },
    true,
  );
}

/** A stable code for the failure event, whatever the error. */
export function failureCode(error: unknown): { code: string; githubStatus?: number; message: string } {
  if (error instanceof GitHubError)
    return { code: HTTP_FOR[error.kind].code, githubStatus: error.status, message: error.message };
  if (error instanceof AppError) return { code: error.code, message: error.message };
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) };
}
