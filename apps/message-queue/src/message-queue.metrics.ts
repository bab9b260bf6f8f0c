import { counter } from '@sandbox-relay/service-kit';

/**
 * Messages queued (new, not duplicates) and handed out, by message type (a fixed set of four). Their
 * difference summed over replicas is the number of undelivered messages in PostgreSQL.
 */
export const messagesQueued = counter<'message_type' | 'sender'>({
  name: 'relay_messages_queued_total',
  help: 'Sandbox messages queued (duplicates by idempotency key excluded), by message type and sender kind (http, job).',
  labelNames: ['message_type', 'sender'],
});

export const messagesDrained = counter<'message_type'>({
  name: 'relay_messages_drained_total',
  help: 'Sandbox messages handed out to a worker by a drain (marked delivered), by message type.',
  labelNames: ['message_type'],
});
