// Queue names and job payloads are wire protocol between services. Renaming a queue strands the jobs
// waiting in the old one; changing a payload needs a new `version` that consumers accept first.
import { z } from 'zod';
import { SandboxId } from './ids';
import { IdempotencyKey, MessageBody } from './messages.schema';
import { BranchWorkflowJob } from './branch-workflow.schema';

export const QUEUE_NAMES = {
  SANDBOX_MESSAGES: 'sandbox-messages',
  BRANCH_WORKFLOW: 'branch-workflow',
} as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/** A message to queue for a sandbox, sent by a service (the guardian) rather than over HTTP. */
export const SandboxMessageJob = MessageBody.extend({
  version: z.literal('1'),
  sandbox_id: SandboxId,
  /** Queues the message at most once, however often the job is retried or re-sent. */
  idempotency_key: IdempotencyKey,
  /** Who sent it, for the audit trail (`guardian`, `supervisor`, …). */
  sender: z.string().min(1).max(100),
});
export type SandboxMessageJob = z.infer<typeof SandboxMessageJob>;

/** The payload schema of every queue, by name. */
export const QUEUE_PAYLOADS = {
  [QUEUE_NAMES.SANDBOX_MESSAGES]: SandboxMessageJob,
  [QUEUE_NAMES.BRANCH_WORKFLOW]: BranchWorkflowJob,
} as const;
export type QueuePayloads = { [K in keyof typeof QUEUE_PAYLOADS]: z.infer<(typeof QUEUE_PAYLOADS)[K]> };
