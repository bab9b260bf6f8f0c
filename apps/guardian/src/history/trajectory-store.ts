import { AGENT_EVENT_TYPES, type EventEnvelope } from '@sandbox-relay/contracts';
import { DEFAULT_MAX_EVENTS, isFatalError, Trajectory, trajectoryKey, type ApplyOutcome } from './trajectory';

export interface TrajectoryStoreOptions {
  /** The clock: epoch milliseconds. Injected so tests can move time. */
  now: () => number;
  /** Most keys tracked at once; past it, the key that has been quiet longest is evicted. */
  maxKeys?: number;
  /** Events kept per key. */
  maxEvents?: number;
}

export const DEFAULT_MAX_KEYS = 10_000;

export interface Applied {
  trajectory: Trajectory;
  outcome: ApplyOutcome;
}

/**
 * The trajectories of every tracked entity, bounded by an LRU on activity: each event moves its key
 * to the young end of the Map's insertion order, and the oldest keys go first when it is full.
 * Eviction only happens past `maxKeys`, which should sit well above the number of live sandboxes:
 * the key evicted first is also the quietest one, the very candidate for `stuck`.
 */
export class TrajectoryStore {
  private readonly trajectories = new Map<string, Trajectory>();
  private readonly maxKeys: number;
  private readonly maxEvents: number;

  constructor(private readonly options: TrajectoryStoreOptions) {
    this.maxKeys = Math.max(1, options.maxKeys ?? DEFAULT_MAX_KEYS);
    this.maxEvents = Math.max(1, options.maxEvents ?? DEFAULT_MAX_EVENTS);
  }

  /**
   * Feeds one event to its key's trajectory. Returns null when the event starts nothing worth
   * tracking: a heartbeat (a finished agent's worker may heartbeat until the sandbox stops; tracking
   * it anew would flag it stuck), or the end of a run we never saw.
   */
  apply(event: EventEnvelope): Applied | null {
    const key = trajectoryKey(event.entity_type, event.entity_id);
    const now = this.options.now();
    let trajectory = this.trajectories.get(key);
    if (!trajectory) {
      if (!startsTracking(event)) return null;
      trajectory = new Trajectory(event.entity_type, event.entity_id, now, this.maxEvents);
    }
    this.touch(key, trajectory);
    const outcome = trajectory.apply(event, now);
    if (outcome === 'terminal') this.trajectories.delete(key);
    return { trajectory, outcome };
  }

  get(key: string): Trajectory | undefined {
    return this.trajectories.get(key);
  }

  /** Stops tracking a key (the sandbox stopped, the agent restarted); true when it was tracked. */
  forget(key: string): boolean {
    return this.trajectories.delete(key);
  }

  /** Forgets keys with no event at all, heartbeats included, since `before`; returns them. */
  forgetSilentSince(before: number): string[] {
    const forgotten: string[] = [];
    for (const [key, trajectory] of this.trajectories) {
      if (trajectory.lastSeenAt < before) forgotten.push(key);
    }
    for (const key of forgotten) this.trajectories.delete(key);
    return forgotten;
  }

  values(): IterableIterator<Trajectory> {
    return this.trajectories.values();
  }

  get size(): number {
    return this.trajectories.size;
  }

  private touch(key: string, trajectory: Trajectory): void {
    this.trajectories.delete(key);
    this.trajectories.set(key, trajectory);
    while (this.trajectories.size > this.maxKeys) {
      const oldest = this.trajectories.keys().next().value as string;
      this.trajectories.delete(oldest);
    }
  }
}

function startsTracking(event: EventEnvelope): boolean {
  switch (event.event_type) {
    case AGENT_EVENT_TYPES.HEARTBEAT:
    case AGENT_EVENT_TYPES.COMPLETED:
      return false;
    case AGENT_EVENT_TYPES.ERROR:
      return !isFatalError(event.payload);
    default:
      return true;
  }
}
