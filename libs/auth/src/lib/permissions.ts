import { ENTITY_TYPES, type SandboxScope, type TokenKind } from '@sandbox-relay/contracts';

/** What a request does; each edge route requires exactly one. */
export const ACTIONS = {
  /** POST events (single and batch): the sandbox reporting what its agent does. */
  EVENTS_WRITE: 'events:write',
  /** GET history and the WebSocket stream. */
  EVENTS_READ: 'events:read',
  /** GET messages (drain and re-read). */
  MESSAGES_DRAIN: 'messages:drain',
  /** POST messages: user messages and interrupts. */
  MESSAGES_SEND: 'messages:send',
  /** Read a task by id (the supervisor's HTTP edge). */
  TASKS_READ: 'tasks:read',
  /** Start and stop tasks (the supervisor's HTTP edge). */
  TASKS_MANAGE: 'tasks:manage',
  /** Branch, pull-request and merge operations (the branch workflow's HTTP edge). */
  BRANCHES_MANAGE: 'branches:manage',
  /** A sandbox trading its token, before it expires, for a fresh one (the supervisor's edge). */
  TOKEN_RENEW: 'token:renew',
  /**
   * A sandbox's own task: read it (`GET /api/v1/sandboxes/:id/task`) and report it done or failed
   * (`POST …/task-complete`), the original system's callbacks (the supervisor's edge).
   */
  TASK_REPORT: 'task:report',
} as const;
export type Action = (typeof ACTIONS)[keyof typeof ACTIONS];

/**
 * Who may do what. Least privilege: a sandbox writes its own events, drains its own messages,
 * renews its own token and reads and reports its own task, nothing else; a viewer only watches; an operator watches and steers, but never writes a sandbox's
 * events (only the sandbox reports what happened in it).
 */
export const GRANTS: Readonly<Record<TokenKind, ReadonlySet<Action>>> = {
  sandbox: new Set([ACTIONS.EVENTS_WRITE, ACTIONS.MESSAGES_DRAIN, ACTIONS.TOKEN_RENEW, ACTIONS.TASK_REPORT]),
  viewer: new Set([ACTIONS.EVENTS_READ, ACTIONS.TASKS_READ]),
  operator: new Set([
    ACTIONS.EVENTS_READ,
    ACTIONS.TASKS_READ,
    ACTIONS.MESSAGES_DRAIN,
    ACTIONS.MESSAGES_SEND,
    ACTIONS.TASKS_MANAGE,
    ACTIONS.BRANCHES_MANAGE,
    ACTIONS.TASK_REPORT,
  ]),
};

/** An authenticated caller. `anonymous` exists only when auth is off (local playground). */
export interface Principal {
  kind: TokenKind | 'anonymous';
  /** The token's `sub` (a person, a service, or the sandbox id); null when anonymous. */
  subject: string | null;
  /** The sandboxes it may act on: every one, or these. */
  sandboxes: '*' | ReadonlySet<string>;
  /** When the token stops being valid; null when anonymous. */
  expiresAt: Date | null;
  /** The token's `jti`, for audit logs. */
  tokenId: string | null;
}

export const ANONYMOUS: Principal = Object.freeze({
  kind: 'anonymous',
  subject: null,
  sandboxes: '*',
  expiresAt: null,
  tokenId: null,
});

/** Whether `principal` may see sandbox `sandboxId` at all. */
export function inScope(principal: Principal, sandboxId: string): boolean {
  return principal.sandboxes === '*' || principal.sandboxes.has(sandboxId);
}

export type Decision = { allowed: true } | { allowed: false; reason: string };

/**
 * Actions about no one sandbox (a new task, any task by id, a ticket): a scoped operator could reach
 * past its sandboxes through them (stop another team's task), so they need a token for every sandbox.
 */
const UNSCOPED_ONLY: ReadonlySet<Action> = new Set([ACTIONS.TASKS_READ, ACTIONS.TASKS_MANAGE, ACTIONS.BRANCHES_MANAGE]);

/**
 * May `principal` do `action` (on `sandboxId`, for per-sandbox actions)? A refusal says why in words
 * fit for the 403 answer.
 */
export function authorize(principal: Principal, action: Action, sandboxId?: string): Decision {
  if (principal.kind === 'anonymous') return { allowed: true };
  if (!GRANTS[principal.kind].has(action))
    return { allowed: false, reason: `a ${principal.kind} token may not ${action}` };
  if (sandboxId !== undefined && !inScope(principal, sandboxId)) {
    return { allowed: false, reason: `this ${principal.kind} token is not scoped to sandbox ${sandboxId}` };
  }
  if (UNSCOPED_ONLY.has(action) && principal.sandboxes !== '*') {
    return { allowed: false, reason: `${action} needs a token for every sandbox ("*")` };
  }
  return { allowed: true };
}

export function scopeToWire(scope: Principal['sandboxes']): SandboxScope {
  return scope === '*' ? '*' : ([...scope] as [string, ...string[]]);
}

/** A WebSocket subscription's entity filters after narrowing to what the principal may see. */
export type NarrowedFilter =
  | { allowed: true; entityTypes: string[]; entityIds: string[]; sandboxes: '*' | string[] }
  | { allowed: false; reason: string };

/**
 * Narrows a subscription's requested entity filters to the principal's scope, whatever it asks for:
 * a scoped viewer sees only `sandbox` entities among its sandboxes. No filter (everything) becomes
 * exactly its sandboxes; ids outside the scope are dropped; a request left with nothing is refused.
 */
export function narrowSubscription(
  principal: Principal,
  requested: { entityTypes: string[]; entityIds: string[] },
): NarrowedFilter {
  const decision = authorize(principal, ACTIONS.EVENTS_READ);
  if (!decision.allowed) return decision;
  const scope = principal.sandboxes;
  if (scope === '*')
    return { allowed: true, ...requested, sandboxes: requested.entityIds.length > 0 ? requested.entityIds : '*' };
  if (requested.entityTypes.length > 0 && !requested.entityTypes.includes(ENTITY_TYPES.SANDBOX)) {
    return { allowed: false, reason: 'this token may watch sandbox entities only' };
  }
  const entityIds = requested.entityIds.length === 0 ? [...scope] : requested.entityIds.filter((id) => scope.has(id));
  if (entityIds.length === 0) return { allowed: false, reason: 'this token may watch none of the requested sandboxes' };
  return { allowed: true, entityTypes: [ENTITY_TYPES.SANDBOX], entityIds, sandboxes: entityIds };
}
