import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ENTITY_TYPES,
  SUPERVISOR_EVENT_TYPES,
  TaskSpec,
  type CreateTaskBody,
  type SandboxSessionStatus,
  type TaskView,
} from '@sandbox-relay/contracts';
import type { SandboxProvider } from '@sandbox-relay/sandbox';
import { AppError, NotFoundError, ServiceUnavailableError, type Logger } from '@sandbox-relay/service-kit';
import { withStoreErrors, type EventLog, type EventRepository, type Store } from '@sandbox-relay/store';
import { HeartbeatLadder, type EscalationLevel, type HeartbeatPolicy, type LadderAction } from './heartbeat-ladder';
import { IdleMonitor } from './idle-monitor';
import type { SupervisorState } from './redis-state';
import { RestartIntensity, type RestartIntensityPolicy } from './restart-intensity';
import type { SessionStore, SweptSession } from './session-store';
import { buildTrajectoryContext, readTrajectoryEvents } from './trajectory-context';
import { workerEnvFor } from './worker-env';
import { collectForensics } from './forensics';
import { toTaskView } from './task-view';
import { heartbeatEscalations, heartbeatsMissed, idleStops, quarantines, restarts, sessionsSwept } from './supervisor.metrics';

export interface SupervisorConfig {
  provider: 'local' | 'daytona';
  /** Prefix of the Redis keys (escalation levels, locks). */
  keyPrefix: string;
  heartbeat: Pick<HeartbeatPolicy, 'intervalMs' | 'graceMs'>;
  sweepIntervalMs: number;
  restart: RestartIntensityPolicy;
  terminateGraceMs: number;
  /** 0 turns the idle monitor off. */
  idleAfterMs: number;
  lockTtlMs: number;
}

export interface SupervisorDeps {
  store: Store;
  sessions: SessionStore;
  state: SupervisorState;
  events: EventRepository;
  /** Durable, then published: the gateway streams every supervisor event. */
  eventLog: EventLog;
  provider: SandboxProvider;
  logger: Logger;
  config: SupervisorConfig;
  /** The relay URL handed to workers (the standalone knows its own only once it listens). */
  relayUrl: () => string;
  /**
   * Issues the worker's RELAY_TOKEN, scoped to exactly the sandbox being spawned (auth on). The
   * supervisor then names the sandbox itself, so the token can exist before the sandbox does.
   */
  sandboxTokens?: { issue(sandboxId: string): Promise<string> };
}

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

/** What one sweep did, for logs and tests. */
export interface SweepReport {
  sessions: number;
  actions: LadderAction[];
  restarts: string[];
  idleStops: string[];
  completed: string[];
}

const ACTIVE: SandboxSessionStatus[] = ['running', 'degraded'];

class ConflictError extends AppError {
  constructor(message: string) {
    super(409, 'conflict', message);
  }
}

/**
 * The fault-tolerance supervisor: starts tasks in sandboxes, sweeps live sessions through the
 * heartbeat ladder, restarts (or quarantines) sandboxes that stopped beating, and stops idle ones.
 * Everything it knows between sweeps is in PostgreSQL (sessions, tasks, restarts, the events) and
 * Redis (escalation levels, per-sandbox locks); the only memory is which of its own actions are in flight.
 */
export class Supervisor {
  private readonly ladder: HeartbeatLadder;
  private readonly intensity: RestartIntensity;
  private readonly idle: IdleMonitor | null;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly log: Logger;
  private loop?: Promise<void>;
  private readonly stopping = new AbortController();

  constructor(private readonly deps: SupervisorDeps) {
    const { config } = deps;
    this.ladder = new HeartbeatLadder(config.heartbeat);
    this.intensity = new RestartIntensity(config.restart);
    this.idle = config.idleAfterMs > 0 ? new IdleMonitor({ idleAfterMs: config.idleAfterMs }) : null;
    this.log = deps.logger.child({ component: 'supervisor' });
  }

  /**
   * With auth on: a fresh sandbox id and a token scoped to exactly it (a replacement gets its own), so
   * a worker can write only its own events and drain only its own messages. Without: nothing, and the
   * provider names the sandbox.
   */
  private async sandboxCredentials(): Promise<{ sandboxId?: string; env: Record<string, string> }> {
    if (!this.deps.sandboxTokens) return { env: {} };
    const sandboxId = `${this.deps.provider.kind}-${randomBytes(8).toString('hex')}`;
    return { sandboxId, env: { RELAY_TOKEN: await this.deps.sandboxTokens.issue(sandboxId) } };
  }

  // ---- the edge ----------------------------------------------------------------------------------

  /** Creates the task, spawns its sandbox through the provider, records the session. */
  async startTask(body: CreateTaskBody): Promise<TaskView> {
    const { prisma } = this.deps.store;
    const spec: TaskSpec = {
      scope: this.deps.config.keyPrefix,
      agent: body.agent,
      agent_id: body.agent_id,
      ...(body.prompt !== undefined ? { prompt: body.prompt } : {}),
      ...(body.plan !== undefined ? { plan: body.plan } : {}),
      ...(body.repository !== undefined ? { repository: body.repository } : {}),
      ...(body.worker_env !== undefined ? { worker_env: body.worker_env } : {}),
    };
    const task = await withStoreErrors(
      prisma.task.create({ data: { title: body.title, description: body.description ?? body.prompt ?? null, agentId: body.agent_id, status: 'starting', spec: JSON.parse(JSON.stringify(spec)) as object } }),
    );
    let sandboxId: string;
    try {
      sandboxId = await this.spawnFor(task.id, spec);
    } catch (error) {
      await prisma.task.update({ where: { id: task.id }, data: { status: 'failed' } }).catch(() => undefined);
      throw error;
    }
    await withStoreErrors(
      prisma.$transaction([
        prisma.sandboxSession.create({ data: { sandboxId, taskId: task.id, agentId: spec.agent_id, status: 'running' } }),
        prisma.task.update({ where: { id: task.id }, data: { sandboxId, status: 'running' } }),
      ]),
    );
    const data = { task_id: task.id, sandbox_id: sandboxId, provider: this.deps.provider.kind, agent_id: spec.agent_id };
    await this.emit(SUPERVISOR_EVENT_TYPES.TASK_STARTED, data, sandboxId, task.id);
    this.log.info(data, 'task started');
    return this.getTask(task.id);
  }

  async getTask(taskId: string): Promise<TaskView> {
    const { prisma } = this.deps.store;
    const task = await withStoreErrors(
      prisma.task.findUnique({
        where: { id: taskId },
        include: { sessions: { orderBy: { createdAt: 'desc' } }, restartEvents: { orderBy: { createdAt: 'asc' } } },
      }),
    );
    if (!task) throw new NotFoundError(`task ${taskId} not found`);
    return toTaskView(task);
  }

  /** Terminates the task's sandbox and marks both stopped. Stopping a task that no longer runs changes nothing. */
  async stopTask(taskId: string, reason: string): Promise<TaskView> {
    const { prisma } = this.deps.store;
    const task = await withStoreErrors(prisma.task.findUnique({ where: { id: taskId } }));
    if (!task) throw new NotFoundError(`task ${taskId} not found`);
    const sandboxId = task.sandboxId;
    const status = sandboxId ? await this.deps.sessions.status(sandboxId) : null;
    if (!sandboxId || status === null || !['running', 'degraded', 'restarting'].includes(status)) return this.getTask(taskId);
    const lock = await this.deps.state.lock(sandboxId, this.deps.config.lockTtlMs).catch((error: unknown) => {
      throw new ServiceUnavailableError('redis is unreachable; the sandbox cannot be locked for the stop', error);
    });
    if (!lock) throw new ConflictError(`sandbox ${sandboxId} is being restarted or stopped; retry shortly`);
    try {
      await this.deps.provider.terminate(sandboxId, { graceMs: this.deps.config.terminateGraceMs });
      if (await this.deps.sessions.transition(sandboxId, ['running', 'degraded', 'restarting'], 'stopped')) {
        await withStoreErrors(prisma.task.update({ where: { id: taskId }, data: { status: 'stopped' } }));
        await this.deps.state.clearEscalation(sandboxId);
        await this.emit(SUPERVISOR_EVENT_TYPES.TASK_STOPPED, { task_id: taskId, sandbox_id: sandboxId, reason }, sandboxId, taskId);
      }
    } finally {
      await lock.release();
    }
    return this.getTask(taskId);
  }

  // ---- the sweep ---------------------------------------------------------------------------------

  /** Sweeps every `sweepIntervalMs` until `close`. */
  start(): void {
    this.loop ??= (async () => {
      while (!this.stopping.signal.aborted) {
        try {
          await this.sweep();
        } catch (error) {
          this.log.warn({ err: error }, 'sweep failed; retrying at the next interval');
        }
        await sleep(this.deps.config.sweepIntervalMs, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      }
    })();
  }

  running(): boolean {
    return this.loop !== undefined && !this.stopping.signal.aborted;
  }

  /** Stops sweeping and waits for restarts and stops in flight (a restart cut short is resumed by any replica once its lock expires). */
  async close(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    await Promise.allSettled([...this.inflight.values()]);
  }

  /** Waits for this replica's actions in flight (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight.values()]);
  }

  /** One pass over every live session. Long actions (restarts, stops) run in the background. */
  async sweep(): Promise<SweepReport> {
    const { now, sessions } = await this.deps.sessions.sweepView();
    await this.deps.sessions.recordHeartbeats(sessions.flatMap((s) => (s.lastHeartbeatAt === null ? [] : [{ sandboxId: s.sandboxId, at: s.lastHeartbeatAt }])));
    const levels = await this.deps.state.escalations();
    const report: SweepReport = { sessions: sessions.length, actions: [], restarts: [], idleStops: [], completed: [] };
    sessionsSwept.set(sessions.length);

    for (const session of sessions) {
      if (this.stopping.signal.aborted) break;
      if (session.lastHeartbeatStatus === 'completed') {
        if (await this.complete(session)) report.completed.push(session.sandboxId);
        continue;
      }
      if (session.status === 'restarting') {
        // A restart under way holds the lock; one without (its replica died, or the spawn failed) is resumed.
        if (!this.inflight.has(session.sandboxId) && !(await this.deps.state.isLocked(session.sandboxId))) {
          this.background(session.sandboxId, () => this.restart(session, 'resuming an interrupted restart'));
          report.restarts.push(session.sandboxId);
        }
        continue;
      }
      const stored = levels.get(session.sandboxId);
      const escalation: EscalationLevel = stored ?? (session.status === 'degraded' ? 'degraded' : 'none');
      const action = this.ladder.assess(
        {
          sandboxId: session.sandboxId,
          taskId: session.taskId,
          lastHeartbeatAt: session.lastHeartbeatAt,
          startedAt: session.startedAt,
          escalation,
          lastHeartbeatStatus: session.lastHeartbeatStatus,
        },
        now,
      );
      if (action) {
        if (await this.escalate(session, action, stored)) report.actions.push(action);
        if (action.kind === 'restart') report.restarts.push(session.sandboxId);
        continue;
      }
      if (this.idle && escalation === 'none' && ACTIVE.includes(session.status)) {
        const stop = this.idle.assess(
          { sandboxId: session.sandboxId, taskId: session.taskId, startedAt: session.startedAt, lastActivityAt: session.lastActivityAt, lastHeartbeatStatus: session.lastHeartbeatStatus },
          now,
        );
        if (stop && !this.inflight.has(session.sandboxId)) {
          this.background(session.sandboxId, () => this.stopIdle(session, stop.idleForMs, stop.idleSince));
          report.idleStops.push(session.sandboxId);
        }
      }
    }
    return report;
  }

  /** Carries out one ladder change; true when this replica made it (the others lose the compare-and-set). */
  private async escalate(session: SweptSession, action: LadderAction, stored: EscalationLevel | undefined): Promise<boolean> {
    const data = {
      task_id: session.taskId,
      sandbox_id: session.sandboxId,
      missed: action.missed,
      last_seen_at: new Date(action.lastSeenAt).toISOString(),
      heartbeat_interval_ms: this.deps.config.heartbeat.intervalMs,
    };
    switch (action.kind) {
      case 'restart':
        if (this.inflight.has(session.sandboxId)) return false;
        this.background(session.sandboxId, () => this.restart(session, `missed ${action.missed} heartbeats`));
        return true;
      case 'warn':
        if (!(await this.deps.state.compareAndSetEscalation(session.sandboxId, stored, 'warning'))) return false;
        // Coming down from degraded (beats resumed, then one missed again): the session runs again.
        await this.deps.sessions.transition(session.sandboxId, ['degraded'], 'running');
        await this.emit(SUPERVISOR_EVENT_TYPES.HEARTBEAT_MISSED, data, session.sandboxId);
        heartbeatEscalations.inc({ step: 'warn' });
        heartbeatsMissed.inc();
        this.log.warn(data, 'heartbeat missed');
        return true;
      case 'degrade':
        if (!(await this.deps.state.compareAndSetEscalation(session.sandboxId, stored, 'degraded'))) return false;
        await this.deps.sessions.transition(session.sandboxId, ['running'], 'degraded');
        await this.emit(SUPERVISOR_EVENT_TYPES.SANDBOX_DEGRADED, data, session.sandboxId);
        heartbeatEscalations.inc({ step: 'degrade' });
        this.log.warn(data, 'sandbox degraded');
        return true;
      case 'recover':
        if (!(await this.deps.state.compareAndSetEscalation(session.sandboxId, stored, 'none'))) return false;
        await this.deps.sessions.transition(session.sandboxId, ['degraded'], 'running');
        await this.emit(SUPERVISOR_EVENT_TYPES.SANDBOX_RECOVERED, data, session.sandboxId);
        heartbeatEscalations.inc({ step: 'recover' });
        this.log.info(data, 'heartbeats resumed');
        return true;
    }
  }

  /**
   * The seed's `_restart_sandbox_agent`, under the sandbox's lock: forensics, terminate (graceful, then
   * forced), then either quarantine (restart intensity exceeded) or, after the backoff, a replacement
   * for the same task that starts with the trajectory context built from the event store.
   */
  private async restart(session: SweptSession, reason: string): Promise<void> {
    const { prisma } = this.deps.store;
    const { config, provider, state, sessions } = this.deps;
    const oldSandboxId = session.sandboxId;
    const lock = await state.lock(oldSandboxId, config.lockTtlMs);
    if (!lock) return; // another replica acts on this sandbox
    try {
      // Under the lock, re-read: another replica may have finished this restart a moment ago.
      const current = await sessions.status(oldSandboxId);
      if (current === null || !['running', 'degraded', 'restarting'].includes(current)) return;
      if (current !== 'restarting' && !(await sessions.transition(oldSandboxId, [current], 'restarting'))) return;

      const task = session.taskId ? await withStoreErrors(prisma.task.findUnique({ where: { id: session.taskId } })) : null;
      const spec = TaskSpec.safeParse(task?.spec);
      if (!task || !spec.success) return await this.abandon(session, reason);
      await withStoreErrors(prisma.task.update({ where: { id: task.id }, data: { status: 'restarting' } }));

      const past = await withStoreErrors(
        prisma.restartEvent.findMany({ where: { taskId: task.id, createdAt: { gt: this.intensity.windowStart() } }, select: { createdAt: true } }),
      );
      const decision = this.intensity.decide(past.map((row) => row.createdAt));
      const forensics = await collectForensics(provider, this.deps.events, oldSandboxId);
      const terminated = await provider.terminate(oldSandboxId, { graceMs: config.terminateGraceMs }).catch((error: unknown) => {
        this.log.warn({ err: error, sandboxId: oldSandboxId }, 'terminate failed; continuing with the restart');
        return { forced: false, alreadyGone: false };
      });
      if (decision.kind === 'quarantine') return await this.quarantine(task.id, oldSandboxId, reason, decision, forensics);
      await sleep(decision.delayMs);
      await this.replace({ task, spec: spec.data, session, reason, attempt: decision.attempt, backoffMs: decision.delayMs, forced: terminated.forced, forensics });
    } finally {
      await lock.release();
    }
  }

  /** A session not started through the supervisor: nothing to respawn it from. */
  private async abandon(session: SweptSession, reason: string): Promise<void> {
    const { sandboxId } = session;
    await this.deps.provider.terminate(sandboxId, { graceMs: this.deps.config.terminateGraceMs }).catch((error: unknown) => this.log.warn({ err: error, sandboxId }, 'terminate failed'));
    await this.deps.sessions.transition(sandboxId, ['restarting'], 'failed');
    await this.deps.state.clearEscalation(sandboxId);
    const data = { task_id: session.taskId, old_sandbox_id: sandboxId, reason, error: 'the session has no task started through the supervisor' };
    await this.emit(SUPERVISOR_EVENT_TYPES.RESTART_FAILED, data, sandboxId);
  }

  /** Past the restart intensity: task and session quarantined, no more restarts. */
  private async quarantine(taskId: string, sandboxId: string, trigger: string, decision: { reason: string; restartsInWindow: number }, forensics: Record<string, unknown>): Promise<void> {
    const { prisma } = this.deps.store;
    await withStoreErrors(
      prisma.$transaction([
        prisma.sandboxSession.updateMany({ where: { sandboxId }, data: { status: 'quarantined' } }),
        prisma.task.update({ where: { id: taskId }, data: { status: 'quarantined' } }),
      ]),
    );
    await this.deps.state.clearEscalation(sandboxId);
    const data = { task_id: taskId, sandbox_id: sandboxId, reason: decision.reason, trigger, restarts_in_window: decision.restartsInWindow, forensics };
    await this.emit(SUPERVISOR_EVENT_TYPES.TASK_QUARANTINED, data, sandboxId, taskId);
    restarts.inc({ outcome: 'quarantined' });
    quarantines.inc();
    this.log.error({ taskId, sandboxId, reason: decision.reason }, 'task quarantined');
  }

  /**
   * Spawns the replacement with the trajectory context and moves the task to it in one transaction.
   * A failed spawn records a `RestartEvent` without a new sandbox (it counts toward the intensity: a
   * provider that keeps failing ends in quarantine) and leaves the session `restarting` for the next sweep.
   */
  private async replace(input: ReplaceInput): Promise<void> {
    const { prisma } = this.deps.store;
    const { task, spec, session, reason } = input;
    const oldSandboxId = session.sandboxId;
    const taskSessions = await withStoreErrors(prisma.sandboxSession.findMany({ where: { taskId: task.id }, select: { sandboxId: true } }));
    const { events } = await readTrajectoryEvents((query) => this.deps.events.list(query), taskSessions.map((row) => row.sandboxId));
    const restartCount = session.restartCount + 1;
    const taskPrompt = spec.prompt ?? (spec.plan ? `Run this plan: ${JSON.stringify(spec.plan)}` : (task.description ?? task.title));
    const context = buildTrajectoryContext({ taskId: task.id, taskPrompt, oldSandboxId, reason, restartCount, events });

    let newSandboxId: string;
    try {
      newSandboxId = await this.spawnFor(task.id, spec, context.text);
    } catch (error) {
      await withStoreErrors(prisma.restartEvent.create({ data: { taskId: task.id, oldSandboxId, newSandboxId: null, reason: `${reason}; spawn failed` } }));
      await this.emit(SUPERVISOR_EVENT_TYPES.RESTART_FAILED, { task_id: task.id, old_sandbox_id: oldSandboxId, reason, error: (error as Error).message }, oldSandboxId, task.id);
      restarts.inc({ outcome: 'spawn_failed' });
      this.log.error({ err: error, taskId: task.id, sandboxId: oldSandboxId }, 'restart could not spawn a replacement');
      return;
    }
    await withStoreErrors(
      prisma.$transaction([
        prisma.sandboxSession.create({ data: { sandboxId: newSandboxId, taskId: task.id, agentId: spec.agent_id, status: 'running', restartCount } }),
        prisma.sandboxSession.updateMany({ where: { sandboxId: oldSandboxId }, data: { status: 'replaced' } }),
        prisma.task.update({ where: { id: task.id }, data: { sandboxId: newSandboxId, status: 'running' } }),
        prisma.restartEvent.create({ data: { taskId: task.id, oldSandboxId, newSandboxId, reason } }),
      ]),
    );
    await this.deps.state.clearEscalation(oldSandboxId);
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
    await this.emitMany(SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED, data, [
      [ENTITY_TYPES.SANDBOX, oldSandboxId],
      [ENTITY_TYPES.SANDBOX, newSandboxId],
      [ENTITY_TYPES.TASK, task.id],
    ]);
    restarts.inc({ outcome: 'restarted' });
    this.log.warn({ taskId: task.id, oldSandboxId, newSandboxId, reason, attempt: input.attempt }, 'sandbox restarted');
  }

  /** Spawns a sandbox for the task through the provider, with the worker env built in one place (and its credentials). */
  private async spawnFor(taskId: string, spec: TaskSpec, context?: string): Promise<string> {
    const credentials = await this.sandboxCredentials();
    const env = workerEnvFor({ relayUrl: this.deps.relayUrl(), taskId, spec, heartbeatIntervalMs: this.deps.config.heartbeat.intervalMs, ...(context !== undefined ? { context } : {}) });
    const spawned = await this.deps.provider.spawn({
      taskId,
      agentId: spec.agent_id,
      env: { ...env, ...credentials.env },
      ...(spec.repository ? { repository: spec.repository } : {}),
      ...(credentials.sandboxId ? { sandboxId: credentials.sandboxId } : {}),
    });
    return spawned.sandboxId;
  }

  private async stopIdle(session: SweptSession, idleForMs: number, idleSince: number): Promise<void> {
    const lock = await this.deps.state.lock(session.sandboxId, this.deps.config.lockTtlMs);
    if (!lock) return;
    try {
      if (!ACTIVE.includes((await this.deps.sessions.status(session.sandboxId)) ?? 'stopped')) return;
      await this.deps.provider.terminate(session.sandboxId, { graceMs: this.deps.config.terminateGraceMs });
      if (!(await this.deps.sessions.transition(session.sandboxId, ACTIVE, 'stopped'))) return;
      if (session.taskId) await this.deps.store.prisma.task.updateMany({ where: { id: session.taskId, sandboxId: session.sandboxId }, data: { status: 'stopped' } });
      await this.deps.state.clearEscalation(session.sandboxId);
      const data = { task_id: session.taskId, sandbox_id: session.sandboxId, idle_for_ms: idleForMs, idle_since: new Date(idleSince).toISOString() };
      await this.emit(SUPERVISOR_EVENT_TYPES.SANDBOX_IDLE_STOPPED, data, session.sandboxId, session.taskId ?? undefined);
      idleStops.inc();
      this.log.info(data, 'idle sandbox stopped');
    } finally {
      await lock.release();
    }
  }

  /** The worker's last beat said `completed`: the session ends (exactly once, by compare-and-set) and the sandbox is released. */
  private async complete(session: SweptSession): Promise<boolean> {
    if (!(await this.deps.sessions.transition(session.sandboxId, ['running', 'degraded'], 'completed'))) return false;
    if (session.taskId) await this.deps.store.prisma.task.updateMany({ where: { id: session.taskId, sandboxId: session.sandboxId }, data: { status: 'completed' } });
    await this.deps.state.clearEscalation(session.sandboxId);
    await this.emit(SUPERVISOR_EVENT_TYPES.TASK_COMPLETED, { task_id: session.taskId, sandbox_id: session.sandboxId }, session.sandboxId, session.taskId ?? undefined);
    this.background(session.sandboxId, async () => {
      await this.deps.provider.terminate(session.sandboxId, { graceMs: this.deps.config.terminateGraceMs }).catch((error: unknown) => this.log.warn({ err: error }, 'releasing a completed sandbox failed'));
    });
    return true;
  }

  private background(sandboxId: string, work: () => Promise<void>): void {
    const run = work()
      .catch((error: unknown) => this.log.error({ err: error, sandboxId }, 'supervisor action failed; the next sweep retries'))
      .finally(() => this.inflight.delete(sandboxId));
    this.inflight.set(sandboxId, run);
  }

  private emit(eventType: string, data: Record<string, unknown>, sandboxId: string, taskId?: string): Promise<void> {
    const targets: [string, string][] = [[ENTITY_TYPES.SANDBOX, sandboxId]];
    if (taskId) targets.push([ENTITY_TYPES.TASK, taskId]);
    return this.emitMany(eventType, data, targets);
  }

  /** Stores the event once per entity it concerns (in one statement), then publishes it. */
  private async emitMany(eventType: string, data: Record<string, unknown>, targets: readonly [string, string][]): Promise<void> {
    const dataJson = JSON.stringify(data);
    await this.deps.eventLog.append(targets.map(([entityType, entityId]) => ({ entityType, entityId, eventType, data, dataJson, source: 'supervisor' })));
  }
}
