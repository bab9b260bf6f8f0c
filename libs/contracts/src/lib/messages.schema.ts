import { z } from 'zod';
import { EventId, SandboxId } from './ids';
import { isStorableText } from './text';

/**
 * What a message is for; the worker handles each differently. `guardian_nudge` is the original
 * system's (OmoiOS) name for guardian steering, which its guardian sends; the relay's guardian sends
 * `guardian_intervention`, and the relay's worker handles both alike.
 */
export const MESSAGE_TYPES = [
  'user_message',
  'interrupt',
  'guardian_intervention',
  'guardian_nudge',
  'system',
] as const;
export const MessageType = z.enum(MESSAGE_TYPES);
export type MessageType = z.infer<typeof MessageType>;

export const MESSAGE_LIMITS = {
  CONTENT_MAX_CHARS: 32 * 1024,
  DRAIN_LIMIT_DEFAULT: 100,
  DRAIN_LIMIT_MAX: 1000,
  IDEMPOTENCY_KEY_MAX: 200,
} as const;

/**
 * Delivery priority: an interrupt must never wait behind a backlog of ordinary messages, so a drain
 * hands out interrupts first (oldest first among them), then everything else oldest first.
 */
export const MESSAGE_PRIORITY: Record<MessageType, number> = {
  interrupt: 1,
  user_message: 0,
  guardian_intervention: 0,
  guardian_nudge: 0,
  system: 0,
};

/** The type of a message sent without one (as the original's clients may). */
export const DEFAULT_MESSAGE_TYPE: MessageType = 'user_message';

const Content = z
  .string()
  .refine((value) => value.trim().length > 0, 'must not be empty')
  .refine(
    (value) => value.length <= MESSAGE_LIMITS.CONTENT_MAX_CHARS,
    `must be at most ${MESSAGE_LIMITS.CONTENT_MAX_CHARS} characters`,
  )
  .refine(isStorableText, 'must not contain NUL or unpaired surrogate characters');

/** `POST /api/v1/sandboxes/:id/messages` body; `message_type` defaults to `user_message`, as in the original. */
export const MessageBody = z.object({
  content: Content,
  message_type: MessageType.default(DEFAULT_MESSAGE_TYPE),
});
export type MessageBody = z.infer<typeof MessageBody>;

/** An idempotency key (header `Idempotency-Key`, or a BullMQ job's key): a retried send queues once. */
export const IdempotencyKey = z.string().regex(/^[\x21-\x7e]{1,200}$/, 'must be 1..200 printable ASCII characters');

/** A queued message as the worker receives it. */
export const SandboxMessage = z.object({
  message_id: EventId,
  sandbox_id: SandboxId,
  content: z.string(),
  message_type: MessageType,
  created_at: z.string(),
  delivered_at: z.string().nullable(),
});
export type SandboxMessage = z.infer<typeof SandboxMessage>;

/**
 * A message as `GET /api/v1/sandboxes/:id/messages` hands it out: the relay's fields plus the
 * original's names for two of them (`id` = `message_id`, `timestamp` = `created_at`), so the
 * original's worker (`MessagePoller`) reads it unchanged.
 */
export const DrainedMessage = SandboxMessage.extend({
  id: EventId,
  timestamp: z.string(),
});
export type DrainedMessage = z.infer<typeof DrainedMessage>;

/** Answer to a POST: the message is durable. `duplicate` is true when the idempotency key was seen before. */
export const MessageQueued = z.object({
  status: z.literal('queued'),
  message_id: EventId,
  sandbox_id: SandboxId,
  message_type: MessageType,
  created_at: z.string(),
  duplicate: z.boolean(),
});
export type MessageQueued = z.infer<typeof MessageQueued>;

/**
 * `GET /api/v1/sandboxes/:id/messages` query. Without `since`: drain (hand out undelivered messages
 * and mark them delivered). With `since`: re-read already delivered messages with a larger id or handed
 * out by a later drain than the one that handed out `since` (ids are not delivery order: interrupts go
 * first), for a worker that crashed after a drain or lost its answer; it changes nothing, and may repeat
 * messages the worker has (it drops them by id).
 */
export const MessageDrainQuery = z.object({
  since: EventId.optional(),
  limit: z.coerce.number().int().min(1).max(MESSAGE_LIMITS.DRAIN_LIMIT_MAX).default(MESSAGE_LIMITS.DRAIN_LIMIT_DEFAULT),
});
export type MessageDrainQuery = z.infer<typeof MessageDrainQuery>;

/** Payload of the `SANDBOX_MESSAGE_QUEUED` event dashboards show. */
export const MessageQueuedEventData = z.object({
  message_id: EventId,
  message_type: MessageType,
  content_preview: z.string(),
});
export type MessageQueuedEventData = z.infer<typeof MessageQueuedEventData>;

/** Payload of the `GUARDIAN_INTERVENTION` event: what the guardian saw, what it said and where it went. */
export const GuardianInterventionEventData = z.object({
  task_id: z.string().nullable(),
  detector: z.enum(['stuck', 'looping', 'error_storm']),
  reason: z.string(),
  message: z.string(),
  routed: z.enum(['sandbox', 'legacy', 'dropped']),
  route_reason: z.string().optional(),
  idempotency_key: IdempotencyKey,
});
export type GuardianInterventionEventData = z.infer<typeof GuardianInterventionEventData>;
