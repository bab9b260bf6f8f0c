import { RelayClient, RelayError } from '@sandbox-relay/client';
import type {
  EventHistoryPage,
  MessageQueued,
  MessageType,
  SandboxList,
  SandboxSummary,
} from '@sandbox-relay/contracts';
import { auth } from './auth';

/** An answer of the relay that is not 2xx, with its JSON error's code and message. */
export { RelayError };

/**
 * Same-origin calls to the relay's edge through `@sandbox-relay/client`, with the credential of
 * auth.ts read at every call; a 401 asks the page for a token.
 */
const relay = new RelayClient({
  baseUrl: '',
  token: () => auth.token(),
  onUnauthorized: () => auth.required(),
  idempotencyKeyPrefix: 'dash-',
});

/**
 * The page tells "the relay refused" (a `RelayError` with its status) from "the relay is unreachable"
 * (anything else): a call that got no answer, or an answer that is not JSON, throws the platform's error.
 */
async function call<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    if (error instanceof RelayError && (error.status === 0 || error.status < 300)) throw error.cause ?? error;
    throw error;
  }
}

export function listSandboxes(limit = 200): Promise<SandboxList> {
  return call(() => relay.listSandboxes(limit));
}

export interface HistoryQuery {
  /** `desc`: newest first (`next_before` names the next, older page). */
  order?: 'asc' | 'desc';
  after?: string;
  before?: string;
  limit?: number;
}

/** One page of a sandbox's stored events (the ingest edge's history). */
export function historyPage(
  sandboxId: string,
  { order = 'asc', after, before, limit = 500 }: HistoryQuery = {},
): Promise<EventHistoryPage> {
  return call(() => relay.history(sandboxId, { limit, order, after, before }));
}

/** Sent with a fresh idempotency key: a retried send queues its message once. */
export function sendMessage(sandboxId: string, content: string, messageType: MessageType): Promise<MessageQueued> {
  return call(() => relay.sendMessage(sandboxId, content, { messageType }));
}

export function getSandbox(sandboxId: string): Promise<SandboxSummary> {
  return call(() => relay.getSandbox(sandboxId));
}
