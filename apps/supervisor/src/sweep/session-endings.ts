import { FINAL_TASK_STATUSES, SUPERVISOR_EVENT_TYPES, type SandboxSessionStatus } from '@sandbox-relay/contracts';
import type { SweptSession } from '../session-store';
import type { SupervisorContext } from '../supervisor-deps';
import { idleStops } from '../supervisor.metrics';

export const ACTIVE: SandboxSessionStatus[] = ['running', 'degraded'];

/** How a session ends without a restart: its worker said it completed, or it sat idle too long. */
export class SessionEndings {
  constructor(private readonly ctx: SupervisorContext) {}

  /** Under the sandbox's lock: terminate, `stopped`, `SANDBOX_IDLE_STOPPED`. */
  async stopIdle(session: SweptSession, idleForMs: number, idleSince: number): Promise<void> {
    const { state, sessions, provider, config } = this.ctx;
    const lock = await state.lock(session.sandboxId, config.lockTtlMs);
    if (!lock) return;
    try {
      if (!ACTIVE.includes((await sessions.status(session.sandboxId)) ?? 'stopped')) return;
      await provider.terminate(session.sandboxId, { graceMs: config.terminateGraceMs });
      if (!(await sessions.transition(session.sandboxId, ACTIVE, 'stopped'))) return;
      // A task its worker finished (or reported failed) keeps that status: the idle stop ends only the sandbox.
      if (session.taskId) {
        await this.ctx.store.prisma.task.updateMany({
          where: {
            id: session.taskId,
            sandboxId: session.sandboxId,
            status: { notIn: [...FINAL_TASK_STATUSES, 'failed'] },
          },
          data: { status: 'stopped' },
        });
      }
      await state.clearEscalation(session.sandboxId);
      const data = {
        task_id: session.taskId,
        sandbox_id: session.sandboxId,
        idle_for_ms: idleForMs,
        idle_since: new Date(idleSince).toISOString(),
      };
      await this.ctx.emitter.emit(
        SUPERVISOR_EVENT_TYPES.SANDBOX_IDLE_STOPPED,
        data,
        session.sandboxId,
        session.taskId ?? undefined,
      );
      idleStops.inc();
      this.ctx.log.info(data, 'idle sandbox stopped');
    } finally {
      await lock.release();
    }
  }

  /**
   * The worker's last beat said `completed`: the session ends (exactly once, by compare-and-set from
   * `from`). Returns whether this call ended it; the caller then releases the sandbox (`release`).
   */
  async complete(session: SweptSession, from: readonly SandboxSessionStatus[] = ACTIVE): Promise<boolean> {
    if (!(await this.ctx.sessions.transition(session.sandboxId, from, 'completed'))) return false;
    // A task already completed (its worker reported it, `continuous.completed` or task-complete: its
    // TASK_COMPLETED was emitted then), stopped or quarantined is not moved, nor announced again.
    const moved = session.taskId
      ? (
          await this.ctx.store.prisma.task.updateMany({
            where: { id: session.taskId, sandboxId: session.sandboxId, status: { notIn: [...FINAL_TASK_STATUSES] } },
            data: { status: 'completed', errorMessage: null },
          })
        ).count > 0
      : true;
    await this.ctx.state.clearEscalation(session.sandboxId);
    if (moved) {
      await this.ctx.emitter.emit(
        SUPERVISOR_EVENT_TYPES.TASK_COMPLETED,
        { task_id: session.taskId, sandbox_id: session.sandboxId },
        session.sandboxId,
        session.taskId ?? undefined,
      );
    }
    return true;
  }

  async release(sandboxId: string): Promise<void> {
    await this.ctx.provider
      .terminate(sandboxId, { graceMs: this.ctx.config.terminateGraceMs })
      .catch((error: unknown) => this.ctx.log.warn({ err: error }, 'releasing a completed sandbox failed'));
  }
}
