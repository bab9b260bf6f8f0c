import { createHash } from 'node:crypto';
import { MESSAGE_LIMITS } from '@sandbox-relay/contracts';
import type { DetectorName } from '../policy/detectors';

/** The guardian's view of a task (a subset of the `Task` model). */
export interface GuardianTask {
  id: string;
  /** Set while the task runs in a remote sandbox. */
  sandboxId: string | null;
  agentId?: string | null;
  /** Where a local (non-sandbox) agent keeps its conversation: the legacy delivery path. */
  conversationDir?: string | null;
  /** The task's status (`TaskStatus`); an ended task is not steered. */
  status?: string | null;
}

/** An intervention ready for delivery: the finding after the analyzer, with its delivery identity. */
export interface Intervention {
  /** Trajectory key, `<entity_type>:<entity_id>`. */
  key: string;
  detector: DetectorName;
  reason: string;
  /** The text the agent receives. */
  content: string;
  /** Same for every retry of one decision (see `interventionIdempotencyKey`). */
  idempotencyKey: string;
  /** Decision time, epoch milliseconds. */
  at: number;
}

/** The message type a sandbox worker handles as a steering message (seed phase 6.5). */
export const GUARDIAN_MESSAGE_TYPE = 'guardian_intervention' as const;

export interface SandboxMessage {
  sandboxId: string;
  messageType: typeof GUARDIAN_MESSAGE_TYPE;
  content: string;
  /** Queues the message at most once however often it is sent (BullMQ job id, message row key). */
  idempotencyKey: string;
}

/** Delivers to a sandbox's message queue (in production: a `sandbox-messages` BullMQ job). Throws when it cannot. */
export interface SandboxMessageSink {
  send(message: SandboxMessage): Promise<void>;
}

export type LegacyDelivery = { ok: true } | { ok: false; reason: string };

/** Delivers to a local agent's conversation. Answers `ok: false` when the task cannot take it; throws on I/O failure. */
export interface LegacyConversationSink {
  append(task: GuardianTask, intervention: Intervention): Promise<LegacyDelivery>;
}

export type RouteResult = { routed: 'sandbox' } | { routed: 'legacy' } | { routed: 'dropped'; reason: string };
export type RoutedTo = RouteResult['routed'];

/** Seed phase 6: a task runs in a sandbox exactly when it has a sandbox id. */
export function isSandboxTask(task: GuardianTask): task is GuardianTask & { sandboxId: string } {
  return typeof task.sandboxId === 'string' && task.sandboxId.length > 0;
}

/**
 * Sends an intervention where the agent will read it: a sandbox agent through its message queue, a
 * local agent through its conversation directory. A sink failure is thrown, not reported as
 * `dropped`, so the caller can tell "cannot be delivered" from "try again later".
 */
export class InterventionRouter {
  constructor(
    private readonly sandboxSink: SandboxMessageSink,
    private readonly legacySink: LegacyConversationSink,
  ) {}

  async route(task: GuardianTask, intervention: Intervention): Promise<RouteResult> {
    if (isSandboxTask(task)) {
      await this.sandboxSink.send({
        sandboxId: task.sandboxId,
        messageType: GUARDIAN_MESSAGE_TYPE,
        content: intervention.content,
        idempotencyKey: intervention.idempotencyKey,
      });
      return { routed: 'sandbox' };
    }
    const delivery = await this.legacySink.append(task, intervention);
    return delivery.ok ? { routed: 'legacy' } : { routed: 'dropped', reason: delivery.reason };
  }
}

/**
 * Deterministic per (key, detector, cooldown window): a decision retried within its window (a
 * re-sent BullMQ job, a replica retrying after a crash) queues one message. The window index is
 * `floor(at / cooldownMs)`. Keys are printable ASCII without spaces, at most 200 characters
 * (contracts' `IdempotencyKey`); a long entity id is hashed to stay within that.
 */
export function interventionIdempotencyKey(
  key: string,
  detector: DetectorName,
  at: number,
  cooldownMs: number,
): string {
  const window = Math.floor(at / Math.max(1, cooldownMs));
  const readable = `guardian:${detector}:${window}:${key}`;
  if (readable.length <= MESSAGE_LIMITS.IDEMPOTENCY_KEY_MAX) return readable;
  return `guardian:${detector}:${window}:${createHash('sha256').update(key).digest('hex')}`;
}
