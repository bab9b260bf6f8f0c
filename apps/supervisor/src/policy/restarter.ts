import { setTimeout as sleep } from 'node:timers/promises';
import {
  ENTITY_TYPES,
  FINAL_TASK_STATUSES,
  LIVE_SESSION_STATUSES,
  SUPERVISOR_EVENT_TYPES,
  TaskSpec,
  type SandboxSessionStatus,
} from '@sandbox-relay/contracts';
import { withStoreErrors } from '@sandbox-relay/store';
import { collectForensics } from './forensics';
import { RestartIntensity } from './restart-intensity';
import type { SweptSession } from '../session-store';
import type { Spawner } from './spawner';
import type { SupervisorContext } from '../supervisor-deps';
import { quarantines, restarts } from '../supervisor.metrics';
import { buildTrajectoryContext, readTrajectoryEvents } from '../history/trajectory-context';

interface ReplaceInput {
  task: { id: string; title: string; description: string | null };
  spec: TaskSpec;
  session: SweptSession;
  reason: string;
  attempt: number;
  backoffMs: number;
  forced: boolean;
  forensics: Record<string, unknown>;
}

/**
 * The seed's `_restart_sandbox_agent`, under the sandbox's lock: forensics, terminate (graceful, then
 * forced), then either quarantine (restart intensity exceeded) or, after the backoff, a replacement
 * for the same task that starts with the trajectory context built from the event store.
 */
export class Restarter {
  private readonly intensity: RestartIntensity;

  constructor(
    private readonly ctx: SupervisorContext,
    private readonly spawner: Spawner,
  ) {
    this.intensity = new RestartIntensity(ctx.config.restart);
  }

  /** @param from the statuses the session may be in under the lock (a `starting` one only while still `starting`). */
  async restart(
    session: SweptSession,
    reason: string,
    from: readonly SandboxSessionStatus[] = LIVE_SESSION_STATUSES,
  ): Promise<void> {
    const { prisma } = this.ctx.store;
    const { config, provider, state, sessions } = this.ctx;
    const oldSandboxId = session.sandboxId;
    const lock = await state.lock(oldSandboxId, config.lockTtlMs);
    if (!lock) return; // another replica acts on this sandbox
    try {
      // Under the lock, re-read: another replica may have finished this restart a moment ago.
      const current = await sessions.status(oldSandboxId);
      if (current === null || !from.includes(current)) return;
      if (current !== 'restarting' && !(await sessions.transition(oldSandboxId, [current], 'restarting'))) return;

      const task = session.taskId
        ? await withStoreErrors(prisma.task.findUnique({ where: { id: session.taskId } }))
        : null;
      const spec = TaskSpec.safeParse(task?.spec);
      if (!task || !spec.success) return await this.abandon(session, reason);
      // A task its worker already finished (completed, or ended by an operator) is not run again: its
      // sandbox went silent after the work was done (the original's worker reports completion and
      // carries on taking messages, beating only between turns).
      const marked = await withStoreErrors(
        prisma.task.updateMany({
          where: { id: task.id, status: { notIn: [...FINAL_TASK_STATUSES] } },
          data: { status: 'restarting' },
        }),
      );
      if (marked.count === 0) return await this.release(session, reason);

      const past = await withStoreErrors(
        prisma.restartEvent.findMany({
          where: { taskId: task.id, createdAt: { gt: this.intensity.windowStart() } },
          select: { createdAt: true },
        }),
      );
      const decision = this.intensity.decide(past.map((row) => row.createdAt));
      const forensics = await collectForensics(provider, this.ctx.events, oldSandboxId);
      const terminated = await provider
        .terminate(oldSandboxId, { graceMs: config.terminateGraceMs })
        .catch((error: unknown) => {
          this.ctx.log.warn({ err: error, sandboxId: oldSandboxId }, 'terminate failed; continuing with the restart');
          return { forced: false, alreadyGone: false };
        });
      if (decision.kind === 'quarantine')
        return await this.quarantine(task.id, oldSandboxId, reason, decision, forensics);
      await sleep(decision.delayMs);
      await this.replace({
        task,
        spec: spec.data,
        session,
        reason,
        attempt: decision.attempt,
        backoffMs: decision.delayMs,
        forced: terminated.forced,
        forensics,
      });
    } finally {
      await lock.release();
    }
  }

  /**
   * A `starting` session that is not its task's current sandbox: a replacement whose restart died
   * mid-spawn (the old session is still `restarting`, and the sweep resumes that restart). Its
   * sandbox may exist: terminated best-effort, the session `failed`.
   */
  async giveUpSpawn(session: SweptSession): Promise<void> {
    const { sandboxId } = session;
    const lock = await this.ctx.state.lock(sandboxId, this.ctx.config.lockTtlMs);
    if (!lock) return;
    try {
      // The sweep's view may be stale: the spawn may have reported (markRunning) and released its lock
      // a moment ago. Only a session still `starting` is given up, by compare-and-set, and only then is
      // its sandbox terminated; terminating first killed healthy replacements on a busy machine.
      if (!(await this.ctx.sessions.transition(sandboxId, ['starting'], 'failed'))) return;
      this.ctx.log.warn(
        { sandboxId, taskId: session.taskId },
        'a replacement spawn never reported; its session is failed',
      );
      await this.ctx.provider
        .terminate(sandboxId, { graceMs: this.ctx.config.terminateGraceMs })
        .catch((error: unknown) => this.ctx.log.warn({ err: error, sandboxId }, 'terminate failed'));
    } finally {
      await lock.release();
    }
  }

  /** A silent sandbox whose task has ended: terminated, its session ended, no replacement. */
  private async release(session: SweptSession, reason: string): Promise<void> {
    const { sandboxId } = session;
    const task = session.taskId
      ? await withStoreErrors(
          this.ctx.store.prisma.task.findUnique({ where: { id: session.taskId }, select: { status: true } }),
        )
      : null;
    const taskStatus = task?.status ?? 'unknown';
    await this.ctx.provider
      .terminate(sandboxId, { graceMs: this.ctx.config.terminateGraceMs })
      .catch((error: unknown) => this.ctx.log.warn({ err: error, sandboxId }, 'terminate failed'));
    await this.ctx.sessions.transition(sandboxId, ['restarting'], taskStatus === 'completed' ? 'completed' : 'stopped');
    await this.ctx.state.clearEscalation(sandboxId);
    const data = { task_id: session.taskId, sandbox_id: sandboxId, task_status: taskStatus, reason };
    await this.ctx.emitter.emit(SUPERVISOR_EVENT_TYPES.SANDBOX_RELEASED, data, sandboxId, session.taskId ?? undefined);
    this.ctx.log.info(data, 'the sandbox of an ended task went silent; released instead of restarted');
  }

  /** A session not started through the supervisor: nothing to respawn it from. */
  private async abandon(session: SweptSession, reason: string): Promise<void> {
    const { sandboxId } = session;
    await this.ctx.provider
      .terminate(sandboxId, { graceMs: this.ctx.config.terminateGraceMs })
      .catch((error: unknown) => this.ctx.log.warn({ err: error, sandboxId }, 'terminate failed'));
    await this.ctx.sessions.transition(sandboxId, ['restarting'], 'failed');
    await this.ctx.state.clearEscalation(sandboxId);
    const data = {
      task_id: session.taskId,
      old_sandbox_id: sandboxId,
      reason,
      error: 'the session has no task started through the supervisor',
    };
    await this.ctx.emitter.emit(SUPERVISOR_EVENT_TYPES.RESTART_FAILED, data, sandboxId);
  }

  /** Past the restart intensity: task and session quarantined, no more restarts. */
  private async quarantine(
    taskId: string,
    sandboxId: string,
    trigger: string,
    decision: { reason: string; restartsInWindow: number },
    forensics: Record<string, unknown>,
  ): Promise<void> {
    const { prisma } = this.ctx.store;
    await withStoreErrors(
      prisma.$transaction([
        prisma.sandboxSession.updateMany({ where: { sandboxId }, data: { status: 'quarantined' } }),
        prisma.task.update({ where: { id: taskId }, data: { status: 'quarantined' } }),
      ]),
    );
    await this.ctx.state.clearEscalation(sandboxId);
    const data = {
      task_id: taskId,
      sandbox_id: sandboxId,
      reason: decision.reason,
      trigger,
      restarts_in_window: decision.restartsInWindow,
      forensics,
    };
    await this.ctx.emitter.emit(SUPERVISOR_EVENT_TYPES.TASK_QUARANTINED, data, sandboxId, taskId);
    restarts.inc({ outcome: 'quarantined' });
    quarantines.inc();
    this.ctx.log.error({ taskId, sandboxId, reason: decision.reason }, 'task quarantined');
  }

  /**
   * Spawns the replacement with the trajectory context (its session written `starting` first) and
   * moves the task to it in one transaction. A failed spawn records a `RestartEvent` without a new
   * sandbox (it counts toward the intensity: a provider that keeps failing ends in quarantine) and
   * leaves the old session `restarting` for the next sweep.
   */
  private async replace(input: ReplaceInput): Promise<void> {
    const { prisma } = this.ctx.store;
    const { task, spec, session, reason } = input;
    const oldSandboxId = session.sandboxId;
    const taskSessions = await withStoreErrors(
      prisma.sandboxSession.findMany({ where: { taskId: task.id }, select: { sandboxId: true } }),
    );
    const { events } = await readTrajectoryEvents(
      (query) => this.ctx.events.list(query),
      taskSessions.map((row) => row.sandboxId),
    );
    const restartCount = session.restartCount + 1;
    const taskPrompt =
      spec.prompt ?? (spec.plan ? `Run this plan: ${JSON.stringify(spec.plan)}` : (task.description ?? task.title));
    const context = buildTrajectoryContext({ taskId: task.id, taskPrompt, oldSandboxId, reason, restartCount, events });

    const { sandboxId: newSandboxId, lock } = await this.spawner.reserve();
    try {
      await withStoreErrors(
        prisma.sandboxSession.create({
          data: { sandboxId: newSandboxId, taskId: task.id, agentId: spec.agent_id, status: 'starting', restartCount },
        }),
      );
      try {
        await this.spawner.spawn(newSandboxId, task.id, spec, context.text);
      } catch (error) {
        await this.spawner.markFailed(newSandboxId).catch(() => undefined);
        await withStoreErrors(
          prisma.restartEvent.create({
            data: { taskId: task.id, oldSandboxId, newSandboxId: null, reason: `${reason}; spawn failed` },
          }),
        );
        await this.ctx.emitter.emit(
          SUPERVISOR_EVENT_TYPES.RESTART_FAILED,
          { task_id: task.id, old_sandbox_id: oldSandboxId, reason, error: (error as Error).message },
          oldSandboxId,
          task.id,
        );
        restarts.inc({ outcome: 'spawn_failed' });
        this.ctx.log.error(
          { err: error, taskId: task.id, sandboxId: oldSandboxId },
          'restart could not spawn a replacement',
        );
        return;
      }
      const running = await this.spawner.markRunning(newSandboxId, async (tx) => {
        await tx.sandboxSession.updateMany({ where: { sandboxId: oldSandboxId }, data: { status: 'replaced' } });
        await tx.task.update({ where: { id: task.id }, data: { sandboxId: newSandboxId, status: 'running' } });
        await tx.restartEvent.create({ data: { taskId: task.id, oldSandboxId, newSandboxId, reason } });
      });
      if (!running) return await this.spawner.discard(newSandboxId);
    } finally {
      await lock
        .release()
        .catch((error: unknown) =>
          this.ctx.log.warn({ err: error, sandboxId: newSandboxId }, 'could not release the spawn lock; it expires'),
        );
    }
    await this.ctx.state.clearEscalation(oldSandboxId);
    const data = {
      task_id: task.id,
      old_sandbox_id: oldSandboxId,
      new_sandbox_id: newSandboxId,
      reason,
      attempt: input.attempt,
      restart_count: restartCount,
      backoff_ms: input.backoffMs,
      forced: input.forced,
      context_bytes: context.bytes,
      context_steps: context.totalSteps,
      forensics: input.forensics,
    };
    await this.ctx.emitter.emitMany(SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED, data, [
      { entityType: ENTITY_TYPES.SANDBOX, entityId: oldSandboxId },
      { entityType: ENTITY_TYPES.SANDBOX, entityId: newSandboxId },
      { entityType: ENTITY_TYPES.TASK, entityId: task.id },
    ]);
    restarts.inc({ outcome: 'restarted' });
    this.ctx.log.warn(
      { taskId: task.id, oldSandboxId, newSandboxId, reason, attempt: input.attempt },
      'sandbox restarted',
    );
  }
}
