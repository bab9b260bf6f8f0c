import { serializeEnvelope, type EventEnvelope } from '@sandbox-relay/contracts';
import type { ReceivedEvent } from '@sandbox-relay/bus';
import { counter, type Logger } from '@sandbox-relay/service-kit';
import { compareIds, type EventQuery } from '@sandbox-relay/store';

const sequencedEvents = counter<'path'>({
  name: 'relay_gateway_sequenced_events_total',
  help: 'Live events handed to clients by the sequencer, by path: live (in order from Redis), held (arrived early, waited for a smaller id), store (read from the store to fill a hole or a Redis outage), duplicate (dropped: already handed out).',
  labelNames: ['path'],
});

/** The store, for filling holes: events with after < id < before, in id order. */
export interface SequencerHistory {
  list(query: EventQuery): Promise<EventEnvelope[]>;
  lastCommittedId(): Promise<string>;
}

export interface LiveSequencerOptions {
  history: SequencerHistory;
  /** Receives every event once, in id order. */
  deliver: (received: ReceivedEvent) => void;
  logger: Logger;
  /** How long an event that arrived ahead of a smaller id waits for that id's publish before the store is read. */
  holeWaitMs: number;
  /** Events per store read. */
  pageSize: number;
  /** Delay before retrying a store read that failed (Postgres unreachable). */
  retryMs?: number;
  /**
   * Awaited between slices of a burst: a held run or a store read, which can be thousands of events
   * at once, is handed out `BURST_SLICE_BYTES` at a time, and the gateway lets its clients' sockets
   * take each slice before the next (`EventGateway.roomForBurst`). Without it, a burst handed out in
   * one tick lands whole in every matching client's send buffer and closes readers that keep up as
   * slow consumers. Default: one turn of the event loop.
   */
  pace?: () => Promise<void>;
}

/**
 * Bytes of frames handed out in one go before the sequencer paces a burst. Live events from Redis come
 * paced by the socket they are read from (a read is at most 64 KB); a burst is sliced the same way.
 */
export const BURST_SLICE_BYTES = 64 * 1024;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Hands live events out in id order, each exactly once, whatever order Redis brought them in.
 *
 * Ids are drawn in commit order (see the store's `EventRepository`): when id N is visible, every
 * smaller id that will ever exist is visible too, and ids have no holes. So an event that arrives
 * while its predecessor has not is held; if the predecessor's publish does not follow within
 * `holeWaitMs` (another ingest replica's publish still on its way, or lost: a replica died between
 * commit and publish, a Redis outage), the hole is read from the store, where it is certain to be.
 * After an outage of the subscription itself everything after the last handed-out id is read back.
 *
 * With this, a client's live stream is the stored log for its filter, in id order; the resume cursor
 * `since` is exact across entities and across any number of ingest replicas.
 */
export class LiveSequencer {
  /** Every id up to this one has been handed out (or does not exist). Undefined until the start is known. */
  private last: string | undefined;
  /** Events that arrived ahead of `last + 1`, by id. */
  private readonly held = new Map<string, ReceivedEvent>();
  private fillTimer: NodeJS.Timeout | undefined;
  private filling = false;
  /** A catch-up to the store's newest is wanted (start, or the subscription came back from an outage). */
  private catchUpWanted = false;
  /** A held run longer than a slice is being handed out, slice by slice. */
  private releasing = false;
  /** Bytes handed out since the last pace (a burst's current slice). */
  private sliceBytes = 0;
  private stopped = false;

  constructor(private readonly options: LiveSequencerOptions) {}

  /** Takes the store's last committed id as the starting point; events held meanwhile are then sorted out. */
  start(): void {
    this.catchUpWanted = true;
    void this.fill();
  }

  stop(): void {
    this.stopped = true;
    this.cancelFill();
    this.held.clear();
  }

  /** Whether the starting point is known (the store answered); events pushed before are held. */
  get started(): boolean {
    return this.last !== undefined;
  }

  /** Events waiting for a smaller id. */
  get heldCount(): number {
    return this.held.size;
  }

  /** One event from Redis. */
  push(received: ReceivedEvent): void {
    const id = received.event.id;
    const last = this.last;
    if (last !== undefined && compareIds(id, last) <= 0) {
      sequencedEvents.inc({ path: 'duplicate' });
      return;
    }
    if (last !== undefined && !this.filling && this.held.size === 0 && id === successor(last)) {
      this.last = id;
      sequencedEvents.inc({ path: 'live' });
      this.options.deliver(received);
      return;
    }
    this.held.set(id, received);
    if (!this.filling) this.release();
  }

  /** The subscription came back after an outage: read whatever was published meanwhile from the store. */
  restored(): void {
    this.catchUpWanted = true;
    if (!this.filling) void this.fill();
  }

  /** Hands out held events that are next in line; schedules a store read for a hole that remains. */
  private release(): void {
    if (this.last === undefined || this.releasing) return;
    if (this.handOutHeldRun()) {
      void this.releaseRest();
      return;
    }
    // A timer already set (a hole's, or a retry's after a failed read) stays: with nothing held, it finds nothing to do.
    if (this.held.size > 0 && !this.fillTimer) this.scheduleFill(this.options.holeWaitMs);
  }

  /** The rest of a held run, a slice per pace; events pushed meanwhile are held behind it. */
  private async releaseRest(): Promise<void> {
    this.releasing = true;
    try {
      do await this.pace();
      while (!this.stopped && this.handOutHeldRun());
    } finally {
      this.releasing = false;
    }
    if (!this.stopped && !this.filling) this.release();
  }

  private pace(): Promise<void> {
    this.sliceBytes = 0;
    return this.options.pace ? this.options.pace() : nextTurn();
  }

  /**
   * Hands out the held events that directly follow `last`, up to a slice of `BURST_SLICE_BYTES`; true
   * when more of the run is waiting.
   */
  private handOutHeldRun(): boolean {
    for (let next = successor(this.last!); this.held.has(next); next = successor(next)) {
      if (this.sliceBytes >= BURST_SLICE_BYTES) return true;
      const received = this.held.get(next)!;
      this.held.delete(next);
      this.last = next;
      this.sliceBytes += received.raw.length;
      sequencedEvents.inc({ path: 'held' });
      this.options.deliver(received);
    }
    return false;
  }

  private scheduleFill(delayMs: number): void {
    this.fillTimer = setTimeout(() => {
      this.fillTimer = undefined;
      void this.fill();
    }, delayMs);
  }

  private cancelFill(): void {
    if (this.fillTimer) clearTimeout(this.fillTimer);
    this.fillTimer = undefined;
  }

  /**
   * Reads from the store: up to the newest stored id when a catch-up is wanted (or to learn where to
   * start), otherwise only the hole, the ids between `last` and the lowest held id, and then the held
   * run after it, hole by hole: under load thousands of events may be held behind a one-event hole
   * (another writer's publish still on its way), and reading them all back cost the standalone a third
   * of its CPU in batches. Every id below an id we hold is committed, so each read is complete; ids
   * the store no longer has (deleted canary rows) are simply skipped.
   */
  private async fill(): Promise<void> {
    if (this.filling || this.stopped) return;
    this.filling = true;
    this.cancelFill();
    let catchingUp = false;
    try {
      if (this.last === undefined) {
        this.last = await this.options.history.lastCommittedId();
        this.catchUpWanted = false;
        for (const id of [...this.held.keys()]) if (compareIds(id, this.last) <= 0) this.held.delete(id);
      }
      for (;;) {
        catchingUp = this.catchUpWanted;
        if (!catchingUp) while (this.handOutHeldRun()) await this.pace();
        const target = catchingUp ? undefined : this.holeEnd();
        if (!catchingUp && target === undefined) break;
        // Cleared before the read: a `restored()` while it runs asks for another.
        this.catchUpWanted = false;
        await this.readUpTo(target);
      }
    } catch (error) {
      if (!this.stopped) {
        this.options.logger.warn(
          { err: (error as Error).message, last: this.last, held: this.held.size },
          'live sequencer could not read the store; retrying',
        );
        // A catch-up cut short is owed again (a hole behind a held event is found again by itself).
        this.catchUpWanted ||= catchingUp;
        this.scheduleFill(this.options.retryMs ?? 1_000);
      }
    } finally {
      this.filling = false;
    }
    if (!this.stopped && this.last !== undefined) this.release();
  }

  /** Hands out stored events after `last`, up to and including `target` (or up to the newest). */
  private async readUpTo(target: string | undefined): Promise<void> {
    for (;;) {
      const before = target === undefined ? undefined : successor(target);
      const page = await this.options.history.list({ after: this.last!, before, limit: this.options.pageSize });
      for (const event of page) {
        if (this.sliceBytes >= BURST_SLICE_BYTES) await this.pace();
        if (this.stopped) return;
        this.held.delete(event.id);
        this.last = event.id;
        sequencedEvents.inc({ path: 'store' });
        const raw = serializeEnvelope(event);
        this.sliceBytes += raw.length;
        this.options.deliver({ event, raw });
      }
      if (page.length < this.options.pageSize) break;
    }
    if (target !== undefined && compareIds(target, this.last!) > 0) this.last = target;
    // Held events at or below the new `last` were handed out from the store.
    for (const id of [...this.held.keys()]) if (compareIds(id, this.last!) <= 0) this.held.delete(id);
  }

  /** The last id of the hole before the lowest held id (that id minus one), or undefined when nothing is held. */
  private holeEnd(): string | undefined {
    let lowest: string | undefined;
    for (const id of this.held.keys()) if (lowest === undefined || compareIds(id, lowest) < 0) lowest = id;
    return lowest === undefined ? undefined : (BigInt(lowest) - 1n).toString();
  }
}

/** `id + 1` on a decimal id string (ids are bigints; no BigInt allocation on the hot path). */
export function successor(id: string): string {
  let index = id.length - 1;
  while (index >= 0 && id[index] === '9') index -= 1;
  if (index < 0) return '1' + '0'.repeat(id.length);
  return id.slice(0, index) + String.fromCharCode(id.charCodeAt(index) + 1) + '0'.repeat(id.length - index - 1);
}
