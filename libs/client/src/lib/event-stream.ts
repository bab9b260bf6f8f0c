import { readToken, type TokenSource } from './http-transport';
import type { EventEnvelope } from './wire';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'unauthorized' | 'closed';

/** The part of the WebSocket API the stream uses: the browser's, Node 22's global, or the `ws` package's. */
export interface WebSocketLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface EventStreamOptions {
  /** The relay's base URL (http/https, turned into ws/wss); `''` in a page the relay serves. */
  baseUrl: string;
  /** Sent as the first frame `{"type":"auth","token"}` (never in the URL); read at every connect. */
  token?: TokenSource;
  entityTypes?: readonly string[];
  entityIds?: readonly string[];
  eventTypes?: readonly string[];
  /** Resume after this id (the last event already seen); `'0'` replays everything stored. */
  since: string;
  onEvent(event: EventEnvelope): void;
  onState?(state: StreamState, detail?: string): void;
  /**
   * The relay refused the credential (close 4401 or 4403): the stream waits, since the same token
   * cannot help; call `reconnect()` once there is another one.
   */
  onUnauthorized?(code: number, reason: string): void;
  /** Reconnect delays: doubling from the first to the cap, with jitter. Default 500 ms to 5 s. */
  backoffMs?: { initial: number; max: number };
  /**
   * The cursor is past the relay's log (4416: its database was reset): what was seen is from another
   * log. With this callback the stream closes and calls it; without, it follows the new log from its start.
   */
  onLogReset?(): void;
  /** Default: the global `WebSocket` where there is one, else the `ws` package (Node 20). */
  WebSocket?: WebSocketConstructor;
}

/**
 * Close codes (libs/contracts WS_CLOSE_CODES; the client's spec checks they match). Numbers here
 * rather than imports: the contracts' module pulls zod into a page.
 */
export const STREAM_CLOSE_CODES = { UNAUTHENTICATED: 4401, FORBIDDEN: 4403, SINCE_AHEAD: 4416 } as const;
/** The relay's own WebSocket path (libs/contracts EVENTS_WS_PATH). */
export const EVENTS_WS_PATH = '/api/v1/events/ws/events';

/** Decimal ids of any length, compared numerically (the store's bigints). */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** A module name in a variable: bundlers (Vite, esbuild) leave the import alone and never pull `ws` into a page. */
const WS_PACKAGE = 'ws';
let wsPackage: Promise<WebSocketConstructor> | undefined;
function loadWs(): Promise<WebSocketConstructor> {
  wsPackage ??= (
    import(/* @vite-ignore */ WS_PACKAGE) as Promise<{
      WebSocket?: WebSocketConstructor;
      default?: WebSocketConstructor;
    }>
  ).then((module) => (module.WebSocket ?? module.default) as WebSocketConstructor);
  return wsPackage;
}

/**
 * The relay's live event feed. Every (re)connect asks for `since` = the last id delivered, so the
 * relay replays exactly what was missed and then continues live: no gap, no duplicate. An id not past
 * the last one is dropped all the same, so an event is never delivered twice.
 */
export class EventStream {
  private socket: WebSocketLike | undefined;
  private lastId: string;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private opening = false;

  constructor(private readonly options: EventStreamOptions) {
    this.lastId = options.since;
    this.connect();
  }

  /** The last id delivered: the `since` of the next connect. */
  get cursor(): string {
    return this.lastId;
  }

  /** Connects now if the stream waits (after a refused credential); a no-op while connected. */
  reconnect(): void {
    if (!this.stopped && !this.socket && !this.opening) this.connect();
  }

  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.close(1000, 'client closed the stream');
    this.socket = undefined;
    this.options.onState?.('closed');
  }

  private url(): string {
    const query = new URLSearchParams();
    if (this.options.entityTypes?.length) query.set('entity_types', this.options.entityTypes.join(','));
    if (this.options.entityIds?.length) query.set('entity_ids', this.options.entityIds.join(','));
    if (this.options.eventTypes?.length) query.set('event_types', this.options.eventTypes.join(','));
    query.set('since', this.lastId);
    let base = this.options.baseUrl.replace(/\/+$/, '');
    if (!base) {
      const location = (globalThis as { location?: { protocol: string; host: string } }).location;
      if (!location) throw new Error('EventStream: a baseUrl is needed outside a page');
      base = `${location.protocol}//${location.host}`;
    }
    return `${base.replace(/^http/, 'ws')}${EVENTS_WS_PATH}?${query}`;
  }

  private connect(): void {
    clearTimeout(this.timer);
    this.options.onState?.(
      this.attempt === 0 ? 'connecting' : 'reconnecting',
      this.attempt ? `attempt ${this.attempt + 1}` : undefined,
    );
    const Impl = this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (Impl) return this.open(Impl);
    this.opening = true;
    loadWs().then(
      (Ws) => {
        this.opening = false;
        if (!this.stopped) this.open(Ws);
      },
      (error: unknown) => {
        this.opening = false;
        this.options.onState?.(
          'closed',
          `no WebSocket implementation: ${error instanceof Error ? error.message : String(error)}`,
        );
      },
    );
  }

  private open(Impl: WebSocketConstructor): void {
    const socket = new Impl(this.url());
    this.socket = socket;
    socket.onopen = () => {
      const token = readToken(this.options.token);
      if (token) socket.send(JSON.stringify({ type: 'auth', token }));
      this.attempt = 0;
      this.options.onState?.('live');
    };
    socket.onmessage = (message) => this.receive(message.data);
    // The close that follows an error does the work.
    socket.onerror = () => undefined;
    socket.onclose = (close) => this.closed(socket, close.code, close.reason);
  }

  private closed(socket: WebSocketLike, code: number, reason: string): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    if (this.stopped) return;
    // Retrying with the same credential cannot help: say so and wait for `reconnect()`.
    if (code === STREAM_CLOSE_CODES.UNAUTHENTICATED || code === STREAM_CLOSE_CODES.FORBIDDEN) {
      this.options.onState?.(
        'unauthorized',
        reason ||
          (code === STREAM_CLOSE_CODES.FORBIDDEN ? 'this token may not watch these events' : 'a token is needed'),
      );
      this.options.onUnauthorized?.(code, reason);
      return;
    }
    if (code === STREAM_CLOSE_CODES.SINCE_AHEAD) {
      if (this.options.onLogReset) {
        this.close();
        this.options.onLogReset();
        return;
      }
      // Ids restarted below the cursor: every new frame would be dropped as already seen.
      this.lastId = '0';
    }
    this.scheduleReconnect(reason || `closed (${code})`);
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
    this.options.onState?.('reconnecting', why);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}
