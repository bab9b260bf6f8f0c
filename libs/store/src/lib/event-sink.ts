// The one way a relay service emits its own events: stored durably, then published. It lives here, over
// the EventLog, because storing is what makes the guarantee; publishing is Redis (libs/bus), which this
// lib may not import (infra libs never import each other), so the publisher comes in as a function and
// each service's composition root wires the two (`createEventSink({ events, source, publish: (stored) => publisher.publish(stored) })`).
// Ingest's edge keeps its own batch-append fast path over the EventLog; this is for the services' events.
import type { EventEnvelope, EventPayloads, KnownEventType, RelayEventSource } from '@sandbox-relay/contracts';
import type { Logger } from 'pino';
import { EventLog, type EventLogOptions } from './event-log';
import type { EventRepository, NewEvent } from './event-repository';

/** What an event is about: an entity (`sandbox`, `task`, `ticket`) and its id. */
export interface EventTarget {
  entityType: string;
  entityId: string;
}

export interface EventSinkOptions {
  events: EventRepository;
  /** The service's catalogued source (`RELAY_EVENT_SOURCES`): every event it emits carries it. */
  source: RelayEventSource;
  /** Hands committed events to live subscribers (the service's `EventPublisher.publish`); called after commit, never awaited. */
  publish: (events: EventEnvelope[]) => unknown;
  logger?: Logger;
  log?: Pick<EventLogOptions, 'maxBatchEvents' | 'maxQueuedEvents'>;
}

export interface EmitOptions {
  /** Another relay service's source, when the event is emitted on its behalf (the guardian's queued message). */
  source?: RelayEventSource;
}

/**
 * Emits the relay's own events, typed by the contracts' payload map: `emit(type, target, data)` stores
 * the event for each target in one statement, then publishes them. Resolves with the stored envelopes.
 */
export class EventSink {
  constructor(
    private readonly log: Pick<EventLog, 'append' | 'whenIdle'>,
    private readonly source: RelayEventSource,
  ) {}

  async emit<T extends KnownEventType>(
    type: T,
    target: EventTarget | readonly EventTarget[],
    data: EventPayloads[T],
    options: EmitOptions = {},
  ): Promise<EventEnvelope[]> {
    const targets: readonly EventTarget[] = isTargetList(target) ? target : [target];
    const payload = data as Record<string, unknown>;
    const dataJson = JSON.stringify(payload);
    const source = options.source ?? this.source;
    const rows: NewEvent[] = targets.map(({ entityType, entityId }) => ({
      entityType,
      entityId,
      eventType: type,
      data: payload,
      dataJson,
      source,
    }));
    return this.log.append(rows);
  }

  /** Resolves once every emitted event is committed: a step of the service's graceful shutdown. */
  whenIdle(): Promise<void> {
    return this.log.whenIdle();
  }
}

function isTargetList(target: EventTarget | readonly EventTarget[]): target is readonly EventTarget[] {
  return Array.isArray(target);
}

/** A service's sink: its own EventLog (group commit) over `events`, publishing each committed group. */
export function createEventSink({ events, source, publish, logger, log }: EventSinkOptions): EventSink {
  const eventLog = new EventLog(events, { ...log, logger, onCommitted: (committed) => void publish(committed) });
  return new EventSink(eventLog, source);
}
