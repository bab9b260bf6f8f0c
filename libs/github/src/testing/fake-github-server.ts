import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createFakeGitHubApp,
  type FakeGitHubContext,
  type InjectedFailure,
  type RecordedGitHubRequest,
} from './fake-github-routes';
import { addCommit, type FakePull, type FakeRepo } from './fake-github-state';

export type { InjectedFailure, RecordedGitHubRequest } from './fake-github-routes';

export interface FakeGitHubServerOptions {
  /** The only token the fake accepts (`Authorization: token …` or `Bearer …`); others get 401 "Bad credentials". */
  token?: string;
}

/**
 * A local stand-in for api.github.com on 127.0.0.1 (a free port) that the real Octokit talks to over
 * real sockets. It keeps real state (repositories, commits with trees, refs, pull requests with their
 * mergeability and merged state) and answers with GitHub's statuses and error bodies: 422 "Reference
 * already exists", 405 "Pull Request is not mergeable", 409 "Head branch was modified…", 404 "Not
 * Found", and injected rate limits (403 secondary with `retry-after`, 403 primary with
 * `x-ratelimit-remaining: 0`).
 */
export class FakeGitHubServer {
  private constructor(
    private readonly server: Server,
    private readonly ctx: FakeGitHubContext,
  ) {}

  static async start(options: FakeGitHubServerOptions = {}): Promise<FakeGitHubServer> {
    let origin = '';
    const ctx: FakeGitHubContext = {
      token: options.token ?? 'fake-github-token',
      repos: new Map(),
      requests: [],
      failures: [],
      delays: [],
      origin: () => origin,
    };
    const server = createServer(createFakeGitHubApp(ctx));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return new FakeGitHubServer(server, ctx);
  }

  /** What to pass as Octokit's `baseUrl`. */
  get baseUrl(): string {
    return this.ctx.origin();
  }

  get token(): string {
    return this.ctx.token;
  }

  get requests(): readonly RecordedGitHubRequest[] {
    return this.ctx.requests;
  }

  /** Requests whose method matches and whose decoded path matches the pattern, in arrival order. */
  requestsTo(method: string, path: RegExp): RecordedGitHubRequest[] {
    return this.ctx.requests.filter((request) => request.method === method && path.test(request.path));
  }

  /** Creates `owner/name` with one commit holding `files` on its default branch. */
  createRepo(
    fullName: string,
    {
      defaultBranch = 'main',
      files = { 'README.md': '# project\n' },
    }: { defaultBranch?: string; files?: Record<string, string> } = {},
  ): FakeRepo {
    const [owner, name] = fullName.split('/');
    if (!owner || !name) throw new Error(`not owner/name: ${fullName}`);
    const repo: FakeRepo = {
      owner,
      name,
      defaultBranch,
      refs: new Map(),
      commits: new Map(),
      pulls: new Map(),
      nextNumber: 1,
    };
    const root = addCommit(repo, [], new Map(Object.entries(files)), 'Initial commit');
    repo.refs.set(defaultBranch, root.sha);
    this.ctx.repos.set(fullName, repo);
    return repo;
  }

  repo(fullName: string): FakeRepo {
    const repo = this.ctx.repos.get(fullName);
    if (!repo) throw new Error(`no fake repository ${fullName}`);
    return repo;
  }

  /** Pushes a commit onto `branch` (what an agent's `git push` does): `null` deletes a file. Returns its sha. */
  push(fullName: string, branch: string, files: Record<string, string | null>, message = 'work'): string {
    const repo = this.repo(fullName);
    const parent = repo.refs.get(branch);
    if (!parent) throw new Error(`no branch ${branch} in ${fullName}`);
    const tree = new Map(repo.commits.get(parent)!.files);
    for (const [path, content] of Object.entries(files)) {
      if (content === null) tree.delete(path);
      else tree.set(path, content);
    }
    const commit = addCommit(repo, [parent], tree, message);
    repo.refs.set(branch, commit.sha);
    return commit.sha;
  }

  branchSha(fullName: string, branch: string): string | undefined {
    return this.repo(fullName).refs.get(branch);
  }

  pull(fullName: string, number: number): FakePull {
    const pull = this.repo(fullName).pulls.get(number);
    if (!pull) throw new Error(`no pull request #${number} in ${fullName}`);
    return pull;
  }

  /** Forces GitHub's mergeability verdict for a pull request (e.g. `false`, `blocked` for failing required checks). */
  setMergeable(fullName: string, number: number, mergeable: boolean, state = mergeable ? 'clean' : 'dirty'): void {
    this.pull(fullName, number).mergeableOverride = { mergeable, state };
  }

  /** The next `times` requests matching `method` and `path` get `status` and GitHub's body with `message`. */
  failNext(failure: Omit<InjectedFailure, 'times'> & { times?: number }): void {
    this.ctx.failures.push({ times: 1, ...failure });
  }

  /** Holds the next `times` matching requests for `ms` before answering them (a slow GitHub). */
  delayNext({ method, path, ms, times = 1 }: { method?: string; path: RegExp; ms: number; times?: number }): void {
    this.ctx.delays.push({ method, path, ms, times });
  }

  /** 403 "You have exceeded a secondary rate limit…" with `retry-after`, as GitHub sends it. */
  secondaryRateLimitNext({
    method,
    path,
    retryAfterSeconds = 1,
    times = 1,
  }: {
    method?: string;
    path: RegExp;
    retryAfterSeconds?: number;
    times?: number;
  }): void {
    this.failNext({
      method,
      path,
      times,
      status: 403,
      message:
        'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.',
      documentationUrl:
        'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
      headers: { 'retry-after': String(retryAfterSeconds) },
    });
  }

  /** 403 "API rate limit exceeded…" with `x-ratelimit-remaining: 0` and a reset `resetInSeconds` from now. */
  primaryRateLimitNext({
    method,
    path,
    resetInSeconds = 1,
    times = 1,
  }: {
    method?: string;
    path: RegExp;
    resetInSeconds?: number;
    times?: number;
  }): void {
    this.failNext({
      method,
      path,
      times,
      status: 403,
      message: 'API rate limit exceeded for installation ID 1.',
      documentationUrl: 'https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting',
      headers: {
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-used': '5000',
        'x-ratelimit-resource': 'core',
        'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + resetInSeconds),
      },
    });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
