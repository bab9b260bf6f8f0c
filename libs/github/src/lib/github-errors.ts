/**
 * GitHub's answers the workflow must tell apart. The strings are GitHub's own `message` texts.
 * - `ref_exists`: 422 "Reference already exists" (creating a branch whose name is taken)
 * - `not_mergeable`: 405 "Pull Request is not mergeable" (conflicts, failing required checks, already merged)
 * - `head_changed`: 409 "Head branch was modified. Review and try the merge again." (the sha given to merge is stale)
 * - `already_exists`: 422 "A pull request already exists for …"
 * - `no_commits`: 422 "No commits between <base> and <head>"
 * - `not_found`: 404 (repository, branch or pull request missing, or invisible to the token)
 * - `rate_limited`: 403/429 rate limits still hit after the bounded retries
 * - `unauthorized`: 401 bad credentials, 403 forbidden
 * - `invalid`: any other 4xx (the request cannot succeed as sent)
 * - `unavailable`: 5xx or no answer (transient: worth retrying later)
 */
export type GitHubErrorKind =
  | 'ref_exists'
  | 'not_mergeable'
  | 'head_changed'
  | 'already_exists'
  | 'no_commits'
  | 'not_found'
  | 'rate_limited'
  | 'unauthorized'
  | 'invalid'
  | 'unavailable';

export class GitHubError extends Error {
  constructor(
    readonly kind: GitHubErrorKind,
    /** GitHub's HTTP status; 0 when no answer came. */
    readonly status: number,
    message: string,
    /** Seconds GitHub asked us to wait (`retry-after`), if it said. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'GitHubError';
  }

  /** Worth trying again later: GitHub was unavailable or still rate limiting us. */
  get retryable(): boolean {
    return this.kind === 'unavailable' || this.kind === 'rate_limited';
  }
}

interface OctokitLikeError {
  status?: unknown;
  message?: unknown;
  response?: { data?: unknown; headers?: Record<string, string | number | undefined> };
}

function githubMessage(error: OctokitLikeError): string {
  const data = error.response?.data as { message?: unknown; errors?: { message?: unknown }[] } | undefined;
  const details = (data?.errors ?? [])
    .map((item) => item?.message)
    .filter((text): text is string => typeof text === 'string');
  const main =
    typeof data?.message === 'string'
      ? data.message
      : typeof error.message === 'string'
        ? error.message
        : 'GitHub request failed';
  return details.length > 0 ? `${main}: ${details.join('; ')}` : main;
}

function kindOf(status: number, message: string): GitHubErrorKind {
  if (status === 422 && /reference already exists/i.test(message)) return 'ref_exists';
  if (status === 422 && /pull request already exists/i.test(message)) return 'already_exists';
  if (status === 422 && /no commits between/i.test(message)) return 'no_commits';
  if (status === 405) return 'not_mergeable';
  if (status === 409) return 'head_changed';
  if (status === 404) return 'not_found';
  if ((status === 403 || status === 429) && /rate limit/i.test(message)) return 'rate_limited';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status >= 400 && status < 500) return 'invalid';
  return 'unavailable';
}

/** Maps whatever Octokit threw (a RequestError, or a network error) onto a GitHubError. */
export function toGitHubError(error: unknown, action: string): GitHubError {
  if (error instanceof GitHubError) return error;
  const raw = (typeof error === 'object' && error !== null ? error : {}) as OctokitLikeError;
  const status = typeof raw.status === 'number' ? raw.status : 0;
  const message = githubMessage(raw);
  const retryAfter = Number(raw.response?.headers?.['retry-after']);
  return new GitHubError(
    kindOf(status, message),
    status,
    `${action}: GitHub answered ${status || 'nothing'}: ${message}`,
    Number.isFinite(retryAfter) ? retryAfter : undefined,
  );
}
