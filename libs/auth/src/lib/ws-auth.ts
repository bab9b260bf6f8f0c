import { WS_CLOSE_CODES, WsAuthFrame, type WsAuthAckFrame } from '@sandbox-relay/contracts';
import type WebSocket from 'ws';
import type { EdgeAuth } from './edge-auth';
import { scopeToWire, type Principal } from './permissions';

export interface FirstFrameAuthOptions {
  auth: EdgeAuth;
  /** How long a new socket may stay silent before it is closed with 4401. */
  timeoutMs: number;
}

/** Close reasons are limited to 123 bytes by RFC 6455. */
const reasonOf = (text: string) => Buffer.from(text).subarray(0, 123).toString();

/**
 * The WebSocket half of auth: the first frame must be `{"type":"auth","token":"…"}` and arrive within
 * `timeoutMs`. Resolves the principal, or null after closing the socket with 4401 (no frame in time,
 * another frame first, a bad/expired/tampered token) or when the client left. Tokens never travel in
 * the URL, where proxies and access logs would keep them.
 */
export function awaitFirstFrameAuth(
  ws: WebSocket,
  { auth, timeoutMs }: FirstFrameAuthOptions,
): Promise<Principal | null> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (principal: Principal | null, refusal?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.off('close', onClose);
      if (refusal !== undefined) ws.close(WS_CLOSE_CODES.UNAUTHENTICATED, reasonOf(refusal));
      resolve(principal);
    };
    const onClose = () => settle(null);
    const timer = setTimeout(() => settle(null, `no auth frame within ${timeoutMs} ms`), timeoutMs);
    ws.once('close', onClose);
    ws.once('message', (data, isBinary) => {
      const frame = isBinary ? undefined : WsAuthFrame.safeParse(parseJson(String(data)));
      if (!frame?.success) return settle(null, 'the first frame must be {"type":"auth","token":"..."}');
      auth.authenticate(frame.data.token).then(
        (principal) => settle(principal),
        (error: unknown) => settle(null, (error as Error).message),
      );
    });
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The frame that tells a client its auth frame was accepted and what it will receive. */
export function authAckFrame(principal: Principal, sandboxes: '*' | string[]): WsAuthAckFrame {
  return {
    type: 'auth_ok',
    kind: principal.kind,
    subject: principal.subject,
    sandboxes: sandboxes === '*' ? '*' : scopeToWire(new Set(sandboxes)),
    expires_at: principal.expiresAt?.toISOString() ?? null,
  };
}

/** Longest delay setTimeout keeps (about 24.8 days); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `onExpired` when the principal's token expires (never for anonymous); returns a cancel function. */
export function onTokenExpiry(principal: Principal, onExpired: () => void): () => void {
  if (!principal.expiresAt) return () => undefined;
  const expiresAt = principal.expiresAt.getTime();
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = expiresAt - Date.now();
    if (left <= 0) return onExpired();
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}
