import http from 'node:http';
import pg from 'pg';
import {
  CANARY_SANDBOX_ID,
  SUPERVISOR_EVENT_TYPES,
  type MessageQueued,
  type SandboxMessage,
  type TaskView,
} from '@sandbox-relay/contracts';
import { waitFor } from '@sandbox-relay/testing';
import { ResumingClient } from './resuming-client';

/**
 * A load against a relay's edge, as its real clients make it, with a record of everything the relay
 * acknowledged or handed out, and a verifier that compares those records with what PostgreSQL holds:
 * the fault suites run it while they break processes, Redis and Postgres.
 *
 * - events: single-event POSTs at a paced rate over many sandboxes, retried on 5xx, 429 and transport
 *   errors the way the worker retries (at least once: a POST whose answer was lost after the commit is
 *   stored again when retried; the API has no idempotency key for events, so such a copy is counted
 *   apart from a real duplicate);
 * - WebSocket clients with cross-entity filters (every sandbox, several, one), each reconnecting with
 *   `since` = the last id it saw, as the README tells clients to;
 * - messages queued with an `Idempotency-Key` (retried with the same key) and drained, with a `since`
 *   re-read after a drain that got no answer;
 * - tasks on the local provider, whose workers must stay healthy (never restarted).
 */

export interface Answer {
  status: number;
  body: unknown;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** JSON over HTTP through one keep-alive agent (a client's connection pool, as a worker fleet's would be). */
export class KeepAliveClient {
  private readonly agent: http.Agent;

  constructor(maxSockets = 64) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  request(
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
    timeoutMs = 10_000,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            ...(payload === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }),
            ...headers,
          },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text === '' ? undefined : JSON.parse(text);
            } catch {
              /* nginx's HTML error pages */
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Statuses a client retries (the worker's rule): the relay could not answer now. */
const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

interface EventRecord {
  sandbox: string;
  /** The id the 2xx answer named. */
  ackId?: string;
  attempts: number;
  /** Some attempt ended without a clear refusal (no answer, 5xx): it may have been committed. */
  uncertain: boolean;
}

/**
 * Single-event POSTs at `rate` events/s, round-robin over `sandboxes`, each event carrying the run id and
 * a unique `seq`. An event whose POST fails is retried (backoff 100 ms doubling to 2 s) until it is
 * acknowledged; at most `maxInFlight` events are outstanding, and a load that falls behind its rate
 * skips ahead rather than bursting.
 */
export class PacedEventLoad {
  readonly records = new Map<number, EventRecord>();
  private nextSeq = 0;
  private issued = 0;
  private startedAt = 0;
  private ticker?: NodeJS.Timeout;
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;
  /** Events not offered because the relay did not keep up (in flight at the cap). */
  skipped = 0;
  failedAttempts = 0;

  constructor(
    private readonly client: KeepAliveClient,
    private readonly target: string,
    readonly run: string,
    readonly sandboxes: readonly string[],
    private readonly rate: number,
    private readonly maxInFlight = 256,
    readonly eventType = 'load.tick',
  ) {}

  get acked(): number {
    let n = 0;
    for (const record of this.records.values()) if (record.ackId !== undefined) n += 1;
    return n;
  }

  /** The largest id any answer named: every event up to it was published by the relay that stored it. */
  get maxAckedId(): bigint {
    let max = 0n;
    for (const record of this.records.values())
      if (record.ackId !== undefined && BigInt(record.ackId) > max) max = BigInt(record.ackId);
    return max;
  }

  start(): void {
    this.stopping = false;
    this.startedAt = Date.now();
    this.issued = 0;
    this.ticker = setInterval(() => this.tick(), 10);
  }

  /** Stops offering new events and waits until every outstanding one is acknowledged (or `timeoutMs`). */
  async pause(timeoutMs = 60_000): Promise<void> {
    clearInterval(this.ticker);
    this.ticker = undefined;
    const settled = Promise.all([...this.inFlight]);
    // Past the deadline the retries give up: what is still unacknowledged stays so.
    const giveUp = setTimeout(() => (this.stopping = true), timeoutMs);
    await settled;
    clearTimeout(giveUp);
  }

  private tick(): void {
    const due = Math.floor(((Date.now() - this.startedAt) * this.rate) / 1000);
    // Never more than a second's worth at once: after a stall, move on instead of bursting.
    if (due - this.issued > this.rate) {
      this.skipped += due - this.issued - this.rate;
      this.issued = due - this.rate;
    }
    while (this.issued < due) {
      if (this.inFlight.size >= this.maxInFlight) {
        this.skipped += due - this.issued;
        this.issued = due;
        return;
      }
      this.issued += 1;
      const seq = this.nextSeq++;
      const sandbox = this.sandboxes[seq % this.sandboxes.length]!;
      this.records.set(seq, { sandbox, attempts: 0, uncertain: false });
      const sending = this.send(seq, sandbox).finally(() => this.inFlight.delete(sending));
      this.inFlight.add(sending);
    }
  }

  private async send(seq: number, sandbox: string): Promise<void> {
    const record = this.records.get(seq)!;
    const url = `${this.target}/api/v1/sandboxes/${sandbox}/events`;
    const body = { event_type: this.eventType, event_data: { run: this.run, seq }, source: 'cluster-load' };
    let backoff = 100;
    while (!this.stopping) {
      record.attempts += 1;
      try {
        const answer = await this.client.request('POST', url, body);
        if (answer.status === 200) {
          record.ackId = (answer.body as { id: string }).id;
          return;
        }
        if (!retryable(answer.status))
          throw new Error(`POST event answered ${answer.status}: ${JSON.stringify(answer.body)}`);
        record.uncertain = true;
      } catch (error) {
        if (error instanceof Error && error.message.startsWith('POST event answered')) throw error;
        record.uncertain = true;
      }
      this.failedAttempts += 1;
      await sleep(backoff * (0.5 + Math.random()));
      backoff = Math.min(backoff * 2, 2_000);
    }
  }
}

/** A WebSocket filter, as the query string and as the rows of `sandbox_events` it selects. */
export interface StreamFilter {
  name: string;
  entityTypes?: string[];
  entityIds?: string[];
  eventTypes?: string[];
}

const filterQuery = (filter: StreamFilter) =>
  [
    filter.entityTypes && `entity_types=${filter.entityTypes.join(',')}`,
    filter.entityIds && `entity_ids=${filter.entityIds.join(',')}`,
    filter.eventTypes && `event_types=${filter.eventTypes.join(',')}`,
  ]
    .filter(Boolean)
    .join('&');

/**
 * A WebSocket client on the relay's path that starts at `since` = `from` and, whenever its socket
 * closes, reconnects with `since` = the last id it received (or `from` again if none yet): a
 * `ResumingClient`, with its ids as bigints for the verifier and reconnects spread out a little.
 */
export class StreamClient {
  private readonly client: ResumingClient;

  constructor(
    baseUrl: string,
    readonly filter: StreamFilter,
    readonly from: bigint,
  ) {
    this.client = new ResumingClient(baseUrl.replace(/^http/, 'ws'), filterQuery(filter), {
      since: from.toString(),
      reconnectDelayMs: () => 100 + Math.random() * 200,
    });
  }

  get ids(): bigint[] {
    return this.client.ids.map((id) => BigInt(id));
  }

  get lastId(): bigint {
    return BigInt(this.client.lastId!);
  }

  get closeCodes(): readonly number[] {
    return this.client.closeCodes;
  }

  get connects(): number {
    return this.client.connects;
  }

  get open(): boolean {
    return this.client.open;
  }

  start(): void {
    this.client.start();
  }

  stop(): Promise<void> {
    return this.client.stop();
  }
}

interface MessageBox {
  sandbox: string;
  /** Message ids handed out by a drain that answered. */
  drained: string[];
  /** Ids read again with `since` after a drain that got no answer (may repeat drained ones). */
  reread: string[];
  /** A drain failed without an answer: the next one first re-reads with `since`. */
  resync: boolean;
}

/**
 * Messages: senders POST to `sandboxes` with an `Idempotency-Key` per message (a retry keeps its key,
 * so the message is queued once), and one drainer GETs each sandbox's messages in turn, re-reading with
 * `since` after a GET that got no answer.
 */
export class MessageLoad {
  readonly acked = new Map<number, string>();
  readonly boxes: MessageBox[];
  private nextSeq = 0;
  private sending = false;
  private draining = false;
  private stopping = false;
  private loops: Promise<void>[] = [];
  failedSends = 0;
  failedDrains = 0;

  constructor(
    private readonly client: KeepAliveClient,
    private readonly target: string,
    readonly run: string,
    sandboxes: readonly string[],
    private readonly perSecond: number,
  ) {
    this.boxes = sandboxes.map((sandbox) => ({ sandbox, drained: [], reread: [], resync: false }));
  }

  get handedOut(): number {
    return this.boxes.reduce((n, box) => n + box.drained.length, 0);
  }

  start(): void {
    this.sending = true;
    this.draining = true;
    this.loops = [this.sender(), this.drainer()];
  }

  /** Stops sending (every started send ends acknowledged), then drains until every sandbox is empty. */
  async pause(timeoutMs = 60_000): Promise<void> {
    this.sending = false;
    await this.loops[0];
    this.draining = false;
    await this.loops[1];
    await waitFor(
      async () =>
        (await Promise.all(this.boxes.map((box) => this.drainOnce(box).catch(() => -1)))).every((n) => n === 0),
      'every message sandbox to be drained empty',
      timeoutMs,
      100,
    );
  }

  /** Stops everything, acknowledged or not (the end of a run). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.sending = false;
    this.draining = false;
    await Promise.all(this.loops);
  }

  private url(sandbox: string): string {
    return `${this.target}/api/v1/sandboxes/${sandbox}/messages`;
  }

  private async sender(): Promise<void> {
    let last = Date.now();
    let credit = 0;
    while (this.sending) {
      const now = Date.now();
      credit = Math.min(credit + ((now - last) * this.perSecond) / 1000, this.perSecond);
      last = now;
      const batch: Promise<void>[] = [];
      while (credit >= 1) {
        credit -= 1;
        batch.push(this.send(this.nextSeq++));
      }
      await Promise.all(batch);
      await sleep(20);
    }
  }

  private async send(seq: number): Promise<void> {
    const box = this.boxes[seq % this.boxes.length]!;
    let backoff = 100;
    while (!this.stopping) {
      try {
        const answer = await this.client.request(
          'POST',
          this.url(box.sandbox),
          { content: `${this.run} message ${seq}`, message_type: 'user_message' },
          { 'idempotency-key': `${this.run}-${seq}` },
        );
        if (answer.status === 200) {
          this.acked.set(seq, (answer.body as MessageQueued).message_id);
          return;
        }
        if (!retryable(answer.status))
          throw new Error(`POST message answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      } catch (error) {
        if (error instanceof Error && error.message.startsWith('POST message answered')) throw error;
      }
      this.failedSends += 1;
      await sleep(backoff * (0.5 + Math.random()));
      backoff = Math.min(backoff * 2, 2_000);
    }
  }

  private async drainer(): Promise<void> {
    while (this.draining) {
      for (const box of this.boxes) {
        if (!this.draining) break;
        await this.drainOnce(box).catch(() => sleep(50));
      }
      await sleep(50);
    }
  }

  /** One GET (after a `since` re-read when the previous one got no answer); resolves with how many it handed out. */
  private async drainOnce(box: MessageBox): Promise<number> {
    try {
      if (box.resync) {
        const seen = [...box.drained, ...box.reread];
        const since =
          seen.length === 0
            ? '0'
            : seen
                .map(BigInt)
                .reduce((a, b) => (a > b ? a : b))
                .toString();
        const answer = await this.client.request('GET', `${this.url(box.sandbox)}?since=${since}&limit=1000`);
        if (answer.status !== 200) throw new Error(`re-read answered ${answer.status}`);
        const have = new Set(seen);
        box.reread.push(...(answer.body as SandboxMessage[]).map((m) => m.message_id).filter((id) => !have.has(id)));
        box.resync = false;
      }
      const answer = await this.client.request('GET', `${this.url(box.sandbox)}?limit=100`);
      if (answer.status !== 200) throw new Error(`drain answered ${answer.status}`);
      const ids = (answer.body as SandboxMessage[]).map((m) => m.message_id);
      box.drained.push(...ids);
      return ids.length;
    } catch (error) {
      // Whatever the failure (no answer, a 502 from the edge, a 503 whose statement may have committed
      // before its connection broke), the GET may have handed messages out: re-read before the next one.
      this.failedDrains += 1;
      box.resync = true;
      throw error;
    }
  }
}

/** Tasks on the supervisor's local provider, started through the edge: plans that say one thing and then wait. */
export class TaskLoad {
  readonly tasks: TaskView[] = [];

  constructor(
    private readonly client: KeepAliveClient,
    private readonly target: string,
    readonly run: string,
  ) {}

  async start(count: number, workerEnv: Record<string, string> = {}): Promise<void> {
    for (let i = 0; i < count; i += 1) {
      const answer = await this.client.request(
        'POST',
        `${this.target}/api/v1/tasks`,
        {
          title: `${this.run} task ${i}`,
          agent: 'shell',
          plan: [{ say: `cluster load task ${i}` }],
          worker_env: workerEnv,
        },
        {},
        60_000,
      );
      if (answer.status !== 201)
        throw new Error(`POST /api/v1/tasks answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      this.tasks.push(answer.body as TaskView);
    }
  }

  async read(): Promise<TaskView[]> {
    return Promise.all(
      this.tasks.map(async (task) => {
        const answer = await this.client.request('GET', `${this.target}/api/v1/tasks/${task.id}`);
        if (answer.status !== 200) throw new Error(`GET task answered ${answer.status}`);
        return answer.body as TaskView;
      }),
    );
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      this.tasks.map((task) =>
        this.client.request('POST', `${this.target}/api/v1/tasks/${task.id}/stop`, {}).catch(() => undefined),
      ),
    );
  }
}

/** What one check found; every count but `acked`, `stored`, `redelivered` and `readyMs` must be 0. */
export interface ClusterCounts {
  acked: number;
  stored: number;
  /** Acknowledged events missing from the store (or stored under another id than the answer named). */
  lost: number;
  /** Events stored more than once although every attempt at them was answered (a real duplicate). */
  dup: number;
  /** Copies of events whose earlier attempt got no answer and was retried (at least once, as documented). */
  redelivered: number;
  /** Stored events with a seq the load never sent. */
  phantom: number;
  /** Over every client: stored events of its filter it never received. */
  gaps: number;
  /** Frames received twice. */
  frameDups: number;
  /** Frames whose id was not larger than the one before. */
  reorders: number;
  /** Frames the client's filter does not select (or of events that do not exist). */
  strays: number;
  /** The first few gaps, strays and reorders, named (client, id, what the store holds under it). */
  streamIssues: string[];
  /** Since the previous check: event POST attempts that failed and were retried, and failed message sends
   *  and drains (the fault bit the load). */
  retried: number;
  messagesRetried: number;
  messagesAcked: number;
  messagesLost: number;
  messagesDup: number;
  /** Restarts of the load's tasks, and tasks no longer running. */
  restarts: number;
  notRunning: number;
}

/** The run's sandboxes and clients, and the database to compare them with. */
export class ClusterVerifier {
  private readonly previous = new Map<string, number>();

  constructor(
    private readonly databaseUrl: string,
    private readonly events: PacedEventLoad,
    private readonly clients: readonly StreamClient[],
    private readonly messages: MessageLoad,
    private readonly tasks: TaskLoad,
  ) {}

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<R[]> {
    const client = new pg.Client({ connectionString: this.databaseUrl });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  private delta(name: string, total: number): number {
    const before = this.previous.get(name) ?? 0;
    this.previous.set(name, total);
    return total - before;
  }

  /** The newest id in the store now: clients start there. */
  static async newestId(databaseUrl: string): Promise<bigint> {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ max: string | null }>('SELECT max(id)::text AS max FROM sandbox_events');
      return BigInt(rows[0]?.max ?? '0');
    } finally {
      await client.end();
    }
  }

  /** Compares the records with the store; call while the load is paused and drained. */
  async check(waitMs = 30_000): Promise<ClusterCounts> {
    const events = await this.checkEvents();
    const streams = await this.checkStreams(waitMs);
    const messages = await this.checkMessages();
    const tasks = await this.checkTasks();
    return { ...events, ...streams, ...messages, ...tasks };
  }

  private async checkEvents() {
    const rows = await this.query<{ id: string; seq: number }>(
      `SELECT id::text AS id, (data->>'seq')::int AS seq FROM sandbox_events
        WHERE entity_type = 'sandbox' AND entity_id = ANY($1) AND data->>'run' = $2`,
      [this.events.sandboxes, this.events.run],
    );
    const bySeq = new Map<number, string[]>();
    for (const row of rows) bySeq.set(row.seq, [...(bySeq.get(row.seq) ?? []), row.id]);
    let acked = 0;
    let lost = 0;
    let dup = 0;
    let redelivered = 0;
    for (const [seq, record] of this.events.records) {
      const ids = bySeq.get(seq) ?? [];
      if (record.ackId !== undefined) {
        acked += 1;
        if (!ids.includes(record.ackId)) lost += 1;
      }
      if (ids.length > 1) {
        if (record.uncertain) redelivered += ids.length - 1;
        else dup += ids.length - 1;
      }
    }
    const phantom = [...bySeq.keys()].filter((seq) => !this.events.records.has(seq)).length;
    return {
      acked,
      stored: rows.length,
      lost,
      dup,
      redelivered,
      phantom,
      retried: this.delta('events', this.events.failedAttempts),
    };
  }

  private async checkStreams(waitMs: number) {
    // Every event up to the newest acknowledged one was published by the replica that stored it, and with
    // ids in commit order every smaller id is visible: each client must have received its filter's share.
    const upTo = this.events.maxAckedId;
    let gaps = 0;
    let frameDups = 0;
    let reorders = 0;
    let strays = 0;
    const issues: bigint[] = [];
    const streamIssues: string[] = [];
    // One connection for every client's query (the store's rows for its filter), then one deadline for all.
    const db = new pg.Client({ connectionString: this.databaseUrl });
    await db.connect();
    const expectations: bigint[][] = [];
    try {
      for (const client of this.clients) {
        const { filter } = client;
        const { rows } = await db.query<{ id: string }>(
          `SELECT id::text AS id FROM sandbox_events
            WHERE id > $1 AND id <= $2
              AND ($3::text[] IS NULL OR entity_type = ANY($3))
              AND ($4::text[] IS NULL OR entity_id = ANY($4))
              AND ($5::text[] IS NULL OR event_type = ANY($5))
              -- The gateways' canary reaches only clients that name its sandbox (README, the canary).
              AND (entity_id <> $6 OR entity_type <> 'sandbox' OR $6 = ANY(coalesce($4, '{}'::text[])))
            ORDER BY id`,
          [
            client.from.toString(),
            upTo.toString(),
            filter.entityTypes ?? null,
            filter.entityIds ?? null,
            filter.eventTypes ?? null,
            CANARY_SANDBOX_ID,
          ],
        );
        expectations.push(rows.map((row) => BigInt(row.id)));
      }
    } finally {
      await db.end();
    }
    // (A wait that runs out is reported by the counts below, which name what is missing.)
    await waitFor(
      () =>
        this.clients.every((client, i) => {
          const last = expectations[i]![expectations[i]!.length - 1];
          return last === undefined || client.lastId >= last;
        }),
      "every client to receive its filter's newest stored event",
      waitMs,
      50,
    ).catch(() => undefined);
    for (const [i, client] of this.clients.entries()) {
      const { filter } = client;
      const expected = expectations[i]!;
      const received = client.ids.filter((id) => id <= upTo);
      const got = new Set(received);
      const want = new Set(expected);
      const missing = expected.filter((id) => !got.has(id));
      const reordered = received.filter((id, i) => i > 0 && id <= received[i - 1]!);
      const stray = [...got].filter((id) => !want.has(id));
      gaps += missing.length;
      frameDups += received.length - got.size;
      reorders += reordered.length;
      strays += stray.length;
      for (const [kind, ids] of [
        ['gap', missing],
        ['reordered', reordered],
        ['stray', stray],
      ] as const)
        for (const id of ids.slice(0, 3)) {
          if (streamIssues.length >= 12) break;
          issues.push(id);
          streamIssues.push(
            `${filter.name} (${client.connects} connects, closes ${client.closeCodes.join(',')}): ${kind} ${id}`,
          );
        }
    }
    if (issues.length > 0) {
      const rows = await this.query<{
        id: string;
        entity_type: string;
        entity_id: string;
        event_type: string;
        created_at: Date;
      }>(
        `SELECT id::text AS id, entity_type, entity_id, event_type, created_at FROM sandbox_events WHERE id = ANY($1)`,
        [issues.map(String)],
      );
      const byId = new Map(rows.map((row) => [row.id, row]));
      for (let i = 0; i < streamIssues.length; i += 1) {
        const row = byId.get(String(issues[i]));
        streamIssues[i] += row
          ? ` = ${row.entity_type}/${row.entity_id} ${row.event_type} at ${row.created_at.toISOString()}`
          : ' (not in the store)';
      }
    }
    return { gaps, frameDups, reorders, strays, streamIssues };
  }

  private async checkMessages() {
    const received = new Set<string>();
    let messagesDup = 0;
    for (const box of this.messages.boxes) {
      messagesDup += box.drained.length - new Set(box.drained).size;
      for (const id of [...box.drained, ...box.reread]) received.add(id);
    }
    const acked = [...this.messages.acked.values()];
    const rows = await this.query<{ total: string; undelivered: string }>(
      `SELECT count(*)::text AS total, count(*) FILTER (WHERE delivered_at IS NULL)::text AS undelivered
         FROM sandbox_messages WHERE sandbox_id = ANY($1)`,
      [this.messages.boxes.map((box) => box.sandbox)],
    );
    const lostInStore = Number(rows[0]!.total) - new Set(acked).size;
    return {
      messagesRetried: this.delta('messages', this.messages.failedSends + this.messages.failedDrains),
      messagesAcked: acked.length,
      messagesLost: acked.filter((id) => !received.has(id)).length + Number(rows[0]!.undelivered),
      // A row no acknowledged send accounts for is a message queued twice.
      messagesDup: messagesDup + Math.max(0, lostInStore),
    };
  }

  private async checkTasks() {
    const views = await this.tasks.read();
    const sandboxes = views.flatMap((view) => view.sessions.map((session) => session.sandbox_id));
    const restartEvents = await this.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM sandbox_events WHERE entity_id = ANY($1) AND event_type = ANY($2)`,
      [sandboxes, [SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED, SUPERVISOR_EVENT_TYPES.TASK_QUARANTINED]],
    );
    return {
      restarts: views.reduce((n, view) => n + view.restarts.length, 0) + Number(restartEvents[0]!.n),
      notRunning: views.filter((view) => view.status !== 'running' || view.sessions.length !== 1).length,
    };
  }
}

/** One line per fault, for the suite's output. */
export function formatCounts(fault: string, counts: ClusterCounts, readyMs: number, rate = ''): string {
  return (
    `[cluster-fault] ${fault}${rate}: acked ${counts.acked}, stored ${counts.stored} (lost ${counts.lost}, dup ${counts.dup}, ` +
    `redelivered ${counts.redelivered}, phantom ${counts.phantom}, retried ${counts.retried}); streams gaps ${counts.gaps}, dup ${counts.frameDups}, ` +
    `reorders ${counts.reorders}, strays ${counts.strays}; messages ${counts.messagesAcked} (lost ${counts.messagesLost}, ` +
    `dup ${counts.messagesDup}, retried ${counts.messagesRetried}); restarts ${counts.restarts}, not running ${counts.notRunning}; ready ${readyMs} ms\n` +
    counts.streamIssues.map((issue) => `  ${issue}\n`).join('')
  );
}
