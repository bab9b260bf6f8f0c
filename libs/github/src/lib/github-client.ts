/** A repository, as `owner/name` splits it. */
export interface RepoRef {
  owner: string;
  repo: string;
}

/** Parses `owner/name` (GitHub's own spelling of a repository); throws on anything else. */
export function parseRepo(fullName: string): RepoRef {
  const match = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})$/.exec(fullName);
  if (!match) throw new Error(`"${fullName}" is not a repository (expected owner/name)`);
  return { owner: match[1]!, repo: match[2]! };
}

export function repoName({ owner, repo }: RepoRef): string {
  return `${owner}/${repo}`;
}

export interface BranchHead {
  name: string;
  sha: string;
}

export type MergeMethod = 'merge' | 'squash' | 'rebase';

export interface PullRequest {
  number: number;
  htmlUrl: string;
  state: 'open' | 'closed';
  merged: boolean;
  /** `null` while GitHub is still computing it (the first read after a push); poll again. */
  mergeable: boolean | null;
  /** `clean`, `dirty` (conflicts), `blocked`, `behind`, `unstable`, `unknown`, … */
  mergeableState: string;
  headRef: string;
  headSha: string;
  baseRef: string;
  mergeCommitSha: string | null;
}

export interface NewPullRequest {
  title: string;
  head: string;
  base: string;
  body: string;
}

export interface MergeOutcome {
  sha: string;
  merged: boolean;
}

export interface ChangedFile {
  filename: string;
  status: string;
  additions: number;
  deletions: number;
}

export interface Comparison {
  /** `ahead`, `behind`, `diverged` or `identical` (head relative to base). */
  status: string;
  aheadBy: number;
  behindBy: number;
  totalCommits: number;
  files: ChangedFile[];
}

/**
 * What the branch workflow needs from GitHub, and nothing more. Failures are `GitHubError`s whose
 * `kind` names GitHub's answer (`ref_exists`, `not_mergeable`, `head_changed`, `not_found`, …).
 */
export interface GitHubClient {
  /** The repository's default branch and the sha of its head. */
  getDefaultBranch(repo: RepoRef): Promise<BranchHead>;
  /** The head sha of `branch`, or `null` when there is no such branch. */
  getBranchSha(repo: RepoRef, branch: string): Promise<string | null>;
  /** Creates `refs/heads/<branch>` at `sha`; `ref_exists` when the name is taken. */
  createBranch(repo: RepoRef, branch: string, sha: string): Promise<BranchHead>;
  /** Deletes the branch; resolves `false` when it did not exist (already deleted). */
  deleteBranch(repo: RepoRef, branch: string): Promise<boolean>;
  createPullRequest(repo: RepoRef, pull: NewPullRequest): Promise<PullRequest>;
  getPullRequest(repo: RepoRef, number: number): Promise<PullRequest>;
  /** The most recent pull request (open or closed) whose head is `branch` of this repository. */
  findPullRequestByHead(repo: RepoRef, branch: string): Promise<PullRequest | null>;
  /** Merges only if the head is still `expectedHeadSha` (`head_changed` otherwise). */
  mergePullRequest(
    repo: RepoRef,
    number: number,
    options: { method: MergeMethod; expectedHeadSha: string; commitTitle?: string },
  ): Promise<MergeOutcome>;
  /** `base...head`: how far apart they are and the files head changed since they diverged. */
  compare(repo: RepoRef, base: string, head: string): Promise<Comparison>;
}
