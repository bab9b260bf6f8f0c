import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  ANONYMOUS,
  authAckFrame,
  awaitFirstFrameAuth,
  narrowSubscription,
  onTokenExpiry,
  type EdgeAuth,
  type Principal,
} from '@sandbox-relay/auth';
import {
  EVENTS_WS_PATH,
  OMOIOS_WS_ERRORS,
  OMOIOS_WS_PATH,
  OmoiosWsQuery,
  WS_CLOSE_CODES,
  WsAuthFrame,
  WsSubscribeQuery,
  CANARY_SANDBOX_ID,
  createEventFilter,
  isCanaryEvent,
  type EventEnvelope,
  type OmoiosSubscribeFrame,
} from '@sandbox-relay/contracts';
import type { ReceivedEvent } from '@sandbox-relay/bus';
import type { Logger } from '@sandbox-relay/service-kit';
import type { EventQuery } from '@sandbox-relay/store';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  BURST_UNREAD,
  GatewayClient,
  encodeStored,
  entityKey,
  toLiveFrame,
  type ClientLimits,
  type LiveFrame,
  type WsProtocol,
} from './gateway-client';
import { eventDeliveryLag, socketsOpen, upgradesRefused } from './gateway.metrics';
import { omoiosFilter, refuseOmoios, runOmoiosSession, storedEventTypes, type Resubscribe } from './omoios-session';
import { SubscriptionIndex, matchesSubscription, type SubscriberFilter } from './subscription-index';
import { parseJson, parseQuery, parseTarget, rejectUpgrade } from './ws-upgrade';

/** A sweep this many intervals after the previous one ran late: the process was stalled. */
const STALLED_SWEEP_FACTOR = 1.25;
/** Frames an original-protocol client may send before its token is checked; held, then handed to its session. */
const OMOIOS_EARLY_FRAMES_MAX = 32;

/** How long a burst's slice waits for the clients' send buffers to drain (see `roomForBurst`). */
export const BURST_WAIT_MS = 1_000;

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
  /** Original protocol: a `{"type":"ping"}` frame after this long without a client message (30 s). */
  omoiosIdlePingMs: number;
  /** The process's readiness (false while draining); a socket of the original protocol is then refused with 1013. Default: always ready. */
  isReady?: () => boolean;
}

/**
 * The live-event WebSocket endpoint: filtered fan-out of events from Redis, with replay from the
 * store (`since`) that joins the live stream with no gap and no duplicate.
 */
export class EventGateway {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 20 * 1024 });
  /**
   * Completes the handshakes the original protocol refuses in a frame (draining, full): `wss` refuses
   * upgrades itself once it is closing, before the frame could be sent. It tracks no clients.
   */
  private readonly refusals = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 1024,
    clientTracking: false,
  });
  private readonly index = new SubscriptionIndex<GatewayClient>();
  private readonly clients = new Set<GatewayClient>();
  /** Sockets that have not authenticated yet: counted against the limit, closed on shutdown. */
  private readonly pending = new Map<WebSocket, WsProtocol>();
  /** The connection under each socket (the upgrade hands it over): clients cork it to batch a burst's frames. */
  private readonly rawSockets = new WeakMap<WebSocket, Duplex>();
  private readonly pingTimer: NodeJS.Timeout;
  private shuttingDown = false;
  private lastSweepAt = Date.now();

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
    if (!url)
      return (
        upgradesRefused.inc({ reason: 'bad_query' }),
        rejectUpgrade(socket, 400, 'bad_request', 'the request target is not a valid URL'),
        true
      );
    if (url.pathname === OMOIOS_WS_PATH) return (this.upgradeOmoios(req, socket, head, url.searchParams), true);
    if (url.pathname !== EVENTS_WS_PATH) return false;
    if (this.shuttingDown)
      return (
        upgradesRefused.inc({ reason: 'shutting_down' }),
        rejectUpgrade(socket, 503, 'service_unavailable', 'the gateway is shutting down'),
        true
      );
    if (this.atCapacity)
      return (
        upgradesRefused.inc({ reason: 'too_many_clients' }),
        rejectUpgrade(socket, 503, 'too_many_clients', 'connection limit reached'),
        true
      );
    const parsed = parseQuery(WsSubscribeQuery, url.searchParams);
    if (!parsed.success) {
      upgradesRefused.inc({ reason: 'bad_query' });
      return (rejectUpgrade(socket, 400, 'validation_failed', 'invalid subscription query', parsed.details), true);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.rawSockets.set(ws, socket);
      void this.admit(ws, parsed.data);
    });
    return true;
  }

  private get atCapacity(): boolean {
    return this.clients.size + this.pending.size >= this.options.maxClients;
  }

  /**
   * The original path. A query that does not parse is refused before the upgrade like the relay's
   * (400 JSON); every other refusal is the original's: the socket opens, gets `{"error": …}`, and is
   * closed (1013 not ready or full, 4401 auth), because a browser sees nothing of an HTTP refusal.
   */
  private upgradeOmoios(req: IncomingMessage, socket: Duplex, head: Buffer, params: URLSearchParams): void {
    const parsed = parseQuery(OmoiosWsQuery, params);
    if (!parsed.success) {
      upgradesRefused.inc({ reason: 'bad_query' });
      return rejectUpgrade(socket, 400, 'validation_failed', 'invalid subscription query', parsed.details);
    }
    const refusal =
      this.shuttingDown || this.options.isReady?.() === false
        ? 'shutting_down'
        : this.atCapacity
          ? 'too_many_clients'
          : undefined;
    if (refusal) {
      upgradesRefused.inc({ reason: refusal });
      this.refusals.handleUpgrade(req, socket, head, (ws) => {
        ws.on('error', () => undefined);
        refuseOmoios(ws, OMOIOS_WS_ERRORS.NOT_READY, WS_CLOSE_CODES.TRY_AGAIN_LATER);
      });
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.rawSockets.set(ws, socket);
      void this.admitOmoios(ws, parsed.data);
    });
  }

  /**
   * Paces a burst the live sequencer hands out (a held run, a store read) slice by slice: after a turn
   * of the event loop, in which the slice's frames are written, waits until every open client's send
   * buffer is at most half its bound, as a replay waits for its one client. A client still above that
   * after `BURST_WAIT_MS` is not reading: it is closed as a slow consumer (it resumes with `since`)
   * rather than hold everyone's stream up for longer.
   */
  async roomForBurst(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const full: GatewayClient[] = [];
    for (const client of this.clients) if (client.isOpen && !client.hasRoom()) full.push(client);
    await Promise.all(full.map((client) => client.waitForRoom(BURST_WAIT_MS, BURST_UNREAD)));
  }

  /** Routes one live event to every matching client; events come in id order, once each (LiveSequencer). */
  dispatch(received: ReceivedEvent): void {
    let frame: LiveFrame | undefined;
    // The canary's events reach only clients that ask for its id by name (see CANARY_SANDBOX_ID).
    const canary = isCanaryEvent(received.event);
    this.index.forEachMatch(received.event, (client) => {
      if (canary && !client.filter.entityIds.has(CANARY_SANDBOX_ID)) return;
      client.deliver((frame ??= toLiveFrame(received)));
    });
    // Once per event (not per client): the fan-out's hot path stays one timestamp parse per event.
    if (frame !== undefined)
      eventDeliveryLag.observe(Math.max(0, Date.now() - Date.parse(received.event.timestamp)) / 1000);
  }

  /**
   * Stops accepting and closes every client with 1001, or 1012 on the original protocol (clients
   * reconnect to another replica, with `since` where they keep one).
   */
  async close(): Promise<void> {
    this.shuttingDown = true;
    clearInterval(this.pingTimer);
    this.unregisterMetrics();
    for (const client of this.clients) client.close(goingAway(client.protocol), 'server shutting down');
    for (const [ws, protocol] of this.pending) ws.close(goingAway(protocol), 'server shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  /**
   * The original protocol's admission: the token from the query (with auth on; missing, bad or expired
   * → error frame and 4401), the filters narrowed to its scope, then live. A token that may not watch
   * is refused with 4401 too, not the relay's 4403: the original's client stops reconnecting only on
   * 4401 (and 1000/1001), and would retry a 4403 every 5 s forever with the same token.
   */
  private async admitOmoios(ws: WebSocket, query: OmoiosWsQuery): Promise<void> {
    ws.on('error', () => undefined);
    // The original's client may send a subscribe frame the moment the socket opens, while its token is
    // still being checked: hold such frames and hand them to the session once it runs.
    const early: Array<[RawData, boolean]> = [];
    const hold = (data: RawData, isBinary: boolean) => {
      if (early.length < OMOIOS_EARLY_FRAMES_MAX) early.push([data, isBinary]);
      else
        ws.close(
          WS_CLOSE_CODES.POLICY,
          `more than ${OMOIOS_EARLY_FRAMES_MAX} frames before the connection was admitted`,
        );
    };
    ws.on('message', hold);
    let principal = ANONYMOUS;
    if (this.options.auth.enabled) {
      if (query.token === undefined)
        return refuseOmoios(ws, 'Authentication required: pass ?token=<relay token>', WS_CLOSE_CODES.UNAUTHENTICATED);
      this.pending.set(ws, 'omoios');
      try {
        principal = await this.options.auth.authenticate(query.token);
      } catch (error) {
        return refuseOmoios(ws, `Invalid token: ${(error as Error).message}`, WS_CLOSE_CODES.UNAUTHENTICATED);
      } finally {
        this.pending.delete(ws);
      }
      if (ws.readyState !== ws.OPEN) return;
      if (this.shuttingDown) return refuseOmoios(ws, OMOIOS_WS_ERRORS.NOT_READY, WS_CLOSE_CODES.TRY_AGAIN_LATER);
    }
    const narrowed = narrowSubscription(principal, { entityTypes: query.entity_types, entityIds: query.entity_ids });
    if (!narrowed.allowed) return refuseOmoios(ws, narrowed.reason, WS_CLOSE_CODES.UNAUTHENTICATED);
    const filter = omoiosFilter({
      entity_types: narrowed.entityTypes,
      entity_ids: narrowed.entityIds,
      event_types: query.event_types,
    });
    const client = this.accept(ws, filter, query.since, principal, 'omoios');
    runOmoiosSession(client, {
      idlePingMs: this.options.omoiosIdlePingMs,
      resubscribe: (frame) => this.resubscribe(client, principal, frame),
    });
    ws.off('message', hold);
    for (const [data, isBinary] of early) ws.emit('message', data, isBinary);
    const cancel = onTokenExpiry(principal, () =>
      refuseOmoios(ws, 'Token expired; reconnect with a fresh token', WS_CLOSE_CODES.UNAUTHENTICATED),
    );
    ws.once('close', cancel);
  }

  /**
   * A subscribe frame: the kinds it names replace the client's (null or [] clears one), narrowed to
   * the token's scope exactly as at connection, so a scoped token cannot widen what it receives. A
   * request left with nothing in scope is refused and the previous filters stay. It applies to live
   * events from now on; a replay under way carries on with its own cursor.
   */
  private resubscribe(
    client: GatewayClient,
    principal: Principal,
    frame: OmoiosSubscribeFrame,
  ): ReturnType<Resubscribe> {
    const current = client.filter;
    const requested = {
      entityTypes: frame.entity_types === undefined ? [...current.entityTypes] : (frame.entity_types ?? []),
      entityIds: frame.entity_ids === undefined ? [...current.entityIds] : (frame.entity_ids ?? []),
    };
    const eventTypes = frame.event_types === undefined ? [...current.eventTypes] : (frame.event_types ?? []);
    const narrowed = narrowSubscription(principal, requested);
    if (!narrowed.allowed) return { refused: narrowed.reason };
    this.index.remove(client);
    client.filter = omoiosFilter({
      entity_types: narrowed.entityTypes,
      entity_ids: narrowed.entityIds,
      event_types: eventTypes,
    });
    if (client.isOpen) this.index.add(client);
    return {
      filters: {
        ...(frame.event_types !== undefined && { event_types: eventTypes }),
        ...(frame.entity_types !== undefined && { entity_types: narrowed.entityTypes }),
        ...(frame.entity_ids !== undefined && { entity_ids: narrowed.entityIds }),
      },
    };
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
        if (frame.success)
          ws.send(JSON.stringify(authAckFrame(ANONYMOUS, query.entity_ids.length > 0 ? query.entity_ids : '*')));
      });
      this.accept(ws, createEventFilter(query), query.since, ANONYMOUS);
      return;
    }
    this.pending.set(ws, 'relay');
    const principal = await awaitFirstFrameAuth(ws, { auth: this.options.auth, timeoutMs: this.options.authTimeoutMs });
    this.pending.delete(ws);
    if (!principal || ws.readyState !== ws.OPEN) return;
    if (this.shuttingDown) return ws.close(WS_CLOSE_CODES.GOING_AWAY, 'server shutting down');
    const narrowed = narrowSubscription(principal, { entityTypes: query.entity_types, entityIds: query.entity_ids });
    if (!narrowed.allowed) return ws.close(WS_CLOSE_CODES.FORBIDDEN, narrowed.reason);
    ws.send(JSON.stringify(authAckFrame(principal, narrowed.sandboxes)));
    const client = this.accept(
      ws,
      createEventFilter({ ...query, entity_types: narrowed.entityTypes, entity_ids: narrowed.entityIds }),
      query.since,
      principal,
    );
    const cancel = onTokenExpiry(principal, () =>
      client.close(WS_CLOSE_CODES.UNAUTHENTICATED, 'token expired; reconnect with a fresh token'),
    );
    ws.once('close', cancel);
  }

  private accept(
    ws: WebSocket,
    filter: SubscriberFilter,
    since: string | undefined,
    principal: Principal,
    protocol: WsProtocol = 'relay',
  ): GatewayClient {
    const client = new GatewayClient(ws, filter, this.options, principal.sandboxes, protocol, this.rawSockets.get(ws));
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
    if (since !== undefined) void this.replay(client, since);
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
          eventTypes: storedEventTypes(filter),
          after,
          limit: this.options.replayPageSize,
        });
        // Nothing after `since`: usual for a client that missed nothing, but a cursor past the newest
        // stored event comes from another log (a reset database) and would wait forever in silence.
        if (first && page.length === 0 && (await this.sinceIsAhead(since))) {
          client.close(
            WS_CLOSE_CODES.SINCE_AHEAD,
            'since is past the newest stored event (was the log reset?); reload history and subscribe again',
          );
          return;
        }
        for (const event of page) {
          // Skipped events still move the cursor: a full page of them must not be read again forever.
          after = event.id;
          // The store filtered by stored type; the original protocol's `SANDBOX_<type>` names read a superset.
          if (!client.maySee(event) || !matchesSubscription(client.filter, event)) continue;
          if (isCanaryEvent(event) && !filter.entityIds.has(CANARY_SANDBOX_ID)) continue;
          // A page may hold many times the send-buffer bound (500 diffs): queued at once, it would close
          // a client that reads as fast as it can as a slow consumer. Let the socket drain as it reads.
          if (!client.hasRoom()) open = await client.waitForRoom();
          if (!open) break;
          client.send(encodeStored(event, client.protocol));
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

/**
 * The close code that sends a client elsewhere on shutdown. The original's client reconnects on any
 * code but 1000, 1001 and 4401, so its sockets get 1012 (service restart): with 1001 it would stay
 * disconnected after every gateway rollout.
 */
function goingAway(protocol: WsProtocol): number {
  return protocol === 'omoios' ? WS_CLOSE_CODES.SERVICE_RESTART : WS_CLOSE_CODES.GOING_AWAY;
}
