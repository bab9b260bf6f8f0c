import type { SandboxSessionStatus, SandboxTaskView, TaskView } from '@sandbox-relay/contracts';

/** The rows `GET /api/v1/tasks/:taskId` shows, as Prisma returns them. */
export interface TaskRows {
  id: string;
  title: string;
  status: string;
  sandboxId: string | null;
  agentId: string | null;
  ticketId: string | null;
  description: string | null;
  costUsd: number;
  inputTokens: bigint;
  outputTokens: bigint;
  cacheReadTokens: bigint;
  cacheWriteTokens: bigint;
  result: unknown;
  errorMessage: string | null;
  createdAt: Date;
  updatedAt: Date;
  sessions: readonly {
    sandboxId: string;
    status: string;
    restartCount: number;
    lastHeartbeatAt: Date | null;
    createdAt: Date;
  }[];
  restartEvents: readonly { oldSandboxId: string; newSandboxId: string | null; reason: string; createdAt: Date }[];
}

/** The wire view of a task: its sessions newest first, its restarts oldest first. */
export function toTaskView(task: TaskRows): TaskView {
  return {
    id: task.id,
    title: task.title,
    status: task.status,
    sandbox_id: task.sandboxId,
    agent_id: task.agentId,
    ticket_id: task.ticketId,
    created_at: task.createdAt.toISOString(),
    updated_at: task.updatedAt.toISOString(),
    sessions: task.sessions.map((session) => ({
      sandbox_id: session.sandboxId,
      status: session.status as SandboxSessionStatus,
      restart_count: session.restartCount,
      last_heartbeat_at: session.lastHeartbeatAt?.toISOString() ?? null,
      created_at: session.createdAt.toISOString(),
    })),
    restarts: task.restartEvents.map((restart) => ({
      old_sandbox_id: restart.oldSandboxId,
      new_sandbox_id: restart.newSandboxId,
      reason: restart.reason,
      created_at: restart.createdAt.toISOString(),
    })),
    // Token totals are bigint columns; a task would need 2^53 tokens to lose precision here.
    cost_usd: task.costUsd,
    input_tokens: Number(task.inputTokens),
    output_tokens: Number(task.outputTokens),
    cache_read_tokens: Number(task.cacheReadTokens),
    cache_write_tokens: Number(task.cacheWriteTokens),
    error_message: task.errorMessage,
    result: isObject(task.result) ? task.result : null,
  };
}

const ENDED = new Set(['completed', 'failed', 'stopped', 'quarantined']);

/**
 * `GET /api/v1/sandboxes/:id/task`: the original's `SandboxTaskResponse` fields as far as the relay has
 * them, over the task view. `started_at` is when its first sandbox ran (sessions are newest first).
 */
export function toSandboxTaskView(task: TaskRows): SandboxTaskView {
  const view = toTaskView(task);
  return {
    ...view,
    description: task.description,
    phase_id: null,
    task_type: null,
    priority: null,
    assigned_agent_id: task.agentId,
    started_at: task.sessions.at(-1)?.createdAt.toISOString() ?? null,
    completed_at: ENDED.has(task.status) ? view.updated_at : null,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
