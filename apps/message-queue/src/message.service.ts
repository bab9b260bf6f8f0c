import {
  ENTITY_TYPES,
  SYSTEM_EVENT_TYPES,
  clipUnits,
  isRelayEventSource,
  type MessageBody,
  type MessageQueued,
  type DrainedMessage,
  type MessageQueuedEventData,
  type SandboxMessage,
} from '@sandbox-relay/contracts';
import { AppError, type Logger } from '@sandbox-relay/service-kit';
import type { EventRepository, EventSink, MessageRepository } from '@sandbox-relay/store';
import { messagesDrained, messagesQueued } from './message-queue.metrics';

const PREVIEW_CHARS = 200;
const ANNOUNCEMENT_PAGE = 100;

/** A send reused an idempotency key that already holds another message (other sandbox, type or content). */
export class IdempotencyKeyReusedError extends AppError {
  constructor() {
    // The other message's sandbox is not named: it may belong to someone else.
    super(
      422,
      'idempotency_key_reused',
      'idempotency-key was already used for a different message; send a new message with a new key',
    );
    this.name = 'IdempotencyKeyReusedError';
  }
}

function sameMessage(message: SandboxMessage, sandboxId: string, body: MessageBody): boolean {
  return (
    message.sandbox_id === sandboxId && message.message_type === body.message_type && message.content === body.content
  );
}

export interface QueueMessageInput {
  sandboxId: string;
  body: MessageBody;
  idempotencyKey?: string;
  /** Who sent it: `http` for the edge, the service name for BullMQ jobs. */
  sender: string;
}

/**
 * Queues and hands out sandbox messages. HTTP and the `sandbox-messages` BullMQ consumer both go
 * through `queue`, so a message is queued the same way whoever sends it.
 */
export class MessageService {
  constructor(
    private readonly messages: MessageRepository,
    private readonly sink: EventSink,
    private readonly events: Pick<EventRepository, 'list'>,
    private readonly logger: Logger,
  ) {}

  async queue({ sandboxId, body, idempotencyKey, sender }: QueueMessageInput): Promise<MessageQueued> {
    const { message, duplicate } = await this.messages.enqueue({
      sandboxId,
      messageType: body.message_type,
      content: body.content,
      idempotencyKey,
    });
    // Keys are unique across sandboxes: answering the first message to a different send would ack a
    // message that is never queued (IETF idempotency-key draft: reuse with another payload is a 422).
    if (duplicate && !sameMessage(message, sandboxId, body)) throw new IdempotencyKeyReusedError();
    if (!duplicate) {
      messagesQueued.inc({ message_type: message.message_type, sender: sender === 'http' ? 'http' : 'job' });
      await this.announce(message, sender);
    } else if (!(await this.announced(message))) {
      // The first send stored the message and then crashed (or could not store its event): the retry
      // finishes its job, so dashboards still hear of the message.
      await this.announce(message, sender);
    }
    return {
      status: 'queued',
      message_id: message.message_id,
      sandbox_id: sandboxId,
      message_type: message.message_type,
      created_at: message.created_at,
      duplicate,
    };
  }

  async drain(sandboxId: string, limit: number): Promise<DrainedMessage[]> {
    const drained = await this.messages.drain(sandboxId, limit);
    for (const message of drained) messagesDrained.inc({ message_type: message.message_type });
    return drained;
  }

  redeliver(sandboxId: string, since: string, limit: number): Promise<DrainedMessage[]> {
    return this.messages.redeliver(sandboxId, since, limit);
  }

  /**
   * Whether the message's SANDBOX_MESSAGE_QUEUED is stored: its sandbox's announcements, newest first,
   * back to the message's own creation (none can be older). Asked only for retried sends.
   */
  private async announced(message: SandboxMessage): Promise<boolean> {
    const createdAt = Date.parse(message.created_at);
    let before: string | undefined;
    for (;;) {
      const page = await this.events.list({
        entityTypes: [ENTITY_TYPES.SANDBOX],
        entityIds: [message.sandbox_id],
        eventTypes: [SYSTEM_EVENT_TYPES.SANDBOX_MESSAGE_QUEUED],
        order: 'desc',
        limit: ANNOUNCEMENT_PAGE,
        ...(before ? { before } : {}),
      });
      if (page.some((event) => event.payload['message_id'] === message.message_id)) return true;
      const oldest = page.at(-1);
      if (!oldest || page.length < ANNOUNCEMENT_PAGE || Date.parse(oldest.timestamp) < createdAt) return false;
      before = oldest.id;
    }
  }

  /**
   * Tells dashboards a message was queued. The message itself is already durable: if the event cannot
   * be stored, the send still succeeded, so this is logged rather than failing the request.
   */
  private async announce(message: SandboxMessage, sender: string): Promise<void> {
    const data: MessageQueuedEventData = {
      message_id: message.message_id,
      message_type: message.message_type,
      // A prefix, no marker; an emoji at the cut must not leave half a pair (the event would be unstorable).
      content_preview: clipUnits(message.content, PREVIEW_CHARS, ''),
    };
    try {
      // The relay's service that emits it, or the relay service that asked for the message (the guardian).
      const source = isRelayEventSource(sender) ? sender : undefined;
      await this.sink.emit(
        SYSTEM_EVENT_TYPES.SANDBOX_MESSAGE_QUEUED,
        { entityType: ENTITY_TYPES.SANDBOX, entityId: message.sandbox_id },
        data,
        { source },
      );
    } catch (error) {
      this.logger.error({ err: error, messageId: message.message_id }, 'could not record SANDBOX_MESSAGE_QUEUED');
    }
  }
}
