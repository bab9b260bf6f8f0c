import type { EventEnvelope } from '@sandbox-relay/contracts';
import type { Logger } from 'pino';
import type { EventRepository, NewEvent } from './event-repository';
import { ServiceUnavailableError } from '@sandbox-relay/service-kit';
import { isStoreUnavailable, toStoreError } from './store-errors';

export interface EventLogOptions {
  /** Most events written by one statement. */
  maxBatchEvents?: number;
  /**
   * Most events waiting for a statement. When Postgres slows down, appends past this answer 503 at once
   * instead of piling up in memory (and the caller retries with backoff, as the worker does).
   */
  maxQueuedEvents?: number;
  /** Called with each committed group, in commit order, before the writers are answered. */
  onCommitted?: (events: EventEnvelope[]) => void;
  logger?: Logger;
}

interface Pending {
  events: readonly NewEvent[];
  resolve: (stored: EventEnvelope[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for the event log. While one insert is in flight, new appends queue up; when it
 * completes, everything queued is written by the next single statement. Under load this turns N
 * round-trips into N / batch; when idle an append is written at once, adding no latency.
 *
 * One insert in flight per process keeps ids in acceptance order: an append that resolves before
 * another is called always has the smaller ids, and the events of one append are contiguous.
 */
export class EventLog {
  private queue: Pending[] = [];
  private flushing = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;
  private readonly maxBatchEvents: number;
  private readonly maxQueuedEvents: number;
  private queuedEvents = 0;

  constructor(
    private readonly repository: EventRepository,
    private readonly options: EventLogOptions = {},
  ) {
    this.maxBatchEvents = options.maxBatchEvents ?? 1000;
    this.maxQueuedEvents = options.maxQueuedEvents ?? 100_000;
  }

  /** Events accepted and not yet committed (waiting for, or in, a statement): the log's queue depth. */
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
      this.queue.push({ events, resolve, reject });
      if (!this.flushing) void this.drain();
    });
  }

  /** Resolves when nothing is queued or in flight: the last step of a graceful shutdown's drain. */
  whenIdle(): Promise<void> {
    return this.flushing ? this.idle : Promise.resolve();
  }

  private async drain(): Promise<void> {
    this.flushing = true;
    this.idle = new Promise((resolve) => (this.markIdle = resolve));
    try {
      while (this.queue.length > 0) await this.flush(this.takeGroup());
    } finally {
      this.flushing = false;
      this.markIdle();
    }
  }

  private takeGroup(): Pending[] {
    let count = 0;
    let take = 0;
    while (take < this.queue.length) {
      const size = this.queue[take]!.events.length;
      if (take > 0 && count + size > this.maxBatchEvents) break;
      count += size;
      take += 1;
    }
    this.queuedEvents -= count;
    return this.queue.splice(0, take);
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
    try {
      const stored = await this.repository.appendMany(group.flatMap((pending) => pending.events));
      this.notifyCommitted(stored);
      let offset = 0;
      for (const pending of group) {
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
