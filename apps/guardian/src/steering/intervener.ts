import { ENTITY_TYPES, MESSAGE_LIMITS, clipUnits } from '@sandbox-relay/contracts';
import type { Logger } from '@sandbox-relay/service-kit';
import type { InterventionAnalyzer } from '../policy/analyzer';
import type { CooldownGate } from '../policy/cooldown';
import type { DetectorName, Finding } from '../policy/detectors';
import {
  interventionIdempotencyKey,
  type GuardianTask,
  type Intervention,
  type InterventionRouter,
  type RouteResult,
  type RoutedTo,
} from './routing';
import type { TrajectoryView } from '../history/trajectory';

/** Finds the task an entity's events belong to. Local agents report as entity type `task`. */
export interface TaskLookup {
  bySandboxId(sandboxId: string): Promise<GuardianTask | null>;
  byId(taskId: string): Promise<GuardianTask | null>;
}

/** One intervention as dashboards see it (stored and published as a `GUARDIAN_INTERVENTION` event). */
export interface InterventionRecord {
  entityType: string;
  entityId: string;
  /** Null when a sandbox's intervention went out without a known task. */
  taskId: string | null;
  detector: DetectorName;
  reason: string;
  /** The text delivered (or that would have been, when `routed` is `dropped`). */
  message: string;
  routed: RoutedTo;
  /** Why it was dropped. */
  routeReason?: string;
  idempotencyKey: string;
}

export interface InterventionRecorder {
  record(record: InterventionRecord): Promise<void>;
}

export interface IntervenerDeps {
  tasks: TaskLookup;
  gate: CooldownGate;
  router: Pick<InterventionRouter, 'route'>;
  recorder: InterventionRecorder;
  analyzer: InterventionAnalyzer;
  logger: Logger;
  now: () => number;
}

export interface IntervenerPolicy {
  cooldownMs: number;
  /** Steer a sandbox no task claims, straight through its own queue (its events prove a worker polls it). */
  routeUnknownSandboxes: boolean;
}

/** Task statuses after which nobody reads what the guardian would send. */
const ENDED_TASK_STATUSES = new Set<string>(['completed', 'stopped', 'quarantined', 'failed']);

/**
 * - `ended`: the task ended (its status in the database says so, whatever events were missed): nothing
 *   is sent, and the caller stops watching the trajectory.
 * - `lookup_failed` / `failed`: a dependency threw (task lookup, cooldown gate, delivery); nothing
 *   was sent and no window is held, so the next finding retries.
 * - `cooling`: this key had an intervention within the window (here or on another replica).
 * - `vetoed`: the analyzer judged it unnecessary; the window is spent all the same, so an LLM is not
 *   asked again on every event.
 * - `delivered`: routed to a sandbox or a conversation, or dropped for good (and recorded).
 */
export type InterventionOutcome = 'ended' | 'lookup_failed' | 'cooling' | 'vetoed' | 'delivered' | 'failed';

/** Resolve the task → acquire the cooldown → refine the text → route → record. */
export class Intervener {
  constructor(
    private readonly deps: IntervenerDeps,
    private readonly policy: IntervenerPolicy,
  ) {}

  async intervene(trajectory: TrajectoryView, finding: Finding): Promise<InterventionOutcome> {
    const log = this.deps.logger.child({ key: trajectory.key, detector: finding.detector });
    let task: GuardianTask | null;
    try {
      task = await this.resolveTask(trajectory);
    } catch (error) {
      log.error({ err: error }, 'task lookup failed; intervention postponed');
      return 'lookup_failed';
    }
    if (task?.status && ENDED_TASK_STATUSES.has(task.status)) {
      log.info({ taskId: task.id, status: task.status, reason: finding.reason }, 'the task has ended; not steering it');
      return 'ended';
    }
    const gate = await this.acquire(trajectory.key, log);
    if (gate !== 'acquired') return gate;
    const at = this.deps.now();
    const content = await this.refine(finding, trajectory, log);
    if (content === null) {
      log.info({ reason: finding.reason }, 'analyzer vetoed the intervention');
      return 'vetoed';
    }
    const idempotencyKey = interventionIdempotencyKey(trajectory.key, finding.detector, at, this.policy.cooldownMs);
    let result: RouteResult;
    try {
      result = await this.route(trajectory, task, {
        key: trajectory.key,
        detector: finding.detector,
        reason: finding.reason,
        content,
        idempotencyKey,
        at,
      });
    } catch (error) {
      log.error({ err: error, taskId: task?.id }, 'delivering the intervention failed');
      await this.release(trajectory.key, log);
      return 'failed';
    }
    log.info({ taskId: task?.id ?? null, routed: result.routed, reason: finding.reason }, 'guardian intervention');
    await this.record(log, {
      entityType: trajectory.entityType,
      entityId: trajectory.entityId,
      taskId: task?.id ?? null,
      detector: finding.detector,
      reason: finding.reason,
      message: content,
      routed: result.routed,
      ...(result.routed === 'dropped' ? { routeReason: result.reason } : {}),
      idempotencyKey,
    });
    return 'delivered';
  }

  private resolveTask(trajectory: TrajectoryView): Promise<GuardianTask | null> {
    if (trajectory.entityType === ENTITY_TYPES.SANDBOX) return this.deps.tasks.bySandboxId(trajectory.entityId);
    if (trajectory.entityType === ENTITY_TYPES.TASK) return this.deps.tasks.byId(trajectory.entityId);
    return Promise.resolve(null);
  }

  private route(
    trajectory: TrajectoryView,
    task: GuardianTask | null,
    intervention: Intervention,
  ): Promise<RouteResult> {
    if (task) return this.deps.router.route(task, intervention);
    if (trajectory.entityType === ENTITY_TYPES.SANDBOX && this.policy.routeUnknownSandboxes) {
      // A stand-in task whose only address is the sandbox; it is recorded with taskId null.
      return this.deps.router.route({ id: trajectory.key, sandboxId: trajectory.entityId }, intervention);
    }
    return Promise.resolve({ routed: 'dropped', reason: `no task found for ${trajectory.key}` });
  }

  /** The analyzer's text, or the rule's when the analyzer fails: a broken LLM must not silence the rules. */
  private async refine(finding: Finding, trajectory: TrajectoryView, log: Logger): Promise<string | null> {
    let text: string | null;
    try {
      text = await this.deps.analyzer.refine(finding, trajectory);
    } catch (error) {
      log.warn({ err: error }, 'analyzer failed; using the rule text');
      text = finding.message;
    }
    if (text === null || !text.trim()) return null;
    return deliverable(text);
  }

  /** A gate that cannot answer (Redis down) counts as closed: flooding is worse than a late nudge. */
  private async acquire(key: string, log: Logger): Promise<'acquired' | 'cooling' | 'failed'> {
    try {
      return (await this.deps.gate.tryAcquire(key, this.policy.cooldownMs)) ? 'acquired' : 'cooling';
    } catch (error) {
      log.error({ err: error }, 'cooldown gate failed; intervention skipped');
      return 'failed';
    }
  }

  private async release(key: string, log: Logger): Promise<void> {
    try {
      await this.deps.gate.release?.(key);
    } catch (error) {
      log.warn({ err: error }, 'could not release the cooldown window');
    }
  }

  private async record(log: Logger, record: InterventionRecord): Promise<void> {
    try {
      await this.deps.recorder.record(record);
    } catch (error) {
      // The agent has its message; only the dashboard misses it.
      log.error({ err: error, routed: record.routed }, 'recording the intervention failed');
    }
  }
}

/**
 * Text the message queue accepts (contracts' message content rules): no NUL, no lone surrogate, at
 * most CONTENT_MAX_CHARS. An analyzer's text is not ours to trust; the rule texts always pass.
 */
export function deliverable(text: string): string {
  // The schema counts UTF-16 units; the cut keeps surrogate pairs whole.
  return clipUnits(text.replaceAll('\u0000', '').toWellFormed(), MESSAGE_LIMITS.CONTENT_MAX_CHARS);
}
