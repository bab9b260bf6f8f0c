import type { EventEnvelope } from '@sandbox-relay/contracts';
import type { Logger } from 'pino';
import type { EventRepository, NewEvent } from './event-repository';
import { ServiceUnavailableError } from '@sandbox-relay/service-kit';
import { isStoreUnavailable, toStoreError } from './store-errors';

export interface EventLogOptions {
  /** Most events written by one statement. */
  maxBatchEvents?: number;
  /**
   * Most statements in flight at once (default 2). Ids are drawn in commit order whatever this is; a
   * second statement (once `overlapAt` events wait) lets the next group be sent while the previous one
   * commits, instead of idling.
   */
  maxInFlight?: number;
  /**
   * Fewest events waiting for a second (or later) statement to start beside one in flight (default 100).
   * Fewer wait for the one in flight to commit and go in the next group: one statement and one commit
   * for more events, where an extra statement would carry one or two (each costs this process and
   * PostgreSQL a round trip and a commit, about as much as a hundred events' rows). Once this many wait,
   * as under a burst of batches, statements overlap and the next group is sent while Postgres commits.
   */
  overlapAt?: number;
  /**
   * Most events waiting for a statement. When Postgres slows down, appends past this answer 503 at once
   * instead of piling up in memory (and the caller retries with backoff, as the worker does).
   */
  maxQueuedEvents?: number;
  /**
   * Called with each committed group before its writers are answered. With several statements in
   * flight, two groups' answers may arrive in either order (consumers order by id: the gateway's
   * live sequencer does); one entity's events are never in two groups in flight, so they arrive in order.
   */
  onCommitted?: (events: EventEnvelope[]) => void;
  /**
   * Timings in seconds, for metrics: each statement's round trip (waiting for the id counter, the
   * insert, the commit), and each committed append's time from `append()` to its answer (its wait for
   * a statement included). Their difference is time spent queued behind statements in flight.
   */
  timings?: { statement(seconds: number): void; append(seconds: number): void };
  logger?: Logger;
}

interface Pending {
  events: readonly NewEvent[];
  /** `performance.now()` when appended. */
  at: number;
  /** The distinct entities (`type:id`) of `events`. */
  entities: string[];
  resolve: (stored: EventEnvelope[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for the event log. Appends queue up while a statement is in flight; when it commits,
 * everything queued (up to `maxBatchEvents`) is written by the next one. Under load this turns N
 * round-trips into N / batch. Once `overlapAt` events wait, up to `maxInFlight` statements overlap:
 * the process prepares and sends the next group while Postgres commits the previous one. When idle an
 * append is written at once, adding no latency.
 *
 * Order: ids are drawn in commit order (see `EventRepository`). One entity's appends are never in two
 * statements in flight at once: an append waits while any of its entities is in flight, and so does
 * every later append of those entities, so each entity's events get ids in the order they were
 * accepted. Across entities, an append called after another resolved always has the larger ids.
 */
export class EventLog {
  private queue: Pending[] = [];
  private inFlight = 0;
  /** Entities (`type:id`) with events in a statement in flight, and how many statements hold each. */
  private readonly busyEntities = new Map<string, number>();
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;
  private readonly maxBatchEvents: number;
  private readonly maxQueuedEvents: number;
  private readonly maxInFlight: number;
  private readonly overlapAt: number;
  private queuedEvents = 0;

  constructor(
    private readonly repository: EventRepository,
    private readonly options: EventLogOptions = {},
  ) {
    this.maxBatchEvents = options.maxBatchEvents ?? 1000;
    this.maxQueuedEvents = options.maxQueuedEvents ?? 100_000;
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 2);
    this.overlapAt = Math.max(1, options.overlapAt ?? 100);
  }

  /** Events accepted and waiting for a statement (not those in one): the log's queue depth. */
  get queuedEventCount(): number {
    return this.queuedEvents;
  }

  /** Stores `events` durably; resolves with their envelopes (ids assigned) once committed. */
  append(events: readonly NewEvent[]): Promise<EventEnvelope[]> {
    if (this.queuedEvents > 0 && this.queuedEvents + events.length > this.maxQueuedEvents) {
      return Promise.reject(
        new ServiceUnavailableError(`the event log is behind (${this.queuedEvents} events waiting); retry later`),
      );
    }
    this.queuedEvents += events.length;
    return new Promise((resolve, reject) => {
      this.queue.push({ events, resolve, reject, entities: entitiesOf(events), at: performance.now() });
      this.pump();
    });
  }

  /** Resolves when nothing is queued or in flight: the last step of a graceful shutdown's drain. */
  whenIdle(): Promise<void> {
    return this.inFlight > 0 || this.queue.length > 0 ? this.idle : Promise.resolve();
  }

  /**
   * Starts statements while fewer than `maxInFlight` are in flight and something queued may go: the
   * first at once, another beside it only once `overlapAt` events wait.
   */
  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      if (this.inFlight > 0 && this.queuedEvents < this.overlapAt) return;
      const group = this.takeGroup();
      if (group.length === 0) return; // everything queued waits for an entity in flight
      if (this.inFlight === 0) this.idle = new Promise((resolve) => (this.markIdle = resolve));
      this.inFlight += 1;
      const entities = this.hold(group);
      void this.flush(group).finally(() => {
        this.release(entities);
        this.inFlight -= 1;
        this.pump();
        if (this.inFlight === 0 && this.queue.length === 0) this.markIdle();
      });
    }
  }

  /**
   * The next group, in queue order: appends whose entities are not in flight, up to `maxBatchEvents`
   * (an append larger than that goes alone). An append left behind blocks its entities for the rest
   * of the scan, so no later append of theirs overtakes it.
   */
  private takeGroup(): Pending[] {
    const group: Pending[] = [];
    const left: Pending[] = [];
    const blocked = new Set<string>();
    let count = 0;
    let index = 0;
    for (; index < this.queue.length; index++) {
      const pending = this.queue[index]!;
      const size = pending.events.length;
      if (group.length > 0 && count + size > this.maxBatchEvents) break;
      if (pending.entities.some((entity) => this.busyEntities.has(entity) || blocked.has(entity))) {
        for (const entity of pending.entities) blocked.add(entity);
        left.push(pending);
        continue;
      }
      group.push(pending);
      count += size;
    }
    this.queue = left.concat(this.queue.slice(index));
    this.queuedEvents -= count;
    return group;
  }

  private hold(group: readonly Pending[]): string[] {
    const entities = [...new Set(group.flatMap((pending) => pending.entities))];
    for (const entity of entities) this.busyEntities.set(entity, (this.busyEntities.get(entity) ?? 0) + 1);
    return entities;
  }

  private release(entities: readonly string[]): void {
    for (const entity of entities) {
      const held = this.busyEntities.get(entity) ?? 0;
      if (held <= 1) this.busyEntities.delete(entity);
      else this.busyEntities.set(entity, held - 1);
    }
  }

  private notifyCommitted(stored: EventEnvelope[]): void {
    try {
      this.options.onCommitted?.(stored);
    } catch (error) {
      // The rows are committed: a failing listener must not turn into a failed (and retried) append.
      this.options.logger?.error({ err: error }, 'event log commit listener threw');
    }
  }

  private async flush(group: Pending[]): Promise<void> {
    const timings = this.options.timings;
    try {
      const sent = performance.now();
      const stored = await this.repository.appendMany(group.flatMap((pending) => pending.events));
      const committed = performance.now();
      timings?.statement((committed - sent) / 1000);
      this.notifyCommitted(stored);
      let offset = 0;
      for (const pending of group) {
        timings?.append((committed - pending.at) / 1000);
        pending.resolve(stored.slice(offset, offset + pending.events.length));
        offset += pending.events.length;
      }
    } catch (error) {
      if (group.length > 1 && !isStoreUnavailable(error)) {
        // One writer's rows broke the statement (a value Postgres refuses that validation let through).
        // Write each append alone so the others are not failed with it.
        this.options.logger?.warn(
          { err: (error as Error).message, appends: group.length },
          'group insert failed; retrying appends one by one',
        );
        for (const pending of group) await this.flush([pending]);
        return;
      }
      for (const pending of group) pending.reject(toStoreError(error));
    }
  }
}

function entitiesOf(events: readonly NewEvent[]): string[] {
  if (events.length === 1) return [`${events[0]!.entityType}:${events[0]!.entityId}`];
  return [...new Set(events.map((event) => `${event.entityType}:${event.entityId}`))];
}
