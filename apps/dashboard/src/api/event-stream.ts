import { EventStream as ClientStream, compareIds, type StreamState } from '@sandbox-relay/client';
import type { EventEnvelope } from '@sandbox-relay/contracts';
import { auth } from './auth';

export { compareIds, type StreamState };

export interface EventStreamOptions {
  entityTypes?: string[];
  entityIds?: string[];
  eventTypes?: string[];
  /** Resume after this id (the last event already shown). */
  since: string;
  onEvent(event: EventEnvelope): void;
  onState(state: StreamState, detail?: string): void;
  /**
   * Whether a refused credential (4401/4403) asks the page for a token (default). A secondary feed
   * (the ticket's branch events, which a sandbox-scoped token may not watch) says no and just stops.
   */
  askForToken?: boolean;
  /** Reconnect delays: doubling from the first to the cap, with jitter. */
  backoffMs?: { initial: number; max: number };
  /**
   * The gateway says the cursor is past its log (4416: the database was reset): what was shown is
   * from another log. Default: follow the new log from its start.
   */
  onLogReset?(): void;
}

/**
 * The live event feed over the gateway's WebSocket, through `@sandbox-relay/client`'s stream: the
 * token of auth.ts as the first frame, and every (re)connect resumes after the last id delivered
 * (no gap, no duplicate). A refused credential asks the page for a token; one entered reconnects at once.
 */
export class EventStream {
  private readonly stream: ClientStream;
  private readonly unsubscribe: () => void;

  constructor(options: EventStreamOptions) {
    this.stream = new ClientStream({
      ...options,
      baseUrl: '',
      token: () => auth.token(),
      onUnauthorized: () => {
        if (options.askForToken !== false) auth.required();
      },
      // The stream closes itself before this: the token listener goes with it.
      onLogReset: options.onLogReset
        ? () => {
            this.unsubscribe();
            options.onLogReset?.();
          }
        : undefined,
    });
    this.unsubscribe = auth.onTokenChanged(() => this.stream.reconnect());
  }

  get cursor(): string {
    return this.stream.cursor;
  }

  close(): void {
    this.unsubscribe();
    this.stream.close();
  }
}
