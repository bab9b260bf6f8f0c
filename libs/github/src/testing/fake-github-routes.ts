import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import {
  addCommit,
  ancestors,
  diffTrees,
  mergeBase,
  mergeability,
  mergedTree,
  tree,
  type FakePull,
  type FakeRepo,
} from './fake-github-state';

export interface RecordedGitHubRequest {
  method: string;
  /** Decoded path, e.g. `/repos/acme/app/git/refs/heads/feature/T-1-x`. */
  path: string;
  authorization: string | undefined;
  body: unknown;
}

/** An answer the fake gives instead of the real one, `times` times, to requests matching `method` and `path`. */
export interface InjectedFailure {
  method?: string;
  path: RegExp;
  status: number;
  message: string;
  headers?: Record<string, string>;
  errors?: unknown[];
  documentationUrl?: string;
  times: number;
  /** The request is carried out first and only its answer is replaced by the failure (an answer lost on the way back). */
  afterApplying?: boolean;
}

export interface FakeGitHubContext {
  token: string;
  repos: Map<string, FakeRepo>;
  requests: RecordedGitHubRequest[];
  failures: InjectedFailure[];
  /** Requests held back before being answered (a slow GitHub), `times` times each. */
  delays: { method?: string; path: RegExp; ms: number; times: number }[];
  origin: () => string;
}

const DOCS = 'https://docs.github.com/rest';

/** GitHub's error body: `{message, documentation_url, errors?, status}` (status as a string, as GitHub sends it). */
export function githubError(
  res: Response,
  status: number,
  message: string,
  extra: { errors?: unknown[]; documentationUrl?: string; headers?: Record<string, string> } = {},
): void {
  for (const [name, value] of Object.entries(extra.headers ?? {})) res.set(name, value);
  res.status(status).json({
    message,
    documentation_url: extra.documentationUrl ?? DOCS,
    ...(extra.errors ? { errors: extra.errors } : {}),
    status: String(status),
  });
}

const decodedPath = (req: Request) => decodeURIComponent(req.path);

/** The REST surface the branch workflow calls, answering like api.github.com (statuses, bodies, headers). */
export function createFakeGitHubApp(ctx: FakeGitHubContext): Express {
  const app = express();
  app.use(express.json());
  app.use((req, _res, next) => {
    ctx.requests.push({
      method: req.method,
      path: decodedPath(req),
      authorization: req.get('authorization'),
      body: req.body,
    });
    next();
  });
  app.use((req, res, next) => {
    const auth = req.get('authorization') ?? '';
    if (auth === `token ${ctx.token}` || auth === `Bearer ${ctx.token}`) return next();
    githubError(res, 401, 'Bad credentials', { documentationUrl: 'https://docs.github.com/rest' });
  });
  app.use((req, _res, next) => {
    const delay = ctx.delays.find(
      (item) => item.times > 0 && (!item.method || item.method === req.method) && item.path.test(decodedPath(req)),
    );
    if (!delay) return next();
    delay.times -= 1;
    setTimeout(next, delay.ms);
  });
  app.use((req, res, next) => {
    const failure = ctx.failures.find(
      (item) => item.times > 0 && (!item.method || item.method === req.method) && item.path.test(decodedPath(req)),
    );
    if (!failure) return next();
    failure.times -= 1;
    if (failure.afterApplying) {
      const json = res.json.bind(res);
      res.json = () => {
        res.json = json;
        githubError(res, failure.status, failure.message, failure);
        return res;
      };
      return next();
    }
    githubError(res, failure.status, failure.message, failure);
  });
  app.use((req, res, next) => {
    const match = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(decodedPath(req));
    const repo = match ? ctx.repos.get(`${match[1]}/${match[2]}`) : undefined;
    if (!repo)
      return githubError(res, 404, 'Not Found', {
        documentationUrl: 'https://docs.github.com/rest/repos/repos#get-a-repository',
      });
    res.locals.repo = repo;
    res.locals.rest = match![3] ?? '';
    next();
  });
  app.all(/.*/, (req, res) => route(req, res, ctx));
  app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => githubError(res, 500, error.message));
  return app;
}

function route(req: Request, res: Response, ctx: FakeGitHubContext): void {
  const repo = res.locals.repo as FakeRepo;
  const rest = res.locals.rest as string;
  const key = `${req.method} ${rest
    .replace(/^\/git\/refs?\/heads\/.+$/, '/git/ref/heads/*')
    .replace(/^\/pulls\/\d+/, '/pulls/N')
    .replace(/^\/compare\/.+$/, '/compare/*')}`;
  switch (key) {
    case 'GET ':
      return void res.json(repositoryJson(repo, ctx));
    case 'GET /git/ref/heads/*':
      return getRef(repo, branchOf(rest), res, ctx);
    case 'POST /git/refs':
      return createRef(repo, req.body as { ref?: string; sha?: string }, res, ctx);
    case 'DELETE /git/ref/heads/*':
      return deleteRef(repo, branchOf(rest), res);
    case 'GET /compare/*':
      return compare(repo, rest.slice('/compare/'.length), res);
    case 'POST /pulls':
      return createPull(repo, req.body as Record<string, string | undefined>, res, ctx);
    case 'GET /pulls':
      return listPulls(repo, req.query as Record<string, string | undefined>, res, ctx);
    case 'GET /pulls/N':
      return getPull(repo, Number(/\d+/.exec(rest)![0]), res, ctx);
    case 'PUT /pulls/N/merge':
      return mergePull(repo, Number(/\d+/.exec(rest)![0]), req.body as Record<string, string | undefined>, res);
    default:
      return githubError(res, 404, 'Not Found');
  }
}

const branchOf = (rest: string) => rest.replace(/^\/git\/refs?\/heads\//, '');

function repositoryJson(repo: FakeRepo, ctx: FakeGitHubContext) {
  const fullName = `${repo.owner}/${repo.name}`;
  return {
    id: 1,
    name: repo.name,
    full_name: fullName,
    private: true,
    owner: { login: repo.owner },
    default_branch: repo.defaultBranch,
    html_url: `${ctx.origin()}/${fullName}`,
  };
}

function refJson(repo: FakeRepo, branch: string, ctx: FakeGitHubContext) {
  const sha = repo.refs.get(branch)!;
  return {
    ref: `refs/heads/${branch}`,
    node_id: `REF_${sha.slice(0, 8)}`,
    url: `${ctx.origin()}/repos/${repo.owner}/${repo.name}/git/refs/heads/${branch}`,
    object: { sha, type: 'commit', url: `${ctx.origin()}/repos/${repo.owner}/${repo.name}/git/commits/${sha}` },
  };
}

function getRef(repo: FakeRepo, branch: string, res: Response, ctx: FakeGitHubContext): void {
  if (!repo.refs.has(branch))
    return githubError(res, 404, 'Not Found', {
      documentationUrl: 'https://docs.github.com/rest/git/refs#get-a-reference',
    });
  res.json(refJson(repo, branch, ctx));
}

function createRef(repo: FakeRepo, body: { ref?: string; sha?: string }, res: Response, ctx: FakeGitHubContext): void {
  const docs = { documentationUrl: 'https://docs.github.com/rest/git/refs#create-a-reference' };
  if (typeof body.ref !== 'string' || !body.ref.startsWith('refs/') || body.ref.split('/').length < 3)
    return githubError(res, 422, "Reference name must start with 'refs/' and have at least two slashes.", docs);
  if (typeof body.sha !== 'string' || !repo.commits.has(body.sha))
    return githubError(res, 422, 'Object does not exist', docs);
  const branch = body.ref.slice('refs/heads/'.length);
  if (repo.refs.has(branch)) return githubError(res, 422, 'Reference already exists', docs);
  repo.refs.set(branch, body.sha);
  res.status(201).json(refJson(repo, branch, ctx));
}

function deleteRef(repo: FakeRepo, branch: string, res: Response): void {
  if (!repo.refs.delete(branch))
    return githubError(res, 422, 'Reference does not exist', {
      documentationUrl: 'https://docs.github.com/rest/git/refs#delete-a-reference',
    });
  res.status(204).end();
}

function compare(repo: FakeRepo, basehead: string, res: Response): void {
  const [base, head] = basehead.split('...');
  const baseSha = base === undefined ? undefined : (repo.refs.get(base) ?? (repo.commits.has(base) ? base : undefined));
  const headSha = head === undefined ? undefined : (repo.refs.get(head) ?? (repo.commits.has(head) ? head : undefined));
  if (!baseSha || !headSha)
    return githubError(res, 404, 'Not Found', {
      documentationUrl: 'https://docs.github.com/rest/commits/commits#compare-two-commits',
    });
  const common = mergeBase(repo, baseSha, headSha) ?? baseSha;
  const fromBase = ancestors(repo, baseSha);
  const fromHead = ancestors(repo, headSha);
  const aheadBy = [...fromHead].filter((sha) => !fromBase.has(sha)).length;
  const behindBy = [...fromBase].filter((sha) => !fromHead.has(sha)).length;
  const status =
    aheadBy === 0 && behindBy === 0 ? 'identical' : behindBy === 0 ? 'ahead' : aheadBy === 0 ? 'behind' : 'diverged';
  const files = diffTrees(tree(repo, common), tree(repo, headSha)).map((change) => ({
    sha: headSha,
    ...change,
    changes: change.additions + change.deletions,
  }));
  res.json({
    status,
    ahead_by: aheadBy,
    behind_by: behindBy,
    total_commits: aheadBy,
    merge_base_commit: { sha: common },
    commits: [],
    files,
  });
}

function pullJson(repo: FakeRepo, pull: FakePull, ctx: FakeGitHubContext, withMergeability: boolean) {
  let mergeable: boolean | null = null;
  let mergeableState = 'unknown';
  if (withMergeability && pull.state === 'open') {
    if (pull.pendingMergeabilityReads > 0) pull.pendingMergeabilityReads -= 1;
    else ({ mergeable, state: mergeableState } = mergeability(repo, pull));
  }
  if (pull.merged) mergeableState = 'unknown';
  return {
    number: pull.number,
    html_url: `${ctx.origin()}/${repo.owner}/${repo.name}/pull/${pull.number}`,
    state: pull.state,
    title: pull.title,
    body: pull.body,
    merged: pull.merged,
    mergeable,
    mergeable_state: mergeableState,
    merge_commit_sha: pull.mergeCommitSha,
    created_at: pull.createdAt,
    head: {
      ref: pull.head,
      sha: repo.refs.get(pull.head) ?? pull.mergeCommitSha ?? '',
      label: `${repo.owner}:${pull.head}`,
    },
    base: { ref: pull.base, sha: repo.refs.get(pull.base) ?? '', label: `${repo.owner}:${pull.base}` },
  };
}

/** GitHub's limit on an issue's or pull request's title. */
const PULL_TITLE_MAX_CHARS = 256;

function createPull(
  repo: FakeRepo,
  body: Record<string, string | undefined>,
  res: Response,
  ctx: FakeGitHubContext,
): void {
  const invalid = (field: string) =>
    githubError(res, 422, 'Validation Failed', {
      errors: [{ resource: 'PullRequest', field, code: 'invalid' }],
      documentationUrl: 'https://docs.github.com/rest/pulls/pulls#create-a-pull-request',
    });
  const head = (body.head ?? '').replace(`${repo.owner}:`, '');
  const base = body.base ?? '';
  if (!body.title) return invalid('title');
  // GitHub counts characters, not bytes: "title is too long (maximum is 256 characters)".
  if ([...body.title].length > PULL_TITLE_MAX_CHARS) {
    return githubError(res, 422, 'Validation Failed', {
      errors: [
        {
          resource: 'Issue',
          code: 'custom',
          field: 'title',
          message: `title is too long (maximum is ${PULL_TITLE_MAX_CHARS} characters)`,
        },
      ],
      documentationUrl: 'https://docs.github.com/rest/pulls/pulls#create-a-pull-request',
    });
  }
  if (!repo.refs.has(head)) return invalid('head');
  if (!repo.refs.has(base)) return invalid('base');
  const custom = (message: string) =>
    githubError(res, 422, 'Validation Failed', {
      errors: [{ resource: 'PullRequest', code: 'custom', message }],
      documentationUrl: 'https://docs.github.com/rest/pulls/pulls#create-a-pull-request',
    });
  if ([...repo.pulls.values()].some((pull) => pull.state === 'open' && pull.head === head && pull.base === base)) {
    return custom(`A pull request already exists for ${repo.owner}:${head}.`);
  }
  const baseAncestry = ancestors(repo, repo.refs.get(base)!);
  if ([...ancestors(repo, repo.refs.get(head)!)].every((sha) => baseAncestry.has(sha)))
    return custom(`No commits between ${base} and ${head}`);
  const pull: FakePull = {
    number: repo.nextNumber++,
    title: body.title,
    body: body.body ?? '',
    head,
    base,
    state: 'open',
    merged: false,
    mergeCommitSha: null,
    pendingMergeabilityReads: 1,
    createdAt: new Date().toISOString(),
  };
  repo.pulls.set(pull.number, pull);
  res.status(201).json(pullJson(repo, pull, ctx, false));
}

function listPulls(
  repo: FakeRepo,
  query: Record<string, string | undefined>,
  res: Response,
  ctx: FakeGitHubContext,
): void {
  const head = query.head?.replace(`${repo.owner}:`, '');
  const state = query.state ?? 'open';
  const pulls = [...repo.pulls.values()]
    .filter((pull) => (head === undefined || pull.head === head) && (state === 'all' || pull.state === state))
    .sort((a, b) => b.number - a.number)
    .slice(0, Number(query.per_page ?? 30));
  res.json(pulls.map((pull) => pullJson(repo, pull, ctx, false)));
}

function getPull(repo: FakeRepo, number: number, res: Response, ctx: FakeGitHubContext): void {
  const pull = repo.pulls.get(number);
  if (!pull)
    return githubError(res, 404, 'Not Found', {
      documentationUrl: 'https://docs.github.com/rest/pulls/pulls#get-a-pull-request',
    });
  res.json(pullJson(repo, pull, ctx, true));
}

function mergePull(repo: FakeRepo, number: number, body: Record<string, string | undefined>, res: Response): void {
  const docs = { documentationUrl: 'https://docs.github.com/rest/pulls/pulls#merge-a-pull-request' };
  const pull = repo.pulls.get(number);
  if (!pull) return githubError(res, 404, 'Not Found', docs);
  if (pull.state !== 'open') return githubError(res, 405, 'Pull Request is not mergeable', docs);
  const headSha = repo.refs.get(pull.head);
  const baseSha = repo.refs.get(pull.base);
  if (!headSha || !baseSha) return githubError(res, 405, 'Pull Request is not mergeable', docs);
  if (body.sha !== undefined && body.sha !== headSha)
    return githubError(res, 409, 'Head branch was modified. Review and try the merge again.', docs);
  if (!mergeability(repo, pull).mergeable) return githubError(res, 405, 'Pull Request is not mergeable', docs);
  const method = body.merge_method ?? 'merge';
  const title = body.commit_title ?? `${pull.title} (#${pull.number})`;
  // Squash and rebase both land the head's changes on the base with the base as only parent here.
  const parents = method === 'merge' ? [baseSha, headSha] : [baseSha];
  const commit = addCommit(repo, parents, mergedTree(repo, baseSha, headSha), title);
  repo.refs.set(pull.base, commit.sha);
  Object.assign(pull, { merged: true, state: 'closed', mergeCommitSha: commit.sha });
  res.json({ sha: commit.sha, merged: true, message: 'Pull Request successfully merged' });
}
