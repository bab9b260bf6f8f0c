import { EventBatchBody, EventBody, type MessageType, type SandboxMessage } from '@sandbox-relay/contracts';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  /** Events in the body of a POST (1 for the single endpoint). */
  events: number;
  status: number;
  authorization: string | undefined;
}

/**
 * A real HTTP server speaking the relay's worker-facing edge (events, batch, messages) with the
 * contract schemas, for integration tests of the worker. It can answer 503 for a while, go away
 * entirely (connection refused) and come back on the same port, or refuse chosen events with 422.
 */
export class FakeRelayServer {
  readonly events: EventBody[] = [];
  readonly requests: RecordedRequest[] = [];
  /** Answer 503 to everything while true (a relay whose database is down). */
  unavailable = false;
  /** The token the relay accepts; any other `Authorization` answers 401, as an edge with auth on does. */
  acceptedToken: string | undefined = undefined;
  /** Events for which this returns true are refused with 422, like a body the contract refuses. */
  refuse: (event: EventBody) => boolean = () => false;
  /** The next drain hands messages out, then the connection dies before the answer (a lost answer). */
  loseNextDrainAnswer = false;
  /** While true, message GETs get no answer at all (a relay stuck on its queue); see `held`. */
  holdDrains = false;
  /** Message GETs still waiting for an answer because of `holdDrains`. */
  held = 0;
  private readonly queued: SandboxMessage[] = [];
  private readonly delivered: SandboxMessage[] = [];
  private nextMessageId = 1;
  private server: http.Server | null = null;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  constructor(readonly sandboxId: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Closes the port (clients get ECONNREFUSED); `start()` reopens the same port. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Queues a message as `POST /messages` would. */
  queueMessage(messageType: MessageType, content: string): SandboxMessage {
    const message: SandboxMessage = {
      message_id: String(this.nextMessageId++),
      sandbox_id: this.sandboxId,
      content,
      message_type: messageType,
      created_at: new Date().toISOString(),
      delivered_at: null,
    };
    this.queued.push(message);
    return message;
  }

  eventsOfType(type: string): EventBody[] {
    return this.events.filter((event) => event.event_type === type);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', this.url);
    const base = `/api/v1/sandboxes/${this.sandboxId}`;
    const authorization = req.headers.authorization;
    const record = (status: number, events = 0) =>
      this.requests.push({ method: req.method ?? '', path: url.pathname, events, status, authorization });
    const answer = (status: number, body: unknown, events = 0) => {
      record(status, events);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (this.unavailable) return answer(503, { error: { code: 'unavailable', message: 'store unreachable' } });
    if (this.acceptedToken !== undefined && authorization !== `Bearer ${this.acceptedToken}`) {
      return answer(401, { error: { code: 'unauthenticated', message: 'token expired' } });
    }
    if (req.method === 'GET' && url.pathname === `${base}/messages` && this.holdDrains) {
      // Never answered; stop() destroys the socket.
      this.held += 1;
      res.on('close', () => (this.held -= 1));
      return;
    }
    if (req.method === 'GET' && url.pathname === `${base}/messages`) {
      const messages = this.drain(url.searchParams.get('since'));
      if (!this.loseNextDrainAnswer || url.searchParams.has('since')) return answer(200, messages);
      this.loseNextDrainAnswer = false;
      record(0);
      req.socket.destroy();
      return;
    }
    if (req.method !== 'POST' || (url.pathname !== `${base}/events` && url.pathname !== `${base}/events/batch`)) {
      return answer(404, { error: { code: 'not_found', message: 'no route' } });
    }
    const single = url.pathname.endsWith('/events');
    const parsed = (single ? EventBody : EventBatchBody).safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    if (!parsed.success) return answer(422, { error: { code: 'validation_failed', message: parsed.error.message } });
    const batch: EventBody[] = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
    if (batch.some((event) => this.refuse(event)))
      return answer(422, { error: { code: 'validation_failed', message: 'refused' } }, batch.length);
    this.events.push(...batch);
    return answer(
      200,
      single ? { id: String(this.events.length) } : { count: batch.length, ids: batch.map(() => '0') },
      batch.length,
    );
  }

  /** Interrupts first, then the rest oldest first; `since` re-reads delivered messages, like the relay. */
  private drain(since: string | null): SandboxMessage[] {
    if (since !== null) return this.delivered.filter((message) => BigInt(message.message_id) > BigInt(since));
    const out = [
      ...this.queued.filter((m) => m.message_type === 'interrupt'),
      ...this.queued.filter((m) => m.message_type !== 'interrupt'),
    ];
    this.queued.length = 0;
    const deliveredAt = new Date().toISOString();
    const marked = out.map((message) => ({ ...message, delivered_at: deliveredAt }));
    this.delivered.push(...marked);
    return marked;
  }
}
