import {
  LIVE_SESSION_STATUSES,
  SUPERVISOR_EVENT_TYPES,
  type CreateTaskBody,
  type SandboxTaskView,
  type TaskCompleteAnswer,
  type TaskCompleteBody,
  type TaskSpec,
  type TaskView,
} from '@sandbox-relay/contracts';
import { AppError, NotFoundError, ServiceUnavailableError } from '@sandbox-relay/service-kit';
import { withStoreErrors } from '@sandbox-relay/store';
import type { Spawner } from '../policy/spawner';
import type { SupervisorContext } from '../supervisor-deps';
import { taskCompleteEffect } from '../sweep/task-effects';
import type { TaskEvents } from '../sweep/task-events';
import { toSandboxTaskView, toTaskView } from './task-view';

const TASK_INCLUDE = {
  sessions: { orderBy: { createdAt: 'desc' } },
  restartEvents: { orderBy: { createdAt: 'asc' } },
} as const;

class ConflictError extends AppError {
  constructor(message: string) {
    super(409, 'conflict', message);
  }
}

/** The task edge's work: start a task in a sandbox, read it, stop it; a sandbox reading and ending its own task. */
export class TaskEdge {
  constructor(
    private readonly ctx: SupervisorContext,
    private readonly spawner: Spawner,
    private readonly taskEvents: TaskEvents,
  ) {}

  /**
   * Writes the task and its session (`starting`, under the reserved sandbox's lock) in one
   * transaction, spawns the sandbox, then marks both running and emits `TASK_STARTED`.
   */
  async startTask(body: CreateTaskBody): Promise<TaskView> {
    const { prisma } = this.ctx.store;
    const spec: TaskSpec = {
      scope: this.ctx.config.keyPrefix,
      agent: body.agent,
      agent_id: body.agent_id,
      ...(body.prompt !== undefined ? { prompt: body.prompt } : {}),
      ...(body.plan !== undefined ? { plan: body.plan } : {}),
      ...(body.repository !== undefined ? { repository: body.repository } : {}),
      ...(body.worker_env !== undefined ? { worker_env: body.worker_env } : {}),
    };
    const { sandboxId, lock } = await this.spawner.reserve();
    try {
      const task = await withStoreErrors(
        prisma.task.create({
          data: {
            title: body.title,
            description: body.description ?? body.prompt ?? null,
            agentId: body.agent_id,
            ticketId: body.ticket_id ?? null,
            status: 'starting',
            spec: JSON.parse(JSON.stringify(spec)) as object,
            sandboxId,
            sessions: { create: { sandboxId, agentId: spec.agent_id, status: 'starting' } },
          },
        }),
      );
      try {
        await this.spawner.spawn(sandboxId, task.id, spec);
      } catch (error) {
        await this.spawner.markFailed(sandboxId).catch(() => undefined);
        await prisma.task
          .updateMany({ where: { id: task.id, sandboxId, status: 'starting' }, data: { status: 'failed' } })
          .catch(() => undefined);
        throw error;
      }
      const running = await this.spawner.markRunning(sandboxId, (tx) =>
        tx.task.updateMany({ where: { id: task.id, sandboxId, status: 'starting' }, data: { status: 'running' } }),
      );
      if (!running) {
        await this.spawner.discard(sandboxId);
        return await this.getTask(task.id);
      }
      const data = {
        task_id: task.id,
        sandbox_id: sandboxId,
        provider: this.ctx.provider.kind,
        agent_id: spec.agent_id,
        ...(body.ticket_id ? { ticket_id: body.ticket_id } : {}),
      };
      await this.ctx.emitter.emit(SUPERVISOR_EVENT_TYPES.TASK_STARTED, data, sandboxId, task.id);
      this.ctx.log.info(data, 'task started');
      return await this.getTask(task.id);
    } finally {
      await lock
        .release()
        .catch((error: unknown) =>
          this.ctx.log.warn({ err: error, sandboxId }, 'could not release the spawn lock; it expires'),
        );
    }
  }

  async getTask(taskId: string): Promise<TaskView> {
    const task = await withStoreErrors(
      this.ctx.store.prisma.task.findUnique({ where: { id: taskId }, include: TASK_INCLUDE }),
    );
    if (!task) throw new NotFoundError(`task ${taskId} not found`);
    return toTaskView(task);
  }

  /**
   * The task a sandbox runs (or ran: a sandbox a restart replaced still names its task), as the
   * original's `GET /sandboxes/{id}/task` answers it. 404 when the sandbox has no task.
   */
  async getSandboxTask(sandboxId: string): Promise<SandboxTaskView> {
    const { prisma } = this.ctx.store;
    const session = await withStoreErrors(
      prisma.sandboxSession.findUnique({ where: { sandboxId }, select: { taskId: true } }),
    );
    const task = await withStoreErrors(
      prisma.task.findFirst({
        where: session?.taskId ? { id: session.taskId } : { sandboxId },
        include: TASK_INCLUDE,
        orderBy: { updatedAt: 'desc' },
      }),
    );
    if (!task) throw new NotFoundError(`sandbox ${sandboxId} has no task`);
    return toSandboxTaskView(task);
  }

  /**
   * The sandbox reports its task done (`success`) or failed: the status moves by compare-and-set, as
   * the original's `POST /sandboxes/{id}/task-complete` moves it, once; a task already there, or already
   * ended (completed, stopped, quarantined), is answered unchanged (`changed: false`). 404 for a sandbox
   * the relay does not know; 409 for a task that is not the sandbox's current one, or while a restart
   * holds it.
   */
  async completeSandboxTask(sandboxId: string, body: TaskCompleteBody): Promise<TaskCompleteAnswer> {
    const { prisma } = this.ctx.store;
    const [session, task] = await withStoreErrors(
      Promise.all([
        prisma.sandboxSession.findUnique({ where: { sandboxId }, select: { taskId: true } }),
        prisma.task.findUnique({ where: { id: body.task_id }, select: { sandboxId: true, status: true } }),
      ]),
    );
    if (!session && !(await withStoreErrors(prisma.task.findFirst({ where: { sandboxId }, select: { id: true } })))) {
      throw new NotFoundError(`sandbox ${sandboxId} is unknown: it has neither a session nor a task`);
    }
    if (!task || (task.sandboxId !== sandboxId && session?.taskId !== body.task_id)) {
      throw new AppError(409, 'task_not_on_sandbox', `task ${body.task_id} is not sandbox ${sandboxId}'s task`, [
        { field: 'body.task_id', message: "is not this sandbox's task" },
      ]);
    }
    if (task.sandboxId !== sandboxId) {
      throw new AppError(
        409,
        'sandbox_replaced',
        `task ${body.task_id} has moved to sandbox ${task.sandboxId ?? '(none)'}: a restart replaced ${sandboxId}`,
      );
    }
    if (task.status === 'restarting')
      throw new AppError(409, 'task_restarting', `task ${body.task_id} is being restarted; retry shortly`);
    const effect = taskCompleteEffect(body.success, body.error_message ?? null);
    const move = await this.taskEvents.applyReport(
      body.task_id,
      sandboxId,
      effect,
      body.success ? (body.result ?? null) : null,
    );
    const view = await this.getTask(body.task_id);
    return {
      status: 'accepted',
      task_id: body.task_id,
      new_status: view.status,
      unblocked_tasks: [],
      changed: move !== null,
      task: view,
    };
  }

  /**
   * Terminates the task's sandbox and marks both stopped. Stopping a task that no longer runs changes
   * nothing. A restart that moved the task to a new sandbox between the read and the lock is seen
   * under the lock, and the stop follows the task to its new sandbox.
   */
  async stopTask(taskId: string, reason: string): Promise<TaskView> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if ((await this.stopOnce(taskId, reason)) === 'done') return this.getTask(taskId);
    }
    throw new ConflictError(`task ${taskId} keeps moving to new sandboxes; retry shortly`);
  }

  private async stopOnce(taskId: string, reason: string): Promise<'done' | 'moved'> {
    const { prisma } = this.ctx.store;
    const { sessions, state, config, provider } = this.ctx;
    const currentSandbox = async () =>
      (await withStoreErrors(prisma.task.findUnique({ where: { id: taskId }, select: { sandboxId: true } })))
        ?.sandboxId;
    const sandboxId = await currentSandbox();
    if (sandboxId === undefined) throw new NotFoundError(`task ${taskId} not found`);
    const status = sandboxId ? await sessions.status(sandboxId) : null;
    if (!sandboxId || status === null || !LIVE_SESSION_STATUSES.includes(status)) {
      // Replaced a moment ago: the task runs on in the sandbox its restart moved it to.
      return status === 'replaced' && (await currentSandbox()) !== sandboxId ? 'moved' : 'done';
    }
    const lock = await state.lock(sandboxId, config.lockTtlMs).catch((error: unknown) => {
      throw new ServiceUnavailableError('redis is unreachable; the sandbox cannot be locked for the stop', error);
    });
    if (!lock) throw new ConflictError(`sandbox ${sandboxId} is being restarted or stopped; retry shortly`);
    try {
      if ((await currentSandbox()) !== sandboxId) return 'moved';
      await provider.terminate(sandboxId, { graceMs: config.terminateGraceMs });
      if (await sessions.transition(sandboxId, LIVE_SESSION_STATUSES, 'stopped')) {
        await withStoreErrors(prisma.task.update({ where: { id: taskId }, data: { status: 'stopped' } }));
        await state.clearEscalation(sandboxId);
        await this.ctx.emitter.emit(
          SUPERVISOR_EVENT_TYPES.TASK_STOPPED,
          { task_id: taskId, sandbox_id: sandboxId, reason },
          sandboxId,
          taskId,
        );
      }
      return 'done';
    } finally {
      await lock.release();
    }
  }
}
