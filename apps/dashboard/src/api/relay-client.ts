import type {
  EventHistoryPage,
  MessageQueued,
  MessageType,
  SandboxList,
  SandboxSummary,
} from '@sandbox-relay/contracts';
import { auth } from './auth';

/** An answer of the relay that is not 2xx, with its JSON error's code and message. */
export class RelayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RelayError';
  }
}

/** Same-origin JSON call to the relay's edge, with the credential headers (see auth.ts). */
async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(path, {
    ...init,
    headers: { accept: 'application/json', ...auth.headers(), ...(init.headers as Record<string, string> | undefined) },
  });
  if (response.ok) return (await response.json()) as T;
  if (response.status === 401) auth.required();
  let code = 'http_error';
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    // Not JSON (a proxy's error page): keep the status line.
  }
  throw new RelayError(response.status, code, message);
}

const sandboxPath = (sandboxId: string) => `/api/v1/sandboxes/${encodeURIComponent(sandboxId)}`;

export function listSandboxes(limit = 200): Promise<SandboxList> {
  return call<SandboxList>(`/api/v1/sandboxes?limit=${limit}`);
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
  const query = new URLSearchParams({ limit: String(limit), order });
  if (after !== undefined) query.set('after', after);
  if (before !== undefined) query.set('before', before);
  return call<EventHistoryPage>(`${sandboxPath(sandboxId)}/events?${query}`);
}

/** An idempotency key: a retried send queues its message once. Works outside secure contexts too. */
function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `dash-${Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}

export function sendMessage(sandboxId: string, content: string, messageType: MessageType): Promise<MessageQueued> {
  return call<MessageQueued>(`${sandboxPath(sandboxId)}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': newKey() },
    body: JSON.stringify({ content, message_type: messageType }),
  });
}

export function getSandbox(sandboxId: string): Promise<SandboxSummary> {
  return call<SandboxSummary>(sandboxPath(sandboxId));
}
