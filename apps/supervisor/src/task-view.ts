import type { SandboxSessionStatus, TaskView } from '@sandbox-relay/contracts';

/** The rows `GET /api/v1/tasks/:taskId` shows, as Prisma returns them. */
export interface TaskRows {
  id: string;
  title: string;
  status: string;
  sandboxId: string | null;
  agentId: string | null;
  ticketId: string | null;
  createdAt: Date;
  updatedAt: Date;
  sessions: readonly { sandboxId: string; status: string; restartCount: number; lastHeartbeatAt: Date | null; createdAt: Date }[];
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
  };
}
