import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ANONYMOUS, authAckFrame, awaitFirstFrameAuth, narrowSubscription, onTokenExpiry, type EdgeAuth, type Principal } from '@sandbox-relay/auth';
import {
  EVENTS_WS_PATH,
  WS_CLOSE_CODES,
  WsAuthFrame,
  WsSubscribeQuery,
  CANARY_SANDBOX_ID,
  createEventFilter,
  isCanaryEvent,
  type EventEnvelope,
} from '@sandbox-relay/contracts';
import type { ReceivedEvent } from '@sandbox-relay/bus';
import type { Logger } from '@sandbox-relay/service-kit';
import type { EventQuery } from '@sandbox-relay/store';
import { WebSocketServer, type WebSocket } from 'ws';
import { GatewayClient, entityKey, toLiveFrame, type ClientLimits, type LiveFrame } from './gateway-client';
import { socketsOpen, upgradesRefused } from './gateway.metrics';
import { SubscriptionIndex } from './subscription-index';

/** A sweep this many intervals after the previous one ran late: the process was stalled. */
const STALLED_SWEEP_FACTOR = 1.25;

/** Stored events, for replay. */
export interface EventHistory {
  list(query: EventQuery): Promise<EventEnvelope[]>;
  newestId(): Promise<string | null>;
}

export interface EventGatewayOptions extends ClientLimits {
  history: EventHistory;
  logger: Logger;
  /** How often each client gets a `{"type":"ping"}` frame and a protocol ping; silent clients are dropped after one interval. */
  pingIntervalMs: number;
  replayPageSize: number;
  maxClients: number;
  /** Who may watch what; with auth on, the first frame must carry a token (`WsAuthFrame`). */
  auth: EdgeAuth;
  /** How long a new socket has to send its auth frame before it is closed with 4401. */
  authTimeoutMs: number;
}

/**
 * The live-event WebSocket endpoint: filtered fan-out of events from Redis, with replay from the
 * store (`since`) that joins the live stream with no gap and no duplicate.
 */
export class EventGateway {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 20 * 1024 });
  private readonly index = new SubscriptionIndex<GatewayClient>();
  private readonly clients = new Set<GatewayClient>();
  /** Sockets that have not authenticated yet: counted against the limit, closed on shutdown. */
  private readonly pending = new Set<WebSocket>();
  private readonly pingTimer: NodeJS.Timeout;
  private shuttingDown = false;
  private lastSweepAt = Date.now();
  private lastLiveId: string | undefined;
  private outageCursor: string | undefined;

  private readonly unregisterMetrics: () => void;

  constructor(private readonly options: EventGatewayOptions) {
    this.pingTimer = setInterval(() => this.sweep(), options.pingIntervalMs);
    this.pingTimer.unref();
    this.unregisterMetrics = socketsOpen.add(() => this.openClientCount);
  }

  /** Clients still open for frames (a client being closed, e.g. as a slow consumer, no longer counts). */
  get openClientCount(): number {
    let open = 0;
    for (const client of this.clients) if (client.isOpen) open += 1;
    return open;
  }

  /** An `upgrade` handler for the http.Server; answers false for paths that are not ours. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = parseTarget(req.url);
    // Node's parser lets through absolute-form targets that WHATWG URL refuses (`http://[`); thrown
    // here, in the server's 'upgrade' listener, that would be an uncaught exception ending the process.
    if (!url) return upgradesRefused.inc({ reason: 'bad_query' }), rejectUpgrade(socket, 400, 'bad_request', 'the request target is not a valid URL'), true;
    if (url.pathname !== EVENTS_WS_PATH) return false;
    if (this.shuttingDown) return upgradesRefused.inc({ reason: 'shutting_down' }), rejectUpgrade(socket, 503, 'service_unavailable', 'the gateway is shutting down'), true;
    if (this.clients.size + this.pending.size >= this.options.maxClients) return upgradesRefused.inc({ reason: 'too_many_clients' }), rejectUpgrade(socket, 503, 'too_many_clients', 'connection limit reached'), true;
    const parsed = parseSubscribeQuery(url.searchParams);
    if (!parsed.success) {
      upgradesRefused.inc({ reason: 'bad_query' });
      return rejectUpgrade(socket, 400, 'validation_failed', 'invalid subscription query', parsed.details), true;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => void this.admit(ws, parsed.data));
    return true;
  }

  /** Routes one live event to every matching client. */
  dispatch(received: ReceivedEvent): void {
    this.lastLiveId = received.event.id;
    let frame: LiveFrame | undefined;
    // The canary's events reach only clients that ask for its id by name (see CANARY_SANDBOX_ID).
    const canary = isCanaryEvent(received.event);
    this.index.forEachMatch(received.event, (client) => {
      if (canary && !client.filter.entityIds.has(CANARY_SANDBOX_ID)) return;
      client.deliver((frame ??= toLiveFrame(received)));
    });
  }

  /** The Redis subscription dropped: remember where live delivery stopped. */
  liveInterrupted(): void {
    if (this.outageCursor === undefined && this.lastLiveId !== undefined) this.outageCursor = this.lastLiveId;
  }

  /** The Redis subscription is back: replay what the outage swallowed to every open client. */
  liveRestored(): void {
    const cursor = this.outageCursor;
    this.outageCursor = undefined;
    if (cursor === undefined) return;
    this.options.logger.info({ cursor, clients: this.clients.size }, 'live stream restored; backfilling clients from the store');
    for (const client of this.clients) if (!client.replaying) void this.replay(client, cursor);
  }

  /** Stops accepting and closes every client with 1001 (clients reconnect to another replica with `since`). */
  async close(): Promise<void> {
    this.shuttingDown = true;
    clearInterval(this.pingTimer);
    this.unregisterMetrics();
    for (const client of this.clients) client.close(WS_CLOSE_CODES.GOING_AWAY, 'server shutting down');
    for (const ws of this.pending) ws.close(WS_CLOSE_CODES.GOING_AWAY, 'server shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  /**
   * With auth on, nothing is subscribed until the first frame carried a valid token; the requested
   * filters are then narrowed to the token's scope (a viewer never widens past it, whatever it asks),
   * and the socket is closed with 4401 when the token expires. With auth off the socket is live at
   * once, and an auth frame sent anyway is acknowledged as anonymous so one client works against both.
   */
  private async admit(ws: WebSocket, query: WsSubscribeQuery): Promise<void> {
    ws.on('error', () => undefined);
    if (!this.options.auth.enabled) {
      ws.once('message', (data) => {
        const frame = WsAuthFrame.safeParse(parseJson(String(data)));
        if (frame.success) ws.send(JSON.stringify(authAckFrame(ANONYMOUS, query.entity_ids.length > 0 ? query.entity_ids : '*')));
      });
      this.accept(ws, query, ANONYMOUS);
      return;
    }
    this.pending.add(ws);
    const principal = await awaitFirstFrameAuth(ws, { auth: this.options.auth, timeoutMs: this.options.authTimeoutMs });
    this.pending.delete(ws);
    if (!principal || ws.readyState !== ws.OPEN) return;
    if (this.shuttingDown) return ws.close(WS_CLOSE_CODES.GOING_AWAY, 'server shutting down');
    const narrowed = narrowSubscription(principal, { entityTypes: query.entity_types, entityIds: query.entity_ids });
    if (!narrowed.allowed) return ws.close(WS_CLOSE_CODES.FORBIDDEN, narrowed.reason);
    ws.send(JSON.stringify(authAckFrame(principal, narrowed.sandboxes)));
    const client = this.accept(ws, { ...query, entity_types: narrowed.entityTypes, entity_ids: narrowed.entityIds }, principal);
    const cancel = onTokenExpiry(principal, () => client.close(WS_CLOSE_CODES.UNAUTHENTICATED, 'token expired; reconnect with a fresh token'));
    ws.once('close', cancel);
  }

  private accept(ws: WebSocket, query: WsSubscribeQuery, principal: Principal): GatewayClient {
    const client = new GatewayClient(ws, createEventFilter(query), this.options, principal.sandboxes);
    this.clients.add(client);
    ws.on('pong', () => (client.alive = true));
    ws.on('message', () => (client.alive = true));
    ws.on('close', () => {
      client.markClosed();
      this.clients.delete(client);
      this.index.remove(client);
    });
    // Registered before the replay reads the store: everything committed from here on arrives live.
    this.index.add(client);
    if (query.since !== undefined) void this.replay(client, query.since);
    return client;
  }

  private async replay(client: GatewayClient, since: string): Promise<void> {
    client.beginReplay();
    const lastByEntity = new Map<string, string>();
    const filter = client.filter;
    let after = since;
    let open = true;
    try {
      for (let first = true; ; first = false) {
        const page = await this.options.history.list({
          entityTypes: [...filter.entityTypes],
          entityIds: [...filter.entityIds],
          eventTypes: [...filter.eventTypes],
          after,
          limit: this.options.replayPageSize,
        });
        // Nothing after `since`: usual for a client that missed nothing, but a cursor past the newest
        // stored event comes from another log (a reset database) and would wait forever in silence.
        if (first && page.length === 0 && (await this.sinceIsAhead(since))) {
          client.close(WS_CLOSE_CODES.SINCE_AHEAD, 'since is past the newest stored event (was the log reset?); reload history and subscribe again');
          return;
        }
        for (const event of page) {
          // Skipped events still move the cursor: a full page of them must not be read again forever.
          after = event.id;
          if (!client.maySee(event) || client.alreadySent(event)) continue;
          if (isCanaryEvent(event) && !filter.entityIds.has(CANARY_SANDBOX_ID)) continue;
          // A page may hold many times the send-buffer bound (500 diffs): queued at once, it would close
          // a client that reads as fast as it can as a slow consumer. Let the socket drain as it reads.
          if (!client.hasRoom()) open = await client.waitForRoom();
          if (!open) break;
          client.send(JSON.stringify(event));
          lastByEntity.set(entityKey(event.entity_type, event.entity_id), event.id);
        }
        if (!open || page.length < this.options.replayPageSize || !(await client.waitForRoom())) break;
      }
      client.endReplay(since, lastByEntity);
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message, since }, 'replay failed');
      client.close(WS_CLOSE_CODES.REPLAY_FAILED, 'replay failed; reconnect with the same since');
    }
  }

  private async sinceIsAhead(since: string): Promise<boolean> {
    const cursor = BigInt(since);
    if (cursor === 0n) return false;
    const newest = await this.options.history.newestId();
    return newest === null || cursor > BigInt(newest);
  }

  /**
   * A client is dropped when it stayed silent for a whole interval in which this process could hear
   * it. Two things make silence prove nothing: timers run before the event loop reads sockets, so an
   * answer that arrived while the process was busy is still unread when the sweep fires (the verdict
   * therefore waits until after that read, `setImmediate`); and a sweep that fires late means the
   * process itself was stalled (GC, a burst of requests), so that round pings again and drops no one.
   * Without this a stall longer than an interval would cut off every healthy client at once.
   */
  private sweep(): void {
    const now = Date.now();
    const stalled = now - this.lastSweepAt > this.options.pingIntervalMs * STALLED_SWEEP_FACTOR;
    this.lastSweepAt = now;
    setImmediate(() => {
      for (const client of this.clients) {
        if (!client.alive && !stalled) {
          client.ws.terminate();
          continue;
        }
        client.alive = false;
        client.ping();
      }
    });
  }
}

type ParsedSubscribeQuery = { success: true; data: WsSubscribeQuery } | { success: false; details: Array<{ field: string; message: string }> };

/**
 * The subscription query, each parameter given at most once: lists are comma-separated in one value.
 * A repeated parameter (`entity_ids=a&entity_ids=b`, as many clients encode lists) is refused rather
 * than reduced to one of its values, which would silently subscribe to less than was asked.
 */
function parseSubscribeQuery(params: URLSearchParams): ParsedSubscribeQuery {
  const repeated = Object.keys(WsSubscribeQuery.shape).filter((key) => params.getAll(key).length > 1);
  if (repeated.length > 0) {
    return { success: false, details: repeated.map((key) => ({ field: `query.${key}`, message: 'given more than once; list values comma-separated in one parameter' })) };
  }
  const parsed = WsSubscribeQuery.safeParse(Object.fromEntries(params));
  if (parsed.success) return parsed;
  return { success: false, details: parsed.error.issues.map((issue) => ({ field: ['query', ...issue.path.map(String)].join('.'), message: issue.message })) };
}

function parseTarget(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'http://gateway');
  } catch {
    return undefined;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function rejectUpgrade(socket: Duplex, status: number, code: string, message: string, details?: unknown): void {
  const body = JSON.stringify({ error: { code, message, details } });
  const reason = status === 400 ? 'Bad Request' : 'Service Unavailable';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
