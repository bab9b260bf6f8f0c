import {
  OMOIOS_SANDBOX_EVENT_PREFIX,
  OMOIOS_WS_ERRORS,
  OmoiosSubscribeFrame,
  createEventFilter,
  type OmoiosErrorFrame,
  type OmoiosSubscribedFrame,
} from '@sandbox-relay/contracts';
import type { WebSocket } from 'ws';
import type { GatewayClient } from './gateway-client';
import type { SubscriberFilter } from './subscription-index';

// The original system's (OmoiOS) WebSocket protocol on `/api/v1/ws/events`: what differs from the
// relay's own once a socket is admitted (frames in the original's shape are `LiveFrame.bytesFor`).

/**
 * The filter of an original-protocol client. Its event types name worker events as the original does,
 * `SANDBOX_<type>`: those raw types are kept apart so matching stays a set lookup on the stored type.
 */
export function omoiosFilter(query: {
  entity_types: string[];
  entity_ids: string[];
  event_types: string[];
}): SubscriberFilter {
  const filter = createEventFilter(query);
  const workerEventTypes = new Set<string>();
  for (const type of query.event_types) {
    if (type.startsWith(OMOIOS_SANDBOX_EVENT_PREFIX) && type.length > OMOIOS_SANDBOX_EVENT_PREFIX.length) {
      workerEventTypes.add(type.slice(OMOIOS_SANDBOX_EVENT_PREFIX.length));
    }
  }
  return workerEventTypes.size > 0 ? { ...filter, workerEventTypes } : filter;
}

/** The stored types a replay reads for `filter` (a superset; each event is then checked with `matchesSubscription`). */
export function storedEventTypes(filter: SubscriberFilter): string[] {
  if (!filter.workerEventTypes) return [...filter.eventTypes];
  return [...new Set([...filter.eventTypes, ...filter.workerEventTypes])];
}

/** Close reasons are limited to 123 bytes by RFC 6455. */
const reasonOf = (text: string) => Buffer.from(text).subarray(0, 123).toString();

/** The original's refusal: the socket is open, told why in a frame, then closed with `code`. */
export function refuseOmoios(ws: WebSocket, error: string, code: number): void {
  if (ws.readyState !== ws.OPEN) return;
  const frame: OmoiosErrorFrame = { error };
  ws.send(JSON.stringify(frame));
  ws.close(code, reasonOf(error));
  // A peer that does not complete the closing handshake is cut off rather than kept in memory.
  setTimeout(() => ws.terminate(), 5_000).unref();
}

/** Applies a subscribe frame: the filters now in effect for the kinds it named, or why it was refused. */
export type Resubscribe = (
  frame: OmoiosSubscribeFrame,
) => { filters: OmoiosSubscribedFrame['filters'] } | { refused: string };

export interface OmoiosSessionOptions {
  /** A `{"type":"ping"}` frame after this long without a client message (the original: 30 s). */
  idlePingMs: number;
  resubscribe: Resubscribe;
}

const INVALID_JSON = JSON.stringify({ error: OMOIOS_WS_ERRORS.INVALID_JSON } satisfies OmoiosErrorFrame);
const NOT_JSON = Symbol('not JSON');

/**
 * The client half of the original protocol on an admitted socket: subscribe frames re-filter, text
 * that is not JSON is answered with an error frame (the socket stays), other JSON is ignored, and a
 * ping frame goes out after every `idlePingMs` without a client message. Liveness (protocol pings,
 * dropping silent peers) stays the gateway's sweep.
 */
export function runOmoiosSession(client: GatewayClient, { idlePingMs, resubscribe }: OmoiosSessionOptions): void {
  // An interval whose countdown restarts with each client message: silent 30 s → ping, and every 30 s after.
  const idle = setInterval(() => client.pingFrame(), idlePingMs);
  idle.unref();
  client.ws.on('message', (data) => {
    idle.refresh();
    const message = parseJson(String(data));
    if (message === NOT_JSON) return client.send(INVALID_JSON);
    if (!isSubscribe(message)) return;
    const frame = OmoiosSubscribeFrame.safeParse(message);
    if (!frame.success) {
      const problems = frame.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
      return client.send(
        JSON.stringify({ error: `Invalid subscribe message (${problems})` } satisfies OmoiosErrorFrame),
      );
    }
    const outcome = resubscribe(frame.data);
    const answer: OmoiosSubscribedFrame | OmoiosErrorFrame =
      'refused' in outcome ? { error: outcome.refused } : { status: 'subscribed', filters: outcome.filters };
    client.send(JSON.stringify(answer));
  });
  client.ws.once('close', () => clearInterval(idle));
}

function isSubscribe(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'subscribe';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
}
