import type { PrismaClient } from '../generated/prisma/client';
import { withStoreErrors } from './store-errors';

/** What the services read of a task row: its identity, where it runs, and what it is about. */
export interface TaskRecord {
  id: string;
  title: string;
  description: string | null;
  /** The task's status (`TaskStatus`). */
  status: string;
  /** Set while the task runs in a remote sandbox. */
  sandboxId: string | null;
  agentId: string | null;
  /** Where a local (non-sandbox) agent keeps its conversation. */
  conversationDir: string | null;
  ticketId: string | null;
}

const TASK_FIELDS = {
  id: true,
  title: true,
  description: true,
  status: true,
  sandboxId: true,
  agentId: true,
  conversationDir: true,
  ticketId: true,
} as const;

/**
 * The shared reads of the `tasks` table (the supervisor, which owns its writes, keeps its own
 * transactions). A sandbox's task is the most recently updated task that names it: a replacement
 * sandbox takes over its task's row, and an old row may still name a sandbox id until then.
 */
export class TaskRepository {
  constructor(private readonly prisma: PrismaClient) {}

  byId(id: string): Promise<TaskRecord | null> {
    return withStoreErrors(this.prisma.task.findUnique({ where: { id }, select: TASK_FIELDS }));
  }

  bySandboxId(sandboxId: string): Promise<TaskRecord | null> {
    return withStoreErrors(
      this.prisma.task.findFirst({ where: { sandboxId }, orderBy: { updatedAt: 'desc' }, select: TASK_FIELDS }),
    );
  }
}
