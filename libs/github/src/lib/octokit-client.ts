import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import Bottleneck from 'bottleneck';
import type { Logger } from 'pino';
import type {
  BranchHead,
  Comparison,
  GitHubClient,
  MergeMethod,
  MergeOutcome,
  NewPullRequest,
  PullRequest,
  RepoRef,
} from './github-client';
import { GitHubError, toGitHubError } from './github-errors';
import { ComparisonBody, PullBody, RefBody, RepositoryBody, toComparison, toPullRequest } from './github-responses';

export interface OctokitGitHubClientOptions {
  /** A GitHub App installation token or a personal access token. */
  token: string;
  /** `https://api.github.com`, a GitHub Enterprise `https://host/api/v3`, or a local fake in tests. */
  baseUrl?: string;
  logger: Logger;
  /** Retries of one request after a rate limit (primary or secondary), each after GitHub's wait. */
  rateLimitRetries?: number;
  /** Retries of one request after a 5xx or a lost connection (backoff 1 s, 4 s, 9 s × `retryBaseMs`/1000). */
  serverErrorRetries?: number;
  /** Unit of the 5xx backoff; tests shorten it. */
  retryBaseMs?: number;
  /**
   * Least time between two writes (POST/PATCH/PUT/DELETE) of this client. GitHub asks integrators to
   * space content-creating requests by at least one second to stay clear of secondary rate limits.
   */
  writeIntervalMs?: number;
  /** Least time between writes that notify people (opening, merging a pull request); GitHub's guidance is 3 s. */
  notificationIntervalMs?: number;
  /** Per-request timeout. */
  requestTimeoutMs?: number;
}

/**
 * Statuses that cannot succeed by asking again: bad request, auth, missing, 405 not mergeable, 409 head
 * changed, gone, 422 validation. Rate limits (403/429) are retried by the throttling plugin instead,
 * after the wait GitHub names.
 */
const DO_NOT_RETRY = [400, 401, 403, 404, 405, 409, 410, 422, 451];

let clients = 0;

/** The GitHub client on @octokit/rest with the official retry and throttling plugins. */
export class OctokitGitHubClient implements GitHubClient {
  private readonly octokit: Octokit;

  constructor(options: OctokitGitHubClientOptions) {
    const log = options.logger;
    const rateLimitRetries = options.rateLimitRetries ?? 3;
    const onLimit =
      (kind: string) =>
      (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
        const retrying = retryCount < rateLimitRetries;
        log.warn(
          { kind, retryAfter, method: request.method, url: request.url, retryCount, retrying },
          'GitHub rate limit hit',
        );
        return retrying;
      };
    const ThrottledOctokit = Octokit.plugin(retry, throttling);
    clients += 1;
    const id = `sandbox-relay-${process.pid}-${clients}`;
    this.octokit = new ThrottledOctokit({
      auth: options.token,
      baseUrl: options.baseUrl ?? 'https://api.github.com',
      userAgent: 'sandbox-relay-branch-workflow',
      request: { timeout: options.requestTimeoutMs ?? 30_000 },
      // Octokit logs through console by default; route its warnings to our logger.
      log: {
        debug: () => undefined,
        info: () => undefined,
        warn: (message: string) => log.warn({ source: 'octokit' }, message),
        error: (message: string) => log.error({ source: 'octokit' }, message),
      },
      retry: {
        doNotRetry: DO_NOT_RETRY,
        retries: options.serverErrorRetries ?? 3,
        retryAfterBaseValue: options.retryBaseMs ?? 1_000,
      },
      throttle: {
        id,
        // The plugin's default groups are shared by every client of the process; our own keep the configured pace.
        write: new Bottleneck.Group({ maxConcurrent: 1, minTime: options.writeIntervalMs ?? 1_000 }),
        notifications: new Bottleneck.Group({ maxConcurrent: 1, minTime: options.notificationIntervalMs ?? 3_000 }),
        onRateLimit: onLimit('primary') as never,
        onSecondaryRateLimit: onLimit('secondary') as never,
      },
    });
  }

  async getDefaultBranch(repo: RepoRef): Promise<BranchHead> {
    const info = RepositoryBody.parse(
      (await this.call('read repository', () => this.octokit.rest.repos.get({ ...repo }))).data,
    );
    const sha = await this.getBranchSha(repo, info.default_branch);
    if (!sha)
      throw new GitHubError(
        'not_found',
        404,
        `default branch ${info.default_branch} of ${repo.owner}/${repo.repo} has no head`,
      );
    return { name: info.default_branch, sha };
  }

  async getBranchSha(repo: RepoRef, branch: string): Promise<string | null> {
    try {
      const res = await this.call(`read ref heads/${branch}`, () =>
        this.octokit.rest.git.getRef({ ...repo, ref: `heads/${branch}` }),
      );
      return RefBody.parse(res.data).object.sha;
    } catch (error) {
      if (error instanceof GitHubError && error.kind === 'not_found') return null;
      throw error;
    }
  }

  async createBranch(repo: RepoRef, branch: string, sha: string): Promise<BranchHead> {
    const res = await this.call(`create branch ${branch}`, () =>
      this.octokit.rest.git.createRef({ ...repo, ref: `refs/heads/${branch}`, sha }),
    );
    return { name: branch, sha: RefBody.parse(res.data).object.sha };
  }

  async deleteBranch(repo: RepoRef, branch: string): Promise<boolean> {
    try {
      await this.call(`delete branch ${branch}`, () =>
        this.octokit.rest.git.deleteRef({ ...repo, ref: `heads/${branch}` }),
      );
      return true;
    } catch (error) {
      // GitHub answers 422 "Reference does not exist" for a branch already gone (404 on some versions).
      if (
        error instanceof GitHubError &&
        (error.kind === 'not_found' || (error.status === 422 && /does not exist/i.test(error.message)))
      )
        return false;
      throw error;
    }
  }

  async createPullRequest(repo: RepoRef, pull: NewPullRequest): Promise<PullRequest> {
    const res = await this.call(`open pull request ${pull.head} → ${pull.base}`, () =>
      this.octokit.rest.pulls.create({ ...repo, ...pull }),
    );
    return toPullRequest(PullBody.parse(res.data));
  }

  async getPullRequest(repo: RepoRef, number: number): Promise<PullRequest> {
    const res = await this.call(`read pull request #${number}`, () =>
      this.octokit.rest.pulls.get({ ...repo, pull_number: number }),
    );
    return toPullRequest(PullBody.parse(res.data));
  }

  async findPullRequestByHead(repo: RepoRef, branch: string): Promise<PullRequest | null> {
    const res = await this.call(`find pull request of ${branch}`, () =>
      this.octokit.rest.pulls.list({
        ...repo,
        head: `${repo.owner}:${branch}`,
        state: 'all',
        sort: 'created',
        direction: 'desc',
        per_page: 1,
      }),
    );
    const first = (res.data as unknown[])[0];
    return first === undefined ? null : toPullRequest(PullBody.parse(first));
  }

  async mergePullRequest(
    repo: RepoRef,
    number: number,
    options: { method: MergeMethod; expectedHeadSha: string; commitTitle?: string },
  ): Promise<MergeOutcome> {
    const res = await this.call(`merge pull request #${number}`, () =>
      this.octokit.rest.pulls.merge({
        ...repo,
        pull_number: number,
        merge_method: options.method,
        sha: options.expectedHeadSha,
        commit_title: options.commitTitle,
      }),
    );
    return { sha: res.data.sha, merged: res.data.merged };
  }

  async compare(repo: RepoRef, base: string, head: string): Promise<Comparison> {
    const res = await this.call(`compare ${base}...${head}`, () =>
      this.octokit.rest.repos.compareCommitsWithBasehead({ ...repo, basehead: `${base}...${head}` }),
    );
    return toComparison(ComparisonBody.parse(res.data));
  }

  private async call<T>(action: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw toGitHubError(error, action);
    }
  }
}
