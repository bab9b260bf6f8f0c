import type { MessageType, SandboxMessage } from '@sandbox-relay/contracts';
import type { OutboxStats } from '../relay/event-outbox';
import type { WorkerRelay } from '../relay/relay-client';

export interface EmittedEvent {
  event_type: string;
  event_data: Record<string, unknown>;
  source: string;
}

/** An in-memory relay for unit tests of the loop: events land in `events`, messages come from `queue`. */
export class MemoryRelay implements WorkerRelay {
  readonly events: EmittedEvent[] = [];
  closed = false;
  polls = 0;
  private readonly inbox: SandboxMessage[] = [];
  private nextId = 1;

  emit(eventType: string, data: Record<string, unknown>, source: string): void {
    this.events.push({ event_type: eventType, event_data: data, source });
  }

  queue(messageType: MessageType, content: string): SandboxMessage {
    const message: SandboxMessage = {
      message_id: String(this.nextId++),
      sandbox_id: 'sbx-memory',
      content,
      message_type: messageType,
      created_at: new Date().toISOString(),
      delivered_at: null,
    };
    this.inbox.push(message);
    return message;
  }

  async pollMessages(): Promise<SandboxMessage[]> {
    this.polls += 1;
    return this.inbox.splice(0);
  }

  async flush(): Promise<boolean> {
    return true;
  }

  stats(): OutboxStats {
    return { queued: 0, sent: this.events.length, dropped: 0, rejected: 0 };
  }

  close(): void {
    this.closed = true;
  }

  types(): string[] {
    return this.events.map((event) => event.event_type);
  }

  ofType(type: string): EmittedEvent[] {
    return this.events.filter((event) => event.event_type === type);
  }

  /** Event types without heartbeats, for order assertions that must not depend on timer cadence. */
  story(): string[] {
    return this.types().filter((type) => type !== 'heartbeat');
  }
}
