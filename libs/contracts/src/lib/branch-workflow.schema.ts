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
export const MergeBranchJob = JobBase.extend({ action: z.literal('merge'), merge_method: MergeMethodSchema.optional() });

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
  files: z.array(z.object({ filename: z.string(), status: z.string(), additions: z.number().int(), deletions: z.number().int() })),
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
