import { setTimeout as sleep } from 'node:timers/promises';
import {
  HEARTBEAT_STATUSES,
  SUPERVISOR_EVENT_TYPES,
  type CreateTaskBody,
  type SandboxSessionStatus,
  type SandboxTaskView,
  type SandboxTokenRenewal,
  type TaskCompleteAnswer,
  type TaskCompleteBody,
  type TaskView,
} from '@sandbox-relay/contracts';
import { AppError, type Logger } from '@sandbox-relay/service-kit';
import type { BlindSpan } from './clock';
import { HeartbeatLadder, livenessOf, type EscalationLevel, type LadderAction } from './sweep/heartbeat-ladder';
import { IdleMonitor } from './sweep/idle-monitor';
import { Restarter } from './policy/restarter';
import { ACTIVE, SessionEndings } from './sweep/session-endings';
import type { SweptSession } from './session-store';
import { Spawner } from './policy/spawner';
import { SupervisorEvents, type SupervisorContext, type SupervisorDeps } from './supervisor-deps';
import { heartbeatEscalations, heartbeatsMissed, sessionsSwept } from './supervisor.metrics';
import { TaskEdge } from './edge/task-edge';
import { TaskEvents } from './sweep/task-events';

export type { SupervisorConfig, SupervisorDeps } from './supervisor-deps';

/** Sessions whose worker may renew its token: a spawn under way, or one that runs. */
const RENEWABLE: readonly SandboxSessionStatus[] = ['starting', ...ACTIVE];

/** What one sweep did, for logs and tests. */
export interface SweepReport {
  sessions: number;
  actions: LadderAction[];
  restarts: string[];
  idleStops: string[];
  completed: string[];
  /** Worker events whose effect on their task (status, cost) this sweep applied. */
  taskEvents: number;
}

/**
 * The fault-tolerance supervisor: starts tasks in sandboxes (`TaskEdge`), sweeps live sessions through
 * the heartbeat ladder, restarts (or quarantines) sandboxes that stopped beating or never reported
 * their spawn (`Restarter`), and ends completed and idle ones (`SessionEndings`). Everything it knows
 * between sweeps is in PostgreSQL (sessions, tasks, restarts, the events) and Redis (escalation levels,
 * per-sandbox locks); the only memory is which of its own actions are in flight.
 */
export class Supervisor {
  private readonly ctx: SupervisorContext;
  private readonly ladder: HeartbeatLadder;
  private readonly idle: IdleMonitor | null;
  private readonly edge: TaskEdge;
  private readonly restarter: Restarter;
  private readonly endings: SessionEndings;
  private readonly taskEvents: TaskEvents;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly log: Logger;
  private loop?: Promise<void>;
  private readonly stopping = new AbortController();
  /** The database's clock at the last sweep that read the event store. */
  private sawStoreAt: number | null = null;
  /** When (`performance.now()`) a sweep first could not read the event store since `sawStoreAt`; null when it could. */
  private blindSince: number | null = null;
  /** The latest span this replica could not read the event store in (see `BlindSpan`). */
  private unobserved: BlindSpan | null = null;

  constructor(deps: SupervisorDeps) {
    const { config } = deps;
    this.log = deps.logger.child({ component: 'supervisor' });
    this.ctx = { ...deps, emitter: new SupervisorEvents(deps.sink), log: this.log };
    this.ladder = new HeartbeatLadder(config.heartbeat);
    this.idle = config.idleAfterMs > 0 ? new IdleMonitor({ idleAfterMs: config.idleAfterMs }) : null;
    const spawner = new Spawner(this.ctx);
    this.restarter = new Restarter(this.ctx, spawner);
    this.endings = new SessionEndings(this.ctx);
    this.taskEvents = new TaskEvents(this.ctx);
    this.edge = new TaskEdge(this.ctx, spawner, this.taskEvents);
  }

  // ---- the edge ----------------------------------------------------------------------------------

  /** Creates the task and its `starting` session, spawns its sandbox through the provider, marks both running. */
  startTask(body: CreateTaskBody): Promise<TaskView> {
    return this.edge.startTask(body);
  }

  getTask(taskId: string): Promise<TaskView> {
    return this.edge.getTask(taskId);
  }

  /** The sandbox's task in the original's answer shape (`GET /api/v1/sandboxes/:id/task`). */
  getSandboxTask(sandboxId: string): Promise<SandboxTaskView> {
    return this.edge.getSandboxTask(sandboxId);
  }

  /** The sandbox reports its task done or failed (`POST /api/v1/sandboxes/:id/task-complete`); idempotent. */
  completeSandboxTask(sandboxId: string, body: TaskCompleteBody): Promise<TaskCompleteAnswer> {
    return this.edge.completeSandboxTask(sandboxId, body);
  }

  /** Terminates the task's sandbox and marks both stopped. Stopping a task that no longer runs changes nothing. */
  stopTask(taskId: string, reason: string): Promise<TaskView> {
    return this.edge.stopTask(taskId, reason);
  }

  /**
   * A fresh token for a live sandbox (starting, running, degraded), asked for with its current one: a
   * replaced, stopped or completed sandbox gets none, so a straggling old worker cannot outlive its
   * token. Auth off: there are no tokens to renew.
   */
  async renewSandboxToken(sandboxId: string): Promise<SandboxTokenRenewal> {
    const tokens = this.ctx.sandboxTokens;
    if (!tokens) throw new AppError(409, 'auth_off', 'auth is off: sandbox tokens are neither issued nor needed');
    const status = await this.ctx.sessions.status(sandboxId);
    if (status === null || !RENEWABLE.includes(status)) {
      throw new AppError(
        409,
        'sandbox_not_live',
        `sandbox ${sandboxId} is ${status ?? 'unknown to the supervisor'}: its token is not renewed`,
      );
    }
    const token = await tokens.issue(sandboxId);
    return { sandbox_id: sandboxId, token, expires_at: new Date(Date.now() + tokens.ttlSeconds * 1000).toISOString() };
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
        await sleep(this.ctx.config.sweepIntervalMs, undefined, { signal: this.stopping.signal }).catch(
          () => undefined,
        );
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

  /**
   * The sweep's read of the event store. A read that fails makes this replica blind until one succeeds:
   * the span between its last good read and that one (see `BlindSpan`) is then not counted as anyone's
   * silence, so an outage of PostgreSQL (the workers could not store their beats either) does not end
   * in every sandbox restarted at once.
   */
  private async readSweepView(): Promise<{ now: number; sessions: SweptSession[] }> {
    let view: { now: number; sessions: SweptSession[] };
    try {
      view = await this.ctx.sessions.sweepView();
    } catch (error) {
      this.blindSince ??= performance.now();
      throw error;
    }
    if (this.blindSince !== null) {
      // From the last good read; a replica that has not read the store since it started, from its first failure.
      const from = this.sawStoreAt ?? view.now - (performance.now() - this.blindSince);
      this.unobserved = { from, to: view.now };
      this.log.warn(
        { blindForMs: Math.round(view.now - from) },
        'the event store is readable again: the time it was not is not counted as any sandbox silence',
      );
    }
    this.blindSince = null;
    this.sawStoreAt = view.now;
    return view;
  }

  /** One pass over every live (and every `starting`) session. Long actions (restarts, stops) run in the background. */
  async sweep(): Promise<SweepReport> {
    const { sessions: store, state } = this.ctx;
    const { now, sessions } = await this.readSweepView();
    await store.recordHeartbeats(
      sessions.flatMap((s) => (s.lastHeartbeatAt === null ? [] : [{ sandboxId: s.sandboxId, at: s.lastHeartbeatAt }])),
    );
    const levels = await state.escalations();
    const report: SweepReport = {
      sessions: sessions.length,
      actions: [],
      restarts: [],
      idleStops: [],
      completed: [],
      taskEvents: 0,
    };
    // Before the sessions are acted on: a worker's last report (its cost, its task's end) is applied
    // before a completion ends the session or a restart looks at the task.
    report.taskEvents = await this.taskEvents.applyNew(sessions).catch((error: unknown) => {
      this.log.warn({ err: error }, 'applying worker events to their tasks failed; the next sweep retries');
      return 0;
    });
    sessionsSwept.set(sessions.length);

    for (const session of sessions) {
      if (this.stopping.signal.aborted) break;
      if (session.status === 'starting') {
        // A spawn holds its sandbox's lock; a `starting` session without one is a spawn that never
        // reported (its supervisor died, or the spawn outlived the lock's TTL).
        if (!this.inflight.has(session.sandboxId) && !(await state.isLocked(session.sandboxId))) {
          if (session.current) {
            this.background(session.sandboxId, () =>
              this.restarter.restart(session, 'the spawn never reported', ['starting']),
            );
            report.restarts.push(session.sandboxId);
          } else {
            this.background(session.sandboxId, () => this.restarter.giveUpSpawn(session));
          }
        }
        continue;
      }
      if (session.status === 'restarting') {
        // A restart under way holds the lock; one without (its replica died, or the spawn failed) is
        // resumed, unless the old worker's last beat (delivered late) said its task completed: then
        // the task ends there instead of starting over in a replacement.
        if (!this.inflight.has(session.sandboxId) && !(await state.isLocked(session.sandboxId))) {
          if (session.lastHeartbeatStatus === HEARTBEAT_STATUSES.COMPLETED) {
            await this.complete(session, ['restarting'], report);
          } else {
            this.background(session.sandboxId, () =>
              this.restarter.restart(session, 'resuming an interrupted restart'),
            );
            report.restarts.push(session.sandboxId);
          }
        }
        continue;
      }
      if (session.lastHeartbeatStatus === HEARTBEAT_STATUSES.COMPLETED) {
        await this.complete(session, ACTIVE, report);
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
          lastHeartbeatType: session.lastHeartbeatType,
          lastActivityAt: session.lastActivityAt,
          unobserved: this.unobserved,
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
          {
            sandboxId: session.sandboxId,
            taskId: session.taskId,
            startedAt: session.startedAt,
            lastActivityAt: session.lastActivityAt,
            lastHeartbeatStatus: session.lastHeartbeatStatus,
            unobserved: this.unobserved,
          },
          now,
        );
        if (stop && !this.inflight.has(session.sandboxId)) {
          this.background(session.sandboxId, () => this.endings.stopIdle(session, stop.idleForMs, stop.idleSince));
          report.idleStops.push(session.sandboxId);
        }
      }
    }
    return report;
  }

  private async complete(
    session: SweptSession,
    from: readonly SandboxSessionStatus[],
    report: SweepReport,
  ): Promise<void> {
    if (!(await this.endings.complete(session, from))) return;
    report.completed.push(session.sandboxId);
    this.background(session.sandboxId, () => this.endings.release(session.sandboxId));
  }

  /** Carries out one ladder change; true when this replica made it (the others lose the compare-and-set). */
  private async escalate(
    session: SweptSession,
    action: LadderAction,
    stored: EscalationLevel | undefined,
  ): Promise<boolean> {
    const { state, sessions, emitter } = this.ctx;
    const liveness = livenessOf({ ...session, escalation: stored ?? 'none' }, this.ladder.policy);
    const data = {
      task_id: session.taskId,
      sandbox_id: session.sandboxId,
      missed: action.missed,
      last_seen_at: new Date(action.lastSeenAt).toISOString(),
      // The interval the misses were counted in: the original's worker (`agent.heartbeat`) beats every 30 s.
      heartbeat_interval_ms: liveness.intervalMs,
    };
    switch (action.kind) {
      case 'restart':
        if (this.inflight.has(session.sandboxId)) return false;
        this.background(session.sandboxId, () => this.restarter.restart(session, `missed ${action.missed} heartbeats`));
        return true;
      case 'warn':
        if (!(await state.compareAndSetEscalation(session.sandboxId, stored, 'warning'))) return false;
        // Coming down from degraded (beats resumed, then one missed again): the session runs again.
        await sessions.transition(session.sandboxId, ['degraded'], 'running');
        await emitter.emit(SUPERVISOR_EVENT_TYPES.HEARTBEAT_MISSED, data, session.sandboxId);
        heartbeatEscalations.inc({ step: 'warn' });
        heartbeatsMissed.inc();
        this.log.warn(data, 'heartbeat missed');
        return true;
      case 'degrade':
        if (!(await state.compareAndSetEscalation(session.sandboxId, stored, 'degraded'))) return false;
        await sessions.transition(session.sandboxId, ['running'], 'degraded');
        await emitter.emit(SUPERVISOR_EVENT_TYPES.SANDBOX_DEGRADED, data, session.sandboxId);
        heartbeatEscalations.inc({ step: 'degrade' });
        this.log.warn(data, 'sandbox degraded');
        return true;
      case 'recover':
        if (!(await state.compareAndSetEscalation(session.sandboxId, stored, 'none'))) return false;
        await sessions.transition(session.sandboxId, ['degraded'], 'running');
        await emitter.emit(SUPERVISOR_EVENT_TYPES.SANDBOX_RECOVERED, data, session.sandboxId);
        heartbeatEscalations.inc({ step: 'recover' });
        this.log.info(data, 'heartbeats resumed');
        return true;
    }
  }

  private background(sandboxId: string, work: () => Promise<void>): void {
    const run = work()
      .catch((error: unknown) =>
        this.log.error({ err: error, sandboxId }, 'supervisor action failed; the next sweep retries'),
      )
      .finally(() => this.inflight.delete(sandboxId));
    this.inflight.set(sandboxId, run);
  }
}
