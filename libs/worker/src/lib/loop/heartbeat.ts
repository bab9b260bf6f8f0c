import { AGENT_EVENT_TYPES, EVENT_SOURCES, type RelayWorkerStatus } from '@sandbox-relay/contracts';
import type { WorkerRelay } from '../relay/relay-client';
import type { Clock } from '../util/clock';

/** What the worker is doing, as the heartbeat and the supervisor see it (the contracts' HEARTBEAT_STATUSES). */
export type WorkerStatus = RelayWorkerStatus;

export interface HeartbeatSnapshot {
  status: WorkerStatus;
  currentAction: string | null;
  turn: number;
}

export interface HeartbeatOptions {
  relay: WorkerRelay;
  clock: Clock;
  intervalMs: number;
  taskId: string;
  snapshot: () => HeartbeatSnapshot;
  memoryRss: () => number;
}

/** Payload of the `heartbeat` event. */
export function heartbeatData(options: HeartbeatOptions, startedAt: number): Record<string, unknown> {
  const { status, currentAction, turn } = options.snapshot();
  const stats = options.relay.stats();
  const now = options.clock.now();
  return {
    status,
    timestamp: new Date(now).toISOString(),
    current_action: currentAction,
    memory_rss_bytes: options.memoryRss(),
    // Events still in the outbox: a growing number means the relay is not taking them.
    queued_events: stats.queued,
    // Totals since start, so a lost heartbeat loses no count.
    dropped_events: stats.dropped,
    rejected_events: stats.rejected,
    task_id: options.taskId,
    turn,
    uptime_ms: now - startedAt,
  };
}

export interface HeartbeatHandle {
  /** Sends one heartbeat now (the final one on shutdown says `stopping` or `completed`). */
  beat(): void;
  stop(): void;
}

/**
 * Sends a heartbeat now and every `intervalMs` from its own timer, so a turn stuck in a long
 * command still shows a live worker (the supervisor restarts sandboxes that miss three).
 */
export function startHeartbeat(options: HeartbeatOptions): HeartbeatHandle {
  const startedAt = options.clock.now();
  const beat = () =>
    options.relay.emit(AGENT_EVENT_TYPES.HEARTBEAT, heartbeatData(options, startedAt), EVENT_SOURCES.WORKER);
  beat();
  return { beat, stop: options.clock.every(options.intervalMs, beat) };
}
