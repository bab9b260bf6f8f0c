import { z } from 'zod';
import type { Comparison, PullRequest } from './github-client';

// The fields of GitHub's answers we rely on, checked at the boundary: a changed or truncated answer
// fails here with the field's name instead of as `undefined` deep inside the workflow.

export const RepositoryBody = z.object({ default_branch: z.string().min(1) });

export const RefBody = z.object({ ref: z.string(), object: z.object({ sha: z.string().min(1) }) });

export const PullBody = z.object({
  number: z.number().int(),
  html_url: z.string(),
  state: z.enum(['open', 'closed']),
  merged: z.boolean().nullish(),
  mergeable: z.boolean().nullable().optional(),
  mergeable_state: z.string().optional(),
  merge_commit_sha: z.string().nullable().optional(),
  head: z.object({ ref: z.string(), sha: z.string() }),
  base: z.object({ ref: z.string() }),
});

export const ComparisonBody = z.object({
  status: z.string(),
  ahead_by: z.number().int(),
  behind_by: z.number().int(),
  total_commits: z.number().int(),
  files: z
    .array(
      z.object({ filename: z.string(), status: z.string(), additions: z.number().int(), deletions: z.number().int() }),
    )
    .optional(),
});

export function toPullRequest(body: z.infer<typeof PullBody>): PullRequest {
  return {
    number: body.number,
    htmlUrl: body.html_url,
    state: body.state,
    merged: body.merged ?? false,
    mergeable: body.mergeable ?? null,
    mergeableState: body.mergeable_state ?? 'unknown',
    headRef: body.head.ref,
    headSha: body.head.sha,
    baseRef: body.base.ref,
    mergeCommitSha: body.merge_commit_sha ?? null,
  };
}

export function toComparison(body: z.infer<typeof ComparisonBody>): Comparison {
  return {
    status: body.status,
    aheadBy: body.ahead_by,
    behindBy: body.behind_by,
    totalCommits: body.total_commits,
    files: (body.files ?? []).map(({ filename, status, additions, deletions }) => ({
      filename,
      status,
      additions,
      deletions,
    })),
  };
}
