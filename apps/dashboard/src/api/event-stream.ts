import type { EventEnvelope } from '@sandbox-relay/contracts';
import { auth } from './auth';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'unauthorized' | 'closed';

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
 * Close codes of a socket refused for its credential (libs/contracts WS_CLOSE_CODES: UNAUTHENTICATED,
 * FORBIDDEN). Numbers here rather than imports: the contracts' module pulls zod into the page.
 */
const UNAUTHENTICATED = 4401;
const FORBIDDEN = 4403;
/** SINCE_AHEAD: the cursor is past the newest stored event. */
const SINCE_AHEAD = 4416;
const WS_PATH = '/api/v1/events/ws/events';

/** Decimal ids of any length, compared numerically (the store's bigints). */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * The live event feed over the gateway's WebSocket. Every (re)connect asks for `since` = the last id
 * delivered, so the gateway replays exactly what was missed and then continues live: no gap, no
 * duplicate. An id not past the last one is dropped all the same, so a frame can never show twice.
 */
export class EventStream {
  private socket: WebSocket | undefined;
  private lastId: string;
  private attempt = 0;
  private timer: number | undefined;
  private stopped = false;
  private readonly unsubscribe: () => void;

  constructor(private readonly options: EventStreamOptions) {
    this.lastId = options.since;
    // A token entered after a 4401 reconnects at once.
    this.unsubscribe = auth.onTokenChanged(() => {
      if (!this.stopped && !this.socket) this.connect();
    });
    this.connect();
  }

  get cursor(): string {
    return this.lastId;
  }

  close(): void {
    this.stopped = true;
    this.unsubscribe();
    window.clearTimeout(this.timer);
    this.socket?.close(1000, 'dashboard closed the view');
    this.socket = undefined;
    this.options.onState('closed');
  }

  private url(): string {
    const query = new URLSearchParams();
    if (this.options.entityTypes?.length) query.set('entity_types', this.options.entityTypes.join(','));
    if (this.options.entityIds?.length) query.set('entity_ids', this.options.entityIds.join(','));
    if (this.options.eventTypes?.length) query.set('event_types', this.options.eventTypes.join(','));
    query.set('since', this.lastId);
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}${WS_PATH}?${query}`;
  }

  private connect(): void {
    window.clearTimeout(this.timer);
    this.options.onState(
      this.attempt === 0 ? 'connecting' : 'reconnecting',
      this.attempt ? `attempt ${this.attempt + 1}` : undefined,
    );
    const socket = new WebSocket(this.url());
    this.socket = socket;
    socket.onopen = () => {
      const first = auth.firstFrame();
      if (first) socket.send(first);
      this.attempt = 0;
      this.options.onState('live');
    };
    socket.onmessage = (message) => this.receive(message.data);
    socket.onclose = (close) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (this.stopped) return;
      // Retrying with the same credential cannot help: ask for another and wait for it.
      if (close.code === UNAUTHENTICATED || close.code === FORBIDDEN) {
        this.options.onState(
          'unauthorized',
          close.reason || (close.code === FORBIDDEN ? 'this token may not watch this sandbox' : 'a token is needed'),
        );
        if (this.options.askForToken !== false) auth.required();
        return;
      }
      if (close.code === SINCE_AHEAD) {
        if (this.options.onLogReset) {
          this.close();
          this.options.onLogReset();
          return;
        }
        // Ids restarted below the cursor: every new frame would be dropped as already seen.
        this.lastId = '0';
      }
      this.scheduleReconnect(close.reason || `closed (${close.code})`);
    };
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') return;
    let frame: Partial<EventEnvelope> & { type?: string };
    try {
      frame = JSON.parse(data) as typeof frame;
    } catch {
      return;
    }
    // Pings and the auth acknowledgement carry no event.
    if (typeof frame.id !== 'string' || typeof frame.event_type !== 'string') return;
    if (compareIds(frame.id, this.lastId) <= 0) return;
    this.lastId = frame.id;
    this.options.onEvent(frame as EventEnvelope);
  }

  private scheduleReconnect(why: string): void {
    const { initial, max } = this.options.backoffMs ?? { initial: 500, max: 5_000 };
    const delay = Math.min(max, initial * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
    this.attempt += 1;
    this.options.onState('reconnecting', why);
    this.timer = window.setTimeout(() => this.connect(), delay);
  }
}
