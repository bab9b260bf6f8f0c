import { HttpTransport, type CallOptions, type TokenSource, type TransportOptions } from './http-transport';
import { EventStream, type EventStreamOptions } from './event-stream';
import type {
  CreateTaskInput,
  DrainedMessage,
  EventBatchAccepted,
  EventEnvelope,
  EventInput,
  EventHistoryPage,
  MessageQueued,
  MessageType,
  SandboxList,
  SandboxSummary,
  SandboxTokenRenewal,
  TaskView,
} from './wire';

export interface RelayClientOptions extends TransportOptions {
  /** Prefix of the `Idempotency-Key`s `sendMessage` makes up when the caller gives none. */
  idempotencyKeyPrefix?: string;
}

/** Per-call options: a deadline, an abort signal. */
export type RequestOptions = Pick<CallOptions, 'timeoutMs' | 'signal'>;

export interface HistoryQuery {
  /** `desc`: newest first; the page's `next_before` names the next, older page. Default `asc`. */
  order?: 'asc' | 'desc';
  /** Ids greater than this (ascending paging's cursor). */
  after?: string;
  /** Ids less than this (descending paging's cursor). */
  before?: string;
  /** 1..1000, the relay's default 100. */
  limit?: number;
  /** Only these event types. */
  eventTypes?: readonly string[];
}

export interface SendMessageOptions extends RequestOptions {
  /** Default `user_message`. */
  messageType?: MessageType;
  /** The same key sent again queues the message once (`duplicate: true`); default a fresh random key. */
  idempotencyKey?: string;
}

export interface DrainOptions extends RequestOptions {
  /** Re-read messages already handed out past this `message_id` (after a drain whose answer was lost); changes nothing. */
  since?: string;
  limit?: number;
}

/** A fresh idempotency key; `crypto.getRandomValues` works outside secure contexts too (unlike `randomUUID`). */
function newKey(prefix: string): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return `${prefix}${Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}

const sandboxPath = (sandboxId: string) => `/api/v1/sandboxes/${encodeURIComponent(sandboxId)}`;
const taskPath = (taskId: string) => `/api/v1/tasks/${encodeURIComponent(taskId)}`;

/**
 * The relay's edge, typed: events in, history, messages, tasks, sandboxes and the live stream. Every
 * call throws a `RelayError` (status, the relay's error code) unless it succeeded; none retries.
 */
export class RelayClient {
  readonly http: HttpTransport;

  constructor(private readonly options: RelayClientOptions = {}) {
    this.http = new HttpTransport(options);
  }

  /** The token every later call (and every later stream connect) carries. */
  setToken(token: TokenSource): void {
    this.http.setToken(token);
    this.options.token = token;
  }

  /** `POST /sandboxes/:id/events`: one event, answered with its stored envelope (`id` is the resume cursor). */
  postEvent(sandboxId: string, event: EventInput, options?: RequestOptions): Promise<EventEnvelope> {
    return this.http.call(`${sandboxPath(sandboxId)}/events`, { ...options, method: 'POST', body: event });
  }

  /** `POST /sandboxes/:id/events/batch`: 1..1000 events, stored in array order. */
  postEvents(sandboxId: string, events: readonly EventInput[], options?: RequestOptions): Promise<EventBatchAccepted> {
    return this.http.call(`${sandboxPath(sandboxId)}/events/batch`, { ...options, method: 'POST', body: events });
  }

  /** `GET /sandboxes/:id/events`: one page of a sandbox's stored events. */
  history(sandboxId: string, query: HistoryQuery = {}, options?: RequestOptions): Promise<EventHistoryPage> {
    const { order, after, before, limit, eventTypes } = query;
    const event_type = eventTypes?.length ? eventTypes.join(',') : undefined;
    return this.http.call(`${sandboxPath(sandboxId)}/events`, {
      ...options,
      query: { order, after, before, limit, event_type },
    });
  }

  /**
   * Every page from the query's cursor on, following `next_after` (ascending) or `next_before`
   * (descending) until the relay says there is no more.
   */
  async *historyPages(
    sandboxId: string,
    query: HistoryQuery = {},
    options?: RequestOptions,
  ): AsyncGenerator<EventHistoryPage> {
    let cursor = { after: query.after, before: query.before };
    for (;;) {
      const page = await this.history(sandboxId, { ...query, ...cursor }, options);
      yield page;
      const next = query.order === 'desc' ? page.next_before : page.next_after;
      if (!next) return;
      cursor = query.order === 'desc' ? { after: query.after, before: next } : { after: next, before: query.before };
    }
  }

  /** `POST /sandboxes/:id/messages` with an `Idempotency-Key`. */
  sendMessage(sandboxId: string, content: string, options: SendMessageOptions = {}): Promise<MessageQueued> {
    const { messageType, idempotencyKey, ...request } = options;
    return this.http.call(`${sandboxPath(sandboxId)}/messages`, {
      ...request,
      method: 'POST',
      headers: { 'idempotency-key': idempotencyKey ?? newKey(this.options.idempotencyKeyPrefix ?? 'client-') },
      body: messageType === undefined ? { content } : { content, message_type: messageType },
    });
  }

  /**
   * `GET /sandboxes/:id/messages`: drains the undelivered messages (interrupts first), or with `since`
   * re-reads what was handed out past that id. The items are not validated here (the page stays
   * zod-free): a worker that must not trust them checks them against the contracts.
   */
  drainMessages(sandboxId: string, options: DrainOptions = {}): Promise<DrainedMessage[]> {
    const { since, limit, ...request } = options;
    return this.http.call(`${sandboxPath(sandboxId)}/messages`, { ...request, query: { since, limit } });
  }

  /** `POST /sandboxes/:id/token`: a sandbox token traded for a fresh one. */
  renewToken(sandboxId: string, options?: RequestOptions): Promise<SandboxTokenRenewal> {
    return this.http.call(`${sandboxPath(sandboxId)}/token`, { ...options, method: 'POST' });
  }

  /** `GET /sandboxes`: the most recently active sandboxes. */
  listSandboxes(limit?: number, options?: RequestOptions): Promise<SandboxList> {
    return this.http.call('/api/v1/sandboxes', { ...options, query: { limit } });
  }

  /** `GET /sandboxes/:id`: one sandbox's summary. */
  getSandbox(sandboxId: string, options?: RequestOptions): Promise<SandboxSummary> {
    return this.http.call(sandboxPath(sandboxId), options);
  }

  /** `POST /tasks`: starts a task; answers once its sandbox is spawned. */
  createTask(task: CreateTaskInput, options?: RequestOptions): Promise<TaskView> {
    return this.http.call('/api/v1/tasks', { ...options, method: 'POST', body: task });
  }

  /** `GET /tasks/:id`. */
  getTask(taskId: string, options?: RequestOptions): Promise<TaskView> {
    return this.http.call(taskPath(taskId), options);
  }

  /** `POST /tasks/:id/stop`: its sandbox terminated, the task `stopped`. */
  stopTask(taskId: string, reason?: string, options?: RequestOptions): Promise<TaskView> {
    return this.http.call(`${taskPath(taskId)}/stop`, {
      ...options,
      method: 'POST',
      body: reason === undefined ? {} : { reason },
    });
  }

  /**
   * The live event feed (`/api/v1/events/ws/events`): the token as its first frame, and every
   * reconnect resumes after the last id delivered, so nothing is missed and nothing shows twice.
   */
  stream(
    options: Omit<EventStreamOptions, 'baseUrl' | 'token'> & Partial<Pick<EventStreamOptions, 'token'>>,
  ): EventStream {
    return new EventStream({
      baseUrl: this.options.baseUrl ?? '',
      token: () => readCurrent(this.options.token),
      ...options,
    });
  }
}

function readCurrent(source: TokenSource): string | null | undefined {
  return typeof source === 'function' ? source() : source;
}
