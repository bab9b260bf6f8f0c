import { z } from 'zod';
import { SandboxId } from './ids';

/**
 * Relay tokens (JWTs signed by the relay). Renaming a claim or a kind invalidates every token in
 * circulation: treat these names as wire protocol.
 *
 * - `sandbox`: issued at spawn, scoped to exactly one sandbox (`sandbox_id`): writes its events,
 *   drains its messages.
 * - `viewer`: watches the sandboxes in `sandboxes` (or every one, `"*"`): history and the WebSocket.
 * - `operator`: what a viewer may, plus sending messages and interrupts, branch operations and
 *   starting/stopping tasks, on the sandboxes in `sandboxes` (or every one).
 */
export const TOKEN_KINDS = ['sandbox', 'viewer', 'operator'] as const;
export const TokenKind = z.enum(TOKEN_KINDS);
export type TokenKind = z.infer<typeof TokenKind>;

/** Issuer and audience every relay token carries; a token for another system is refused. */
export const TOKEN_ISSUER = 'sandbox-relay';
export const TOKEN_AUDIENCE = 'sandbox-relay';

/** Every sandbox, or the listed ones (at most 200: a token travels in a header and a WebSocket frame). */
export const SANDBOX_SCOPE_MAX = 200;
export const SandboxScope = z.union([z.literal('*'), z.array(SandboxId).min(1).max(SANDBOX_SCOPE_MAX)]);
export type SandboxScope = z.infer<typeof SandboxScope>;

/** The relay's own claims (besides the registered `iss`, `aud`, `sub`, `iat`, `exp`, `jti`). */
export const TokenClaims = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sandbox'), sandbox_id: SandboxId }),
  z.object({ kind: z.literal('viewer'), sandboxes: SandboxScope }),
  z.object({ kind: z.literal('operator'), sandboxes: SandboxScope }),
]);
export type TokenClaims = z.infer<typeof TokenClaims>;

/**
 * Client → server, the first frame of every WebSocket when auth is on: the token travels in a frame,
 * never in the URL (URLs end up in proxy and access logs). Sent within the gateway's auth timeout,
 * else the socket is closed with `WS_CLOSE_CODES.UNAUTHENTICATED`.
 */
export const WsAuthFrame = z.object({ type: z.literal('auth'), token: z.string().min(1).max(16_384) });
export type WsAuthFrame = z.infer<typeof WsAuthFrame>;

/**
 * Server → client answer to an accepted auth frame (also sent, with `kind: "anonymous"`, when the
 * relay runs with auth off, so one client works against both). `sandboxes` is what this socket will
 * actually receive: the requested `entity_ids` narrowed to the token's scope. `expires_at` (ISO-8601)
 * is when the socket is closed with 4401 unless the client reconnects with a fresh token.
 */
export const WsAuthAckFrame = z.object({
  type: z.literal('auth_ok'),
  kind: z.union([TokenKind, z.literal('anonymous')]),
  subject: z.string().nullable(),
  sandboxes: SandboxScope,
  expires_at: z.string().nullable(),
});
export type WsAuthAckFrame = z.infer<typeof WsAuthAckFrame>;

/**
 * Server → worker, the answer to `POST /api/v1/sandboxes/:sandboxId/token` (the supervisor's edge,
 * called with the sandbox's own token before it expires): a fresh token for the same sandbox, so a
 * worker whose task outlives one token's lifetime keeps reporting. Refused (409) once the sandbox is
 * no longer live (replaced, stopped, completed).
 */
export const SandboxTokenRenewal = z.object({
  sandbox_id: SandboxId,
  token: z.string().min(1),
  /** ISO-8601. */
  expires_at: z.string(),
});
export type SandboxTokenRenewal = z.infer<typeof SandboxTokenRenewal>;
