import { FakeGitHubServer } from '@sandbox-relay/github/testing';
import { testLogger } from '@sandbox-relay/testing';
import { parseRepo, type RepoRef } from './github-client';
import { GitHubError } from './github-errors';
import { OctokitGitHubClient, type OctokitGitHubClientOptions } from './octokit-client';

const FULL = 'acme/app';
const repo: RepoRef = parseRepo(FULL);

async function failure(work: Promise<unknown>): Promise<GitHubError> {
  try {
    await work;
  } catch (error) {
    if (error instanceof GitHubError) return error;
    throw error;
  }
  throw new Error('expected a GitHubError');
}

describe('OctokitGitHubClient against the fake GitHub REST API', () => {
  let github: FakeGitHubServer;
  let client: OctokitGitHubClient;
  const makeClient = (options: Partial<OctokitGitHubClientOptions> = {}) =>
    new OctokitGitHubClient({
      token: github.token,
      baseUrl: github.baseUrl,
      logger: testLogger(),
      writeIntervalMs: 0,
      notificationIntervalMs: 0,
      retryBaseMs: 20,
      ...options,
    });

  beforeEach(async () => {
    github = await FakeGitHubServer.start();
    github.createRepo(FULL, { files: { 'README.md': '# app\n', 'src/index.ts': 'export {};\n' } });
    client = makeClient();
  });
  afterEach(() => github.stop());

  it('reads the default branch head and creates a branch from it; a taken name is 422 "Reference already exists"', async () => {
    const main = await client.getDefaultBranch(repo);
    expect(main).toEqual({ name: 'main', sha: github.branchSha(FULL, 'main') });
    await expect(client.createBranch(repo, 'feature/T-1-auth', main.sha)).resolves.toEqual({
      name: 'feature/T-1-auth',
      sha: main.sha,
    });
    expect(github.branchSha(FULL, 'feature/T-1-auth')).toBe(main.sha);
    expect(await client.getBranchSha(repo, 'feature/T-1-auth')).toBe(main.sha);
    expect(await client.getBranchSha(repo, 'feature/none')).toBeNull();

    const taken = await failure(client.createBranch(repo, 'feature/T-1-auth', main.sha));
    expect(taken).toMatchObject({ kind: 'ref_exists', status: 422, retryable: false });
    expect(taken.message).toMatch(/Reference already exists/);
    expect(github.requestsTo('POST', /\/git\/refs$/)).toHaveLength(2);
  });

  it('compares a branch with its base (ahead, behind, files changed)', async () => {
    const main = await client.getDefaultBranch(repo);
    await client.createBranch(repo, 'feature/T-2', main.sha);
    github.push(FULL, 'feature/T-2', { 'src/auth.ts': 'export const auth = 1;\n', 'README.md': null });
    github.push(FULL, 'main', { 'docs/x.md': 'x\n' });
    const comparison = await client.compare(repo, 'main', 'feature/T-2');
    expect(comparison).toMatchObject({ status: 'diverged', aheadBy: 1, behindBy: 1, totalCommits: 1 });
    expect(comparison.files).toEqual([
      { filename: 'README.md', status: 'removed', additions: 0, deletions: 1 },
      { filename: 'src/auth.ts', status: 'added', additions: 1, deletions: 0 },
    ]);
  });

  it('opens, reads and merges a pull request; a stale head is 409, a second merge 405, neither retried', async () => {
    const main = await client.getDefaultBranch(repo);
    await client.createBranch(repo, 'feature/T-3', main.sha);
    const head = github.push(FULL, 'feature/T-3', { 'src/a.ts': 'a\n' });
    const pull = await client.createPullRequest(repo, {
      title: 'T-3',
      head: 'feature/T-3',
      base: 'main',
      body: 'body',
    });
    expect(pull).toMatchObject({
      number: 1,
      state: 'open',
      merged: false,
      headRef: 'feature/T-3',
      headSha: head,
      baseRef: 'main',
    });
    expect((await client.findPullRequestByHead(repo, 'feature/T-3'))?.number).toBe(1);
    expect(await client.findPullRequestByHead(repo, 'feature/other')).toBeNull();
    // GitHub computes mergeability in the background: the first read says null, a later one knows.
    expect((await client.getPullRequest(repo, 1)).mergeable).toBeNull();
    expect(await client.getPullRequest(repo, 1)).toMatchObject({ mergeable: true, mergeableState: 'clean' });

    const stale = await failure(client.mergePullRequest(repo, 1, { method: 'squash', expectedHeadSha: main.sha }));
    expect(stale).toMatchObject({ kind: 'head_changed', status: 409 });
    expect(stale.message).toMatch(/Head branch was modified. Review and try the merge again./);

    const merged = await client.mergePullRequest(repo, 1, { method: 'squash', expectedHeadSha: head });
    expect(merged.merged).toBe(true);
    expect(github.branchSha(FULL, 'main')).toBe(merged.sha);
    expect(await client.getPullRequest(repo, 1)).toMatchObject({
      merged: true,
      state: 'closed',
      mergeCommitSha: merged.sha,
    });

    const again = await failure(client.mergePullRequest(repo, 1, { method: 'squash', expectedHeadSha: head }));
    expect(again).toMatchObject({ kind: 'not_mergeable', status: 405 });
    expect(again.message).toMatch(/Pull Request is not mergeable/);
    expect(github.requestsTo('PUT', /\/pulls\/1\/merge$/)).toHaveLength(3);

    expect(await client.deleteBranch(repo, 'feature/T-3')).toBe(true);
    expect(github.branchSha(FULL, 'feature/T-3')).toBeUndefined();
    expect(await client.deleteBranch(repo, 'feature/T-3')).toBe(false);
  });

  it("maps GitHub's pull request validation answers (already exists, no commits) and conflicts", async () => {
    const main = await client.getDefaultBranch(repo);
    await client.createBranch(repo, 'feature/empty', main.sha);
    const empty = await failure(
      client.createPullRequest(repo, { title: 'x', head: 'feature/empty', base: 'main', body: '' }),
    );
    expect(empty).toMatchObject({ kind: 'no_commits', status: 422 });

    await client.createBranch(repo, 'feature/c', main.sha);
    const head = github.push(FULL, 'feature/c', { 'README.md': '# ours\n' });
    await client.createPullRequest(repo, { title: 'c', head: 'feature/c', base: 'main', body: '' });
    const duplicate = await failure(
      client.createPullRequest(repo, { title: 'c', head: 'feature/c', base: 'main', body: '' }),
    );
    expect(duplicate).toMatchObject({ kind: 'already_exists', status: 422 });
    github.push(FULL, 'main', { 'README.md': '# theirs\n' });
    await client.getPullRequest(repo, 1);
    expect(await client.getPullRequest(repo, 1)).toMatchObject({ mergeable: false, mergeableState: 'dirty' });
    expect(await failure(client.mergePullRequest(repo, 1, { method: 'squash', expectedHeadSha: head }))).toMatchObject({
      kind: 'not_mergeable',
    });
  });

  it('answers not_found for an unknown repository and unauthorized for a bad token, without retrying', async () => {
    const missing = await failure(client.getDefaultBranch({ owner: 'acme', repo: 'nope' }));
    expect(missing).toMatchObject({ kind: 'not_found', status: 404 });
    expect(missing.message).toMatch(/Not Found/);
    const bad = await failure(makeClient({ token: 'wrong' }).getDefaultBranch(repo));
    expect(bad).toMatchObject({ kind: 'unauthorized', status: 401 });
    expect(github.requestsTo('GET', /^\/repos\/acme\/(nope|app)$/)).toHaveLength(2);
  });

  it('waits out a secondary rate limit (403 + retry-after) and retries the request', async () => {
    const main = await client.getDefaultBranch(repo);
    github.secondaryRateLimitNext({ method: 'POST', path: /\/git\/refs$/, retryAfterSeconds: 1 });
    const started = Date.now();
    await expect(client.createBranch(repo, 'feature/slow', main.sha)).resolves.toMatchObject({ name: 'feature/slow' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(github.requestsTo('POST', /\/git\/refs$/)).toHaveLength(2);
  });

  it('waits for the primary rate limit reset (x-ratelimit-remaining: 0) and retries', async () => {
    github.primaryRateLimitNext({ method: 'GET', path: /^\/repos\/acme\/app$/, resetInSeconds: 0 });
    await expect(client.getDefaultBranch(repo)).resolves.toMatchObject({ name: 'main' });
    expect(github.requestsTo('GET', /^\/repos\/acme\/app$/)).toHaveLength(2);
  });

  it('gives up after the bounded number of rate-limit retries with rate_limited', async () => {
    const bounded = makeClient({ rateLimitRetries: 1 });
    github.secondaryRateLimitNext({ method: 'GET', path: /^\/repos\/acme\/app$/, retryAfterSeconds: 1, times: 5 });
    const error = await failure(bounded.getDefaultBranch(repo));
    expect(error).toMatchObject({ kind: 'rate_limited', status: 403, retryable: true, retryAfterSeconds: 1 });
    expect(github.requestsTo('GET', /^\/repos\/acme\/app$/)).toHaveLength(2);
  });

  it('retries a 5xx with backoff and succeeds', async () => {
    github.failNext({ method: 'GET', path: /^\/repos\/acme\/app$/, status: 502, message: 'Server Error', times: 2 });
    await expect(client.getDefaultBranch(repo)).resolves.toMatchObject({ name: 'main' });
    expect(github.requestsTo('GET', /^\/repos\/acme\/app$/)).toHaveLength(3);
  });
});
