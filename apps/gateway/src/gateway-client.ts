import { ENTITY_TYPES, WS_CLOSE_CODES, serializeOmoiosEvent, type EventEnvelope } from '@sandbox-relay/contracts';
import { compareIds } from '@sandbox-relay/store';
import type { ReceivedEvent } from '@sandbox-relay/bus';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { frameCounts, slowConsumerCloses } from './gateway.metrics';
import type { SubscriberFilter } from './subscription-index';

export interface ClientLimits {
  /** Bytes queued in the socket past which the client counts as too slow and is closed. */
  maxBufferedBytes: number;
  /** Live events held while a replay runs; past it the client is closed and must resume again. */
  maxReplayBuffer: number;
}

const PING_FRAME = Buffer.from(JSON.stringify({ type: 'ping' }));
const TEXT = { binary: false } as const;

/**
 * Which protocol a socket speaks: the relay's (`/api/v1/events/ws/events`: envelope frames, a ping
 * frame every sweep) or the original system's (`/api/v1/ws/events`: OmoiOS-shaped frames, a ping frame
 * only after the client was silent for the idle interval).
 */
export type WsProtocol = 'relay' | 'omoios';

/**
 * A live event ready to send: encoded to UTF-8 once per event and shape, not once per socket (`ws`
 * would re-encode a string for every client it is sent to). The relay's shape is the bytes received
 * from Redis; the original's is built the first time a client of that protocol needs it.
 */
export class LiveFrame {
  private omoios: Buffer | undefined;

  constructor(
    readonly event: ReceivedEvent['event'],
    readonly data: Buffer,
  ) {}

  bytesFor(protocol: WsProtocol): Buffer {
    if (protocol === 'relay') return this.data;
    return (this.omoios ??= Buffer.from(serializeOmoiosEvent(this.event)));
  }
}

export function toLiveFrame(received: ReceivedEvent): LiveFrame {
  return new LiveFrame(received.event, Buffer.from(received.raw));
}

/** A stored event (a replay) in a protocol's shape; replays go to one client, so each is encoded once anyway. */
export function encodeStored(event: EventEnvelope, protocol: WsProtocol): string {
  return protocol === 'relay' ? JSON.stringify(event) : serializeOmoiosEvent(event);
}

/**
 * One WebSocket subscriber. It is either live (frames go straight out) or replaying stored events,
 * in which case live matches are held and released after the replay, minus what the replay sent.
 */
/** Why a client is closed as a slow consumer: the metric's reason and the close frame's words. */
export interface SlowClose {
  kind: 'send_buffer' | 'replay_buffer' | 'replay_unread';
  why: string;
}

const REPLAY_UNREAD: SlowClose = { kind: 'replay_unread', why: 'replay not read in time' };

/** A live burst's slice the client's socket did not take in time (see `EventGateway.roomForBurst`). */
export const BURST_UNREAD: SlowClose = { kind: 'send_buffer', why: 'send buffer not read in time' };

/** Clients whose connection is corked in this tick, uncorked together once the tick's work is done. */
const corked: GatewayClient[] = [];
let uncorkScheduled = false;

function uncorkAll(): void {
  uncorkScheduled = false;
  for (const client of corked.splice(0)) client.uncork();
}

export class GatewayClient {
  alive = true;
  private isCorked = false;
  private held: LiveFrame[] | null = null;
  private closed = false;
  /** After a replay: nothing at or below the replay's cursor is sent live. */
  private floor: string | undefined;
  /** After a replay: per entity, the last id it sent. Dropped per entity once live passes it. */
  private watermarks: Map<string, string> | undefined;

  constructor(
    readonly ws: WebSocket,
    /** Replaced only by the gateway, which takes the client out of its index while it does (a subscribe frame). */
    public filter: SubscriberFilter,
    private readonly limits: ClientLimits,
    /** The sandboxes this client's token may see; checked on every frame besides the (already narrowed) filter. */
    private readonly scope: '*' | ReadonlySet<string> = '*',
    readonly protocol: WsProtocol = 'relay',
    /**
     * The connection under `ws`. Frames sent in one tick (a burst of events read from Redis at once)
     * are written with one `writev` per connection instead of one each: the socket is corked at the
     * tick's first frame and uncorked when the tick's work is done (`ws` corks and uncorks around each
     * frame itself, which then only adds to the batch).
     */
    private readonly socket?: Duplex,
  ) {}

  /** Whether the client's token lets it see `event` (a scoped token sees only its sandboxes). */
  maySee(event: Pick<LiveFrame['event'], 'entity_type' | 'entity_id'>): boolean {
    return this.scope === '*' || (event.entity_type === ENTITY_TYPES.SANDBOX && this.scope.has(event.entity_id));
  }

  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN;
  }

  /** A live event matched this client's filter. */
  deliver(frame: LiveFrame): void {
    if (!this.maySee(frame.event)) return;
    if (this.held) {
      this.held.push(frame);
      if (this.held.length > this.limits.maxReplayBuffer)
        this.closeSlow('replay_buffer', 'too many live events during replay');
      return;
    }
    if (!this.alreadySent(frame.event)) this.send(frame.bytesFor(this.protocol));
  }

  /** Sends one frame; a client whose socket buffer overflows is closed (it resumes with `since`). */
  send(frame: Buffer | string): void {
    if (!this.isOpen) {
      frameCounts.dropped += 1;
      return;
    }
    if (this.socket && !this.isCorked) {
      this.socket.cork();
      this.isCorked = true;
      corked.push(this);
      if (!uncorkScheduled) {
        uncorkScheduled = true;
        process.nextTick(uncorkAll);
      }
    }
    this.ws.send(frame, TEXT);
    frameCounts.sent += 1;
    if (this.ws.bufferedAmount > this.limits.maxBufferedBytes) this.closeSlow('send_buffer', 'send buffer overflow');
  }

  /** Writes what was sent in this tick (see `socket`). */
  uncork(): void {
    if (!this.isCorked) return;
    this.isCorked = false;
    this.socket!.uncork();
  }

  /**
   * The liveness round: a protocol ping (browsers answer it by themselves), and on the relay's protocol
   * a `{"type":"ping"}` frame. The original protocol sends that frame only after its idle interval
   * (`pingFrame`, driven by the session), as the original's clients expect.
   */
  ping(): void {
    if (!this.isOpen) return;
    this.ws.ping();
    if (this.protocol === 'relay') this.send(PING_FRAME);
  }

  pingFrame(): void {
    this.send(PING_FRAME);
  }

  /** From now on live events are held until `endReplay`. */
  beginReplay(): void {
    this.held = [];
  }

  /**
   * Ends a replay and releases the held live events it did not already send. Ids of one entity are
   * committed in increasing order, so a live event is a duplicate exactly when it is not past the
   * client's cursor or the replay sent an id of its entity at least as large. That holds for live
   * events still in flight from Redis after the replay, too, so the check stays until live overtakes it.
   */
  endReplay(cursor: string, lastReplayedByEntity: Map<string, string>): void {
    const held = this.held ?? [];
    this.held = null;
    this.floor = cursor;
    this.watermarks = lastReplayedByEntity.size > 0 ? lastReplayedByEntity : undefined;
    for (const frame of held) this.deliver(frame);
  }

  /**
   * Whether a live `event` is at or below what this client already has: its resume cursor, or an id
   * of its entity the replay sent.
   */
  private alreadySent(event: LiveFrame['event']): boolean {
    if (this.floor !== undefined && compareIds(event.id, this.floor) <= 0) return true;
    if (!this.watermarks) return false;
    const key = entityKey(event.entity_type, event.entity_id);
    const watermark = this.watermarks.get(key);
    if (watermark === undefined) return false;
    if (compareIds(event.id, watermark) <= 0) return true;
    this.watermarks.delete(key);
    if (this.watermarks.size === 0) this.watermarks = undefined;
    return false;
  }

  /** Whether the socket's send buffer is at most half the limit (replay pacing). */
  hasRoom(): boolean {
    return this.ws.bufferedAmount <= this.limits.maxBufferedBytes / 2;
  }

  /**
   * Waits until the socket's send buffer falls below half the limit (the pacing of a replay, and of a
   * live burst); a client that has not read that far by `timeoutMs` is closed as a slow consumer, as
   * `overdue` says. True while the client is open.
   */
  async waitForRoom(timeoutMs = 30_000, overdue: SlowClose = REPLAY_UNREAD): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.isOpen && !this.hasRoom()) {
      if (Date.now() > deadline) {
        this.closeSlow(overdue.kind, overdue.why);
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.isOpen;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.held) frameCounts.dropped += this.held.length;
    this.held = null;
    this.ws.close(code, reason);
    // A peer that does not complete the closing handshake is cut off rather than kept in memory.
    setTimeout(() => this.ws.terminate(), 5_000).unref();
  }

  markClosed(): void {
    this.closed = true;
    this.held = null;
  }

  private closeSlow(kind: SlowClose['kind'], why: string): void {
    if (!this.closed) slowConsumerCloses.inc({ reason: kind });
    this.close(WS_CLOSE_CODES.SLOW_CONSUMER, `slow consumer: ${why}; reconnect with since`);
  }
}

export function entityKey(entityType: string, entityId: string): string {
  return `${entityType}\u0000${entityId}`;
}
