import { createHash, randomBytes } from 'node:crypto';

/** A commit: its parents and the whole tree as path → content (enough for compare and merges). */
export interface FakeCommit {
  sha: string;
  parents: string[];
  message: string;
  files: Map<string, string>;
}

export interface FakePull {
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  state: 'open' | 'closed';
  merged: boolean;
  mergeCommitSha: string | null;
  /** Set by a test to force GitHub's verdict; otherwise computed from the trees (overlapping changes = dirty). */
  mergeableOverride?: { mergeable: boolean; state: string };
  /** Reads that still answer `mergeable: null` (GitHub computes mergeability in the background). */
  pendingMergeabilityReads: number;
  createdAt: string;
}

export interface FakeRepo {
  owner: string;
  name: string;
  defaultBranch: string;
  refs: Map<string, string>;
  commits: Map<string, FakeCommit>;
  pulls: Map<number, FakePull>;
  nextNumber: number;
}

export function newSha(seed: string): string {
  return createHash('sha1').update(seed).update(randomBytes(8)).digest('hex');
}

export function addCommit(repo: FakeRepo, parents: string[], files: Map<string, string>, message: string): FakeCommit {
  const commit: FakeCommit = { sha: newSha(message), parents, message, files };
  repo.commits.set(commit.sha, commit);
  return commit;
}

/** Every commit reachable from `sha` (itself included). */
export function ancestors(repo: FakeRepo, sha: string): Set<string> {
  const seen = new Set<string>();
  const stack = [sha];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(repo.commits.get(next)?.parents ?? []));
  }
  return seen;
}

/** The nearest common ancestor (breadth-first from head over base's ancestry). */
export function mergeBase(repo: FakeRepo, base: string, head: string): string | undefined {
  const fromBase = ancestors(repo, base);
  const queue = [head];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const next = queue.shift()!;
    if (fromBase.has(next)) return next;
    if (seen.has(next)) continue;
    seen.add(next);
    queue.push(...(repo.commits.get(next)?.parents ?? []));
  }
  return undefined;
}

export interface FileChange {
  filename: string;
  status: 'added' | 'removed' | 'modified';
  additions: number;
  deletions: number;
}

const lines = (text: string | undefined) =>
  text === undefined || text === '' ? [] : text.replace(/\n$/, '').split('\n');

/** Files that differ between two trees, GitHub-style (a changed file counts its old lines removed, new ones added). */
export function diffTrees(from: Map<string, string>, to: Map<string, string>): FileChange[] {
  const names = [...new Set([...from.keys(), ...to.keys()])].sort();
  const changes: FileChange[] = [];
  for (const filename of names) {
    const before = from.get(filename);
    const after = to.get(filename);
    if (before === after) continue;
    const status = before === undefined ? 'added' : after === undefined ? 'removed' : 'modified';
    const old = new Set(lines(before));
    const now = new Set(lines(after));
    changes.push({
      filename,
      status,
      additions: lines(after).filter((line) => !old.has(line)).length,
      deletions: lines(before).filter((line) => !now.has(line)).length,
    });
  }
  return changes;
}

export function tree(repo: FakeRepo, sha: string): Map<string, string> {
  return repo.commits.get(sha)?.files ?? new Map();
}

/** GitHub's verdict on a pull request: overlapping changes on both sides since they diverged mean conflicts. */
export function mergeability(repo: FakeRepo, pull: FakePull): { mergeable: boolean; state: string } {
  if (pull.mergeableOverride) return pull.mergeableOverride;
  const baseSha = repo.refs.get(pull.base);
  const headSha = repo.refs.get(pull.head);
  if (!baseSha || !headSha) return { mergeable: false, state: 'dirty' };
  const common = mergeBase(repo, baseSha, headSha);
  if (!common) return { mergeable: false, state: 'dirty' };
  const ours = new Set(diffTrees(tree(repo, common), tree(repo, baseSha)).map((change) => change.filename));
  const conflicts = diffTrees(tree(repo, common), tree(repo, headSha)).some((change) => ours.has(change.filename));
  return conflicts ? { mergeable: false, state: 'dirty' } : { mergeable: true, state: 'clean' };
}

/** Applies the head's changes since the merge base onto the base's tree (what a squash merge commits). */
export function mergedTree(repo: FakeRepo, baseSha: string, headSha: string): Map<string, string> {
  const common = mergeBase(repo, baseSha, headSha) ?? baseSha;
  const result = new Map(tree(repo, baseSha));
  const headTree = tree(repo, headSha);
  for (const change of diffTrees(tree(repo, common), headTree)) {
    if (change.status === 'removed') result.delete(change.filename);
    else result.set(change.filename, headTree.get(change.filename)!);
  }
  return result;
}
