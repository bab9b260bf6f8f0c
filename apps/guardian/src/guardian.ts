import { ENTITY_TYPES, SUPERVISOR_EVENT_TYPES, SYSTEM_EVENT_TYPES, type EventEnvelope } from '@sandbox-relay/contracts';
import type { Logger } from '@sandbox-relay/service-kit';
import { RuleAnalyzer, type InterventionAnalyzer } from './policy/analyzer';
import type { CooldownGate } from './policy/cooldown';
import { DEFAULT_THRESHOLDS, detectOnEvent, sweep, type DetectorThresholds, type Finding } from './policy/detectors';
import {
  Intervener,
  type InterventionOutcome,
  type InterventionRecorder,
  type TaskLookup,
} from './steering/intervener';
import { KeyedSerialQueue } from './steering/keyed-queue';
import type { InterventionRouter } from './steering/routing';
import { DEFAULT_MAX_EVENTS, trajectoryKey, type Trajectory } from './history/trajectory';
import { DEFAULT_MAX_KEYS, TrajectoryStore } from './history/trajectory-store';
import { interventions } from './guardian.metrics';

export interface GuardianConfig extends DetectorThresholds {
  /** At most one intervention per sandbox (or task) per window. */
  cooldownMs: number;
  /** Most entities tracked at once (LRU beyond). */
  maxTrackedKeys: number;
  /** Recent events kept per entity. */
  maxEventsPerKey: number;
  /** A key with no event at all, heartbeats included, for this long is forgotten by `sweep` (the sandbox is gone). */
  forgetSilentAfterMs: number;
  /** Steer a sandbox no task claims through its own message queue (otherwise: dropped). */
  routeUnknownSandboxes: boolean;
}

export const DEFAULT_GUARDIAN_CONFIG: GuardianConfig = {
  ...DEFAULT_THRESHOLDS,
  cooldownMs: 10 * 60_000,
  maxTrackedKeys: DEFAULT_MAX_KEYS,
  maxEventsPerKey: DEFAULT_MAX_EVENTS,
  forgetSilentAfterMs: 60 * 60_000,
  routeUnknownSandboxes: true,
};

export interface GuardianDeps {
  tasks: TaskLookup;
  gate: CooldownGate;
  router: Pick<InterventionRouter, 'route'>;
  recorder: InterventionRecorder;
  logger: Logger;
  /** Defaults to the rules' own texts. */
  analyzer?: InterventionAnalyzer;
  /** Epoch milliseconds; defaults to `Date.now`. */
  now?: () => number;
  config?: Partial<GuardianConfig>;
}

/**
 * After these, earlier behaviour no longer describes the agent: a fresh run, or no run at all. The
 * supervisor stores them on the sandbox and on the task, so both keys are forgotten.
 */
const RESET_EVENT_TYPES = new Set<string>([
  SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED,
  SUPERVISOR_EVENT_TYPES.SANDBOX_IDLE_STOPPED,
  SUPERVISOR_EVENT_TYPES.TASK_COMPLETED,
  SUPERVISOR_EVENT_TYPES.TASK_STOPPED,
  SUPERVISOR_EVENT_TYPES.TASK_QUARANTINED,
]);

/**
 * The relay's own events, which are never the agent doing something: the guardian's output and message
 * bookkeeping (feeding them back would make it watch itself) and the supervisor's reports. Taken as
 * activity, a task's TASK_STARTED began a trajectory on the task entity that nothing but the
 * supervisor ever writes to, flagged stuck minutes later while its agent worked in the sandbox; a
 * TASK_COMPLETED after `agent.completed` tracked the finished sandbox anew; a missed-heartbeat warning
 * reset the stuck clock of a hung agent.
 */
const IGNORED_EVENT_TYPES = new Set<string>(
  [...Object.values(SYSTEM_EVENT_TYPES), ...Object.values(SUPERVISOR_EVENT_TYPES)].filter(
    (type) => !RESET_EVENT_TYPES.has(type),
  ),
);

/** Agents report as sandboxes (remote) or tasks (local); other entities are not agents. */
const AGENT_ENTITY_TYPES = new Set<string>([ENTITY_TYPES.SANDBOX, ENTITY_TYPES.TASK]);

/** Outcomes after which this process holds off the key for a window without asking the gate again. */
const HOLDS_WINDOW = new Set<InterventionOutcome>(['delivered', 'vetoed', 'cooling']);

/**
 * Watches agents' events and steers the ones that are stuck, looping or failing. `observe` is called
 * for every live event, `sweep` periodically (stuck is the absence of events). Neither ever rejects:
 * a failing dependency is logged, and the next event is handled as if nothing happened.
 */
export class Guardian {
  private readonly config: GuardianConfig;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly trajectories: TrajectoryStore;
  private readonly intervener: Intervener;
  private readonly queue = new KeyedSerialQueue();
  /** `<key>|<detector>` findings queued or running: one is enough, the rest would be refused anyway. */
  private readonly pending = new Set<string>();

  constructor(deps: GuardianDeps) {
    this.config = { ...DEFAULT_GUARDIAN_CONFIG, ...deps.config };
    this.now = deps.now ?? Date.now;
    this.log = deps.logger;
    this.trajectories = new TrajectoryStore({
      now: this.now,
      maxKeys: this.config.maxTrackedKeys,
      maxEvents: this.config.maxEventsPerKey,
    });
    this.intervener = new Intervener(
      { ...deps, analyzer: deps.analyzer ?? new RuleAnalyzer(), now: this.now },
      { cooldownMs: this.config.cooldownMs, routeUnknownSandboxes: this.config.routeUnknownSandboxes },
    );
  }

  /**
   * Feeds one event in. The trajectory is updated synchronously, so events apply in the order they
   * are observed; the returned promise settles once any intervention it caused has been handled.
   */
  observe(event: EventEnvelope): Promise<void> {
    let trajectory: Trajectory;
    let findings: Finding[];
    try {
      const applied = this.apply(event);
      if (!applied) return Promise.resolve();
      trajectory = applied;
      findings = detectOnEvent(trajectory, event.event_type, this.config);
    } catch (error) {
      this.log.warn(
        { err: error, eventId: event?.id, eventType: event?.event_type },
        'could not analyse event; skipped',
      );
      return Promise.resolve();
    }
    return this.dispatch(trajectory, findings);
  }

  /** Finds stuck agents and forgets entities gone silent; settles once their interventions are handled. */
  async sweep(): Promise<void> {
    const now = this.now();
    const forgotten = this.trajectories.forgetSilentSince(now - this.config.forgetSilentAfterMs);
    if (forgotten.length > 0) this.log.info({ count: forgotten.length }, 'forgot silent entities');
    const found = sweep(this.trajectories.values(), now, this.config);
    await Promise.all(
      found.map(({ key, finding }) => {
        const trajectory = this.trajectories.get(key);
        return trajectory ? this.dispatch(trajectory, [finding]) : Promise.resolve();
      }),
    );
  }

  /** Resolves once every intervention in progress has been handled (for shutdown and tests). */
  whenIdle(): Promise<void> {
    return this.queue.idle();
  }

  /** Entities currently tracked. */
  get trackedKeys(): number {
    return this.trajectories.size;
  }

  /** Returns the updated trajectory when the event can lead to findings, else null. */
  private apply(event: EventEnvelope): Trajectory | null {
    if (!AGENT_ENTITY_TYPES.has(event.entity_type)) return null;
    if (RESET_EVENT_TYPES.has(event.event_type)) {
      this.trajectories.forget(trajectoryKey(event.entity_type, event.entity_id));
      return null;
    }
    if (IGNORED_EVENT_TYPES.has(event.event_type)) return null;
    const applied = this.trajectories.apply(event);
    return applied?.outcome === 'tracked' ? applied.trajectory : null;
  }

  private dispatch(trajectory: Trajectory, findings: readonly Finding[]): Promise<void> {
    const runs = findings.map((finding) => {
      const slot = `${trajectory.key}|${finding.detector}`;
      if (this.pending.has(slot)) return Promise.resolve();
      this.pending.add(slot);
      return this.queue
        .run(trajectory.key, () => this.handle(trajectory, finding))
        .catch((error: unknown) =>
          this.log.error({ err: error, key: trajectory.key }, 'intervention failed unexpectedly'),
        )
        .finally(() => this.pending.delete(slot));
    });
    return Promise.all(runs).then(() => undefined);
  }

  /** Runs serialized per key, so it sees the outcome of the key's previous intervention. */
  private async handle(trajectory: Trajectory, finding: Finding): Promise<void> {
    // The run ended or restarted (or the key was evicted) while this waited: the finding is stale.
    if (this.trajectories.get(trajectory.key) !== trajectory) return;
    const last = trajectory.lastInterventionAt;
    // Held off locally first: saves a task lookup per event while a loop goes on within the window.
    if (last !== null && this.now() - last < this.config.cooldownMs) return;
    const decidedAt = this.now();
    const outcome = await this.intervener.intervene(trajectory.snapshot(), finding);
    interventions.inc({ detector: finding.detector, outcome });
    if (outcome === 'ended') this.trajectories.forget(trajectory.key);
    else if (HOLDS_WINDOW.has(outcome)) trajectory.markIntervened(decidedAt);
  }
}
