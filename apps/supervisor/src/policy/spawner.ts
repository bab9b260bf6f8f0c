import { randomBytes } from 'node:crypto';
import type { TaskSpec } from '@sandbox-relay/contracts';
import { ServiceUnavailableError } from '@sandbox-relay/service-kit';
import { withStoreErrors, type PrismaClient } from '@sandbox-relay/store';
import type { SandboxLock } from '../redis-state';
import type { SupervisorContext } from '../supervisor-deps';
import { workerEnvFor } from './worker-env';

/** What `markRunning` hands its companion writes: the transaction. */
export type TxClient = Pick<PrismaClient, 'task' | 'sandboxSession' | 'restartEvent' | '$executeRaw'>;

/** A sandbox id chosen before the sandbox exists, and its lock (held for the whole spawn). */
export interface Reservation {
  sandboxId: string;
  lock: SandboxLock;
}

/**
 * Every spawn, first or replacement, in three steps: `reserve` names the sandbox and locks it, the
 * caller writes its session row (`starting`), `spawn` asks the provider, `markRunning` records that it
 * runs. A supervisor that dies in between leaves a `starting` row whose lock expires: the sweep sees
 * a spawn that never reported instead of an unrecorded sandbox.
 */
export class Spawner {
  constructor(private readonly ctx: SupervisorContext) {}

  async reserve(): Promise<Reservation> {
    const sandboxId = `${this.ctx.provider.kind}-${randomBytes(8).toString('hex')}`;
    const lock = await this.ctx.state.lock(sandboxId, this.ctx.config.lockTtlMs).catch((error: unknown) => {
      throw new ServiceUnavailableError('redis is unreachable; a sandbox cannot be reserved', error);
    });
    // 64 random bits: a taken id means something is badly wrong, not a retry.
    if (!lock) throw new Error(`sandbox id ${sandboxId} is already locked`);
    return { sandboxId, lock };
  }

  /** Spawns the reserved sandbox through the provider, with the worker env built in one place (and, auth on, a token scoped to it). */
  async spawn(sandboxId: string, taskId: string, spec: TaskSpec, context?: string): Promise<void> {
    const { provider, sandboxTokens, relayUrl, config } = this.ctx;
    const token = sandboxTokens ? await sandboxTokens.issue(sandboxId) : undefined;
    const env = workerEnvFor({
      relayUrl: relayUrl(),
      taskId,
      spec,
      heartbeatIntervalMs: config.heartbeat.intervalMs,
      ...(context !== undefined ? { context } : {}),
      ...(token !== undefined ? { token } : {}),
    });
    await provider.spawn({
      taskId,
      agentId: spec.agent_id,
      env,
      sandboxId,
      ...(spec.repository ? { repository: spec.repository } : {}),
    });
  }

  /**
   * `starting` → `running`, in one transaction with `alongside` (moving the task to the sandbox), its
   * clock (`created_at`, where the heartbeat ladder measures a sandbox that never beat from)
   * restarted at the database's now. False, and nothing written, when the session is no longer
   * `starting`: the sweep took it for a spawn that never reported.
   */
  async markRunning(sandboxId: string, alongside: (tx: TxClient) => Promise<unknown>): Promise<boolean> {
    return withStoreErrors(
      this.ctx.store.prisma.$transaction(async (tx) => {
        const moved =
          await tx.$executeRaw`UPDATE sandbox_sessions SET status = 'running', created_at = now() AT TIME ZONE 'UTC', updated_at = now() AT TIME ZONE 'UTC'
          WHERE sandbox_id = ${sandboxId} AND status = 'starting'`;
        if (moved === 0) return false;
        await alongside(tx);
        return true;
      }),
    );
  }

  /** The spawn failed: the session is `failed` (unless the sweep already took it). */
  async markFailed(sandboxId: string): Promise<void> {
    await this.ctx.sessions.transition(sandboxId, ['starting'], 'failed');
  }

  /** A sandbox spawned after its session was taken from it: nobody supervises it, so it goes. */
  async discard(sandboxId: string): Promise<void> {
    this.ctx.log.warn(
      { sandboxId },
      'a spawn reported after its session was given up; terminating the surplus sandbox',
    );
    await this.ctx.provider
      .terminate(sandboxId, { graceMs: this.ctx.config.terminateGraceMs })
      .catch((error: unknown) => this.ctx.log.warn({ err: error, sandboxId }, 'terminate failed'));
  }
}
