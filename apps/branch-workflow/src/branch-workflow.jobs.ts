import {
  AGENT_EVENT_TYPES,
  ENTITY_TYPES,
  QUEUE_NAMES,
  SUPERVISOR_EVENT_TYPES,
  type BranchWorkflowJob,
  type EventEnvelope,
} from '@sandbox-relay/contracts';
import { UnrecoverableError, jobIdFor, type JobProducer } from '@sandbox-relay/bus';
import { GitHubError } from '@sandbox-relay/github';
import { NotFoundError, ServiceUnavailableError, type Logger } from '@sandbox-relay/service-kit';
import type { TaskRepository } from '@sandbox-relay/store';
import type { BranchWorkflow } from './branch-workflow';
import { WorkflowConflictError } from './workflow-errors';

/** What the consumer needs to know of a BullMQ job: how often it ran and may run. */
export interface JobAttempts {
  attemptsMade: number;
  opts: { attempts?: number };
}

/**
 * Worth another attempt: GitHub unavailable or still rate limiting, the store unreachable, or a step
 * that arrived before the one it follows (finishing a ticket whose branch is still being created).
 * Everything else (not mergeable, head changed, no commits, GitHub not configured) cannot succeed by
 * waiting and fails the job at once.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof GitHubError) return error.retryable;
  if (error instanceof ServiceUnavailableError || error instanceof NotFoundError) return true;
  if (error instanceof WorkflowConflictError) return error.code === 'branch_not_ready';
  return !(error instanceof Error && 'status' in error);
}

/** Runs one `branch-workflow` job; a failure that is final (not retryable, or the last attempt) is recorded as BRANCH_WORKFLOW_FAILED. */
export function branchWorkflowJobHandler(workflow: BranchWorkflow, logger: Logger) {
  return async (job: BranchWorkflowJob, meta: JobAttempts): Promise<unknown> => {
    try {
      switch (job.action) {
        case 'start':
          return await workflow.startWorkOnTicket({
            ticketId: job.ticket_id,
            title: job.ticket_title,
            description: job.ticket_description,
            taskId: job.task_id,
            kind: job.kind,
          });
        case 'finish':
          return await workflow.finishWorkOnTicket({ ticketId: job.ticket_id, summary: job.summary });
        case 'merge':
          return await workflow.mergeTicketWork({ ticketId: job.ticket_id, method: job.merge_method });
      }
    } catch (error) {
      const retryable = isRetryable(error);
      if (!retryable || meta.attemptsMade + 1 >= (meta.opts.attempts ?? 1)) {
        await workflow
          .recordFailure(job.action, job.ticket_id, job.task_id, error)
          .catch((recordError: unknown) =>
            logger.error({ err: recordError, ticketId: job.ticket_id }, 'could not record BRANCH_WORKFLOW_FAILED'),
          );
      }
      if (retryable) throw error;
      throw new UnrecoverableError(error instanceof Error ? error.message : String(error));
    }
  };
}

/**
 * The deterministic job id of a trigger: every replica that sees the same event enqueues one job. The
 * event id is part of it, so a later completion of the same task (after more work) is a new job.
 */
export function triggerJobId(
  action: BranchWorkflowJob['action'],
  ticketId: string,
  taskId: string,
  eventId: string,
): string {
  return jobIdFor(`branch-workflow:${action}:${ticketId}:${taskId}:${eventId}`);
}

/** Events that start a ticket's branch, and events that open its pull request. */
const START_EVENTS = new Set<string>([AGENT_EVENT_TYPES.STARTED, SUPERVISOR_EVENT_TYPES.TASK_STARTED]);
const FINISH_EVENTS = new Set<string>([AGENT_EVENT_TYPES.COMPLETED, SUPERVISOR_EVENT_TYPES.TASK_COMPLETED]);

/**
 * Turns task lifecycle events into jobs: a task that has a ticket starting (the supervisor's
 * `TASK_STARTED`, the agent's `agent.started`) → `start`; its completion (`agent.completed`,
 * `TASK_COMPLETED`) → `finish`. Every replica receives every live event; the job id makes the enqueue
 * happen once per event, and the steps themselves are idempotent, so the two events of one start make
 * one branch.
 */
export class TaskEventTriggers {
  constructor(
    private readonly tasks: TaskRepository,
    private readonly producer: JobProducer,
    private readonly logger: Logger,
  ) {}

  async observe(event: EventEnvelope): Promise<void> {
    const starting = START_EVENTS.has(event.event_type);
    if (!starting && !FINISH_EVENTS.has(event.event_type)) return;
    if (event.entity_type !== ENTITY_TYPES.SANDBOX && event.entity_type !== ENTITY_TYPES.TASK) return;
    try {
      // A sandbox's task is the one that names the sandbox (never a task id the worker's payload claims).
      const task =
        event.entity_type === ENTITY_TYPES.TASK
          ? await this.tasks.byId(event.entity_id)
          : await this.tasks.bySandboxId(event.entity_id);
      if (!task?.ticketId) return;
      const base = {
        version: '1' as const,
        ticket_id: task.ticketId,
        task_id: task.id,
        requested_by: 'branch-workflow',
      };
      const job: BranchWorkflowJob = starting
        ? {
            ...base,
            action: 'start',
            ticket_title: task.title,
            ...(task.description ? { ticket_description: task.description } : {}),
          }
        : { ...base, action: 'finish' };
      await this.producer.enqueue(
        QUEUE_NAMES.BRANCH_WORKFLOW,
        job,
        triggerJobId(job.action, task.ticketId, task.id, event.id),
      );
      this.logger.info(
        { ticketId: task.ticketId, taskId: task.id, action: job.action, eventId: event.id },
        'branch-workflow job enqueued',
      );
    } catch (error) {
      this.logger.error({ err: error, eventId: event.id }, 'could not enqueue a branch-workflow job');
    }
  }
}
