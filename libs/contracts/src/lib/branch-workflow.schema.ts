// The branch workflow's wire shapes: its BullMQ jobs, its HTTP edge and the events it emits.
// Event types and job payloads are wire protocol (see queues.ts and event-types.ts).
import { z } from 'zod';
import { StorableString } from './events.schema';

/** Ticket ids travel in branch names, URL paths and channel names: a safe, short alphabet. */
export const TICKET_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const TicketId = z.string().regex(TICKET_ID_PATTERN, 'must match [A-Za-z0-9._-]{1,64}');
export type TicketId = z.infer<typeof TicketId>;

/** The branch name's first segment (REFERENCE.md: `{feature|fix|refactor|docs|chore|test}/{ticket}-{slug}`). */
export const BRANCH_KINDS = ['feature', 'fix', 'refactor', 'docs', 'chore', 'test'] as const;
export const BranchKind = z.enum(BRANCH_KINDS);
export type BranchKind = z.infer<typeof BranchKind>;

/**
 * Every first segment the workflow names branches with: the kinds a ticket route may ask for, and
 * `hotfix` for a critical bug, which only the original system's edge can say (ticket type `bug`,
 * priority `critical`).
 */
export type BranchNameKind = BranchKind | 'hotfix';

export const MergeMethodSchema = z.enum(['squash', 'merge', 'rebase']);
export type MergeMethodName = z.infer<typeof MergeMethodSchema>;

// Stored in Postgres text columns and sent to GitHub: no NUL, no unpaired surrogates.
const TicketTitle = StorableString.pipe(z.string().trim().min(1).max(300));
const TicketDescription = StorableString.pipe(z.string().max(20_000));
const Summary = StorableString.pipe(z.string().max(20_000));
const TaskRef = z.string().min(1).max(128);

// The workflow's event types live in the zod-free catalogue (the dashboard bundles it); re-exported here.
export { BRANCH_WORKFLOW_EVENT_TYPES, type BranchWorkflowEventType } from './event-types';

export const BRANCH_WORKFLOW_STEPS = ['start', 'finish', 'merge'] as const;
export type BranchWorkflowStep = (typeof BRANCH_WORKFLOW_STEPS)[number];

// ---- BullMQ `branch-workflow` jobs ---------------------------------------------------------------

const JobBase = z.object({
  version: z.literal('1'),
  ticket_id: TicketId,
  task_id: TaskRef.optional(),
  /** Who asked, for the audit trail (`branch-workflow` for its own triggers, `http`, a service name). */
  requested_by: z.string().min(1).max(100),
});

export const StartBranchJob = JobBase.extend({
  action: z.literal('start'),
  ticket_title: TicketTitle,
  ticket_description: TicketDescription.optional(),
  kind: BranchKind.optional(),
});
export const FinishBranchJob = JobBase.extend({ action: z.literal('finish'), summary: Summary.optional() });
export const MergeBranchJob = JobBase.extend({
  action: z.literal('merge'),
  merge_method: MergeMethodSchema.optional(),
});

/** One step of a ticket's branch workflow, as a job. Job ids are `<action>-<ticket>`-derived, so a re-sent trigger is a no-op. */
export const BranchWorkflowJob = z.discriminatedUnion('action', [StartBranchJob, FinishBranchJob, MergeBranchJob]);
export type BranchWorkflowJob = z.infer<typeof BranchWorkflowJob>;

// ---- HTTP edge -----------------------------------------------------------------------------------

export const StartBranchRequest = z.object({
  title: TicketTitle,
  description: TicketDescription.optional(),
  task_id: TaskRef.optional(),
  kind: BranchKind.optional(),
});
export type StartBranchRequest = z.infer<typeof StartBranchRequest>;

export const OpenPullRequestRequest = z.object({
  /** Replaces the summary the workflow would build from the task's events. */
  summary: Summary.optional(),
});
export type OpenPullRequestRequest = z.infer<typeof OpenPullRequestRequest>;

export const MergeRequest = z.object({ merge_method: MergeMethodSchema.optional() });
export type MergeRequest = z.infer<typeof MergeRequest>;

export const BRANCH_WORK_STATES = ['creating', 'started', 'pr_opened', 'merged', 'completed'] as const;
export type BranchWorkState = (typeof BRANCH_WORK_STATES)[number];

/** A ticket's branch work as the edge answers it. `changed` is false when the step had already been done. */
export const BranchWorkView = z.object({
  ticket_id: TicketId,
  task_id: z.string().nullable(),
  repo: z.string(),
  branch_name: z.string(),
  base_branch: z.string(),
  base_sha: z.string().nullable(),
  state: z.enum(BRANCH_WORK_STATES),
  pr_number: z.number().int().nullable(),
  pr_url: z.string().nullable(),
  merge_sha: z.string().nullable(),
  changed: z.boolean(),
});
export type BranchWorkView = z.infer<typeof BranchWorkView>;

export const BranchComparisonView = z.object({
  ticket_id: TicketId,
  branch_name: z.string(),
  base_branch: z.string(),
  status: z.string(),
  ahead_by: z.number().int(),
  behind_by: z.number().int(),
  files: z.array(
    z.object({ filename: z.string(), status: z.string(), additions: z.number().int(), deletions: z.number().int() }),
  ),
});
export type BranchComparisonView = z.infer<typeof BranchComparisonView>;

// ---- Event payloads ------------------------------------------------------------------------------

export const BranchWorkflowEventData = z.object({
  ticket_id: TicketId,
  task_id: z.string().nullable(),
  repo: z.string(),
  branch_name: z.string().nullable(),
  base_branch: z.string().nullable(),
  pr_number: z.number().int().nullable().optional(),
  pr_url: z.string().nullable().optional(),
  merge_sha: z.string().nullable().optional(),
  files_changed: z.number().int().optional(),
  branch_deleted: z.boolean().optional(),
  /** BRANCH_WORKFLOW_FAILED only: which step, a stable code, GitHub's status and message. */
  step: z.enum(BRANCH_WORKFLOW_STEPS).optional(),
  code: z.string().optional(),
  github_status: z.number().int().optional(),
  message: z.string().optional(),
});
export type BranchWorkflowEventData = z.infer<typeof BranchWorkflowEventData>;

// ---- The original system's (OmoiOS) edge: POST /api/v1/branch-workflow/{start,finish,merge,status} ----
// Its bodies name the repository and a user on every call; the relay serves the one repository it is
// configured with (GITHUB_REPOSITORY) under its own credentials, so `repo_owner`/`repo_name` must name
// that repository and `user_id` is accepted and not used. Failures are the relay's JSON errors, not
// the original's `{success: false, error}`.

const RepoPart = z.string().min(1).max(100);
const OmoiosRepo = { repo_owner: RepoPart, repo_name: RepoPart, user_id: z.string().max(200).optional() };

/** The original's ticket types; `bug` becomes a `fix/` branch (`hotfix/` with priority `critical`), anything else `feature/`. */
export const OMOIOS_TICKET_TYPE_KINDS: Readonly<Record<string, BranchKind>> = {
  feature: 'feature',
  bug: 'fix',
  refactor: 'refactor',
  docs: 'docs',
  test: 'test',
  chore: 'chore',
};

export const OmoiosStartWorkRequest = z.object({
  ticket_id: TicketId,
  ticket_title: TicketTitle,
  ...OmoiosRepo,
  ticket_type: z.string().max(50).default('feature'),
  priority: z.string().max(50).nullable().optional(),
});
export type OmoiosStartWorkRequest = z.infer<typeof OmoiosStartWorkRequest>;

export const OmoiosStartWorkResponse = z.object({
  success: z.literal(true),
  branch_name: z.string(),
  /** The commit the branch was created at (the default branch's head then). */
  sha: z.string().nullable(),
  error: z.null(),
});
export type OmoiosStartWorkResponse = z.infer<typeof OmoiosStartWorkResponse>;

export const OmoiosFinishWorkRequest = z.object({
  ticket_id: TicketId,
  /** Accepted; the pull request is titled from the title the ticket was started with. */
  ticket_title: TicketTitle,
  /** Must be the ticket's branch. */
  branch_name: z.string().min(1).max(255),
  ...OmoiosRepo,
  /** Goes into the pull request's body as the agent's summary (beside the ticket and the files changed). */
  pr_body: Summary.nullable().optional(),
});
export type OmoiosFinishWorkRequest = z.infer<typeof OmoiosFinishWorkRequest>;

export const OmoiosFinishWorkResponse = z.object({
  success: z.literal(true),
  pr_number: z.number().int(),
  pr_url: z.string(),
  error: z.null(),
});
export type OmoiosFinishWorkResponse = z.infer<typeof OmoiosFinishWorkResponse>;

export const OmoiosMergeWorkRequest = z.object({
  ticket_id: TicketId,
  /** Must be the ticket's pull request. */
  pr_number: z.number().int().positive(),
  ...OmoiosRepo,
  /** The relay always deletes a merged ticket's branch: `false` is refused rather than ignored. */
  delete_branch_after: z
    .literal(true, { error: "must be true: the relay always deletes a merged ticket's branch" })
    .default(true),
  merge_method: MergeMethodSchema.optional(),
});
export type OmoiosMergeWorkRequest = z.infer<typeof OmoiosMergeWorkRequest>;

export const OmoiosMergeWorkResponse = z.object({
  success: z.literal(true),
  merge_sha: z.string().nullable(),
  /** Always false on success; a pull request GitHub will not merge is a 409 `not_mergeable`. */
  has_conflicts: z.literal(false),
  error: z.null(),
});
export type OmoiosMergeWorkResponse = z.infer<typeof OmoiosMergeWorkResponse>;

export const OmoiosBranchStatusRequest = z.object({
  branch_name: z.string().min(1).max(255),
  ...OmoiosRepo,
});
export type OmoiosBranchStatusRequest = z.infer<typeof OmoiosBranchStatusRequest>;

export const OmoiosBranchStatusResponse = z.object({
  success: z.literal(true),
  ahead_by: z.number().int(),
  behind_by: z.number().int(),
  /** As in the original, which never sets it on a status. */
  has_conflicts: z.literal(false),
  error: z.null(),
});
export type OmoiosBranchStatusResponse = z.infer<typeof OmoiosBranchStatusResponse>;
