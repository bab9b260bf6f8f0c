import { MESSAGE_PRIORITY, type DrainedMessage, type MessageType } from '@sandbox-relay/contracts';
import type { Pool } from 'pg';
import { withStoreErrors } from './store-errors';

export interface NewMessage {
  sandboxId: string;
  messageType: MessageType;
  content: string;
  /** A retried send with the same key queues nothing new and answers the first message. */
  idempotencyKey?: string;
}

interface MessageRow {
  id: string;
  sandbox_id: string;
  message_type: MessageType;
  content: string;
  created_at: Date;
  delivered_at: Date | null;
}

const COLUMNS = 'id::text AS id, sandbox_id, message_type, content, created_at, delivered_at';

/*
 * Drain = one statement: lock the oldest undelivered rows of the sandbox (interrupts first), skipping
 * rows another drain has locked, mark them delivered and return them. Two concurrent drains therefore
 * never hand out one message twice, and a drain never blocks behind another.
 */
const DRAIN_SQL = `
UPDATE sandbox_messages m SET delivered_at = now()
WHERE m.id IN (
  SELECT id FROM sandbox_messages
  WHERE sandbox_id = $1 AND delivered_at IS NULL
  ORDER BY priority DESC, id
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
RETURNING m.id::text AS id, m.sandbox_id, m.message_type, m.content, m.created_at, m.delivered_at, m.priority`;

/*
 * Ids are not the delivery order: an interrupt jumps the queue, a drain's limit leaves older rows for
 * the next drain, and a row whose insert commits late is drained after higher ids. So `id > since`
 * alone misses what a later drain handed out below `since`. A later drain is one whose delivered_at
 * is not earlier and that is not the same transaction (xmin: a delivered row is never updated again,
 * and delivered_at ties across drains within one millisecond).
 */
const REDELIVER_SQL = `
SELECT ${COLUMNS} FROM sandbox_messages m
WHERE m.sandbox_id = $1 AND m.delivered_at IS NOT NULL
  AND (
    m.id > $2::bigint
    OR EXISTS (
      SELECT 1 FROM sandbox_messages c
      WHERE c.sandbox_id = $1 AND c.id = $2::bigint AND c.delivered_at IS NOT NULL
        AND m.delivered_at >= c.delivered_at AND m.xmin <> c.xmin
    )
  )
ORDER BY m.delivered_at, m.priority DESC, m.id
LIMIT $3`;

/** The durable per-sandbox message FIFO (`sandbox_messages`). */
export class MessageRepository {
  constructor(private readonly pool: Pool) {}

  /** Stores a message; `duplicate` when its idempotency key was used before (the first message is answered). */
  async enqueue(message: NewMessage): Promise<{ message: DrainedMessage; duplicate: boolean }> {
    const { rows } = await withStoreErrors(
      this.pool.query<MessageRow>(
        `INSERT INTO sandbox_messages (sandbox_id, message_type, content, priority, idempotency_key)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (idempotency_key) DO NOTHING
       RETURNING ${COLUMNS}`,
        [
          message.sandboxId,
          message.messageType,
          message.content,
          MESSAGE_PRIORITY[message.messageType],
          message.idempotencyKey ?? null,
        ],
      ),
    );
    if (rows[0]) return { message: toMessage(rows[0]), duplicate: false };
    const existing = await withStoreErrors(
      this.pool.query<MessageRow>(`SELECT ${COLUMNS} FROM sandbox_messages WHERE idempotency_key = $1`, [
        message.idempotencyKey,
      ]),
    );
    if (!existing.rows[0]) throw new Error('idempotent insert conflicted but no row holds the key');
    return { message: toMessage(existing.rows[0]), duplicate: true };
  }

  /** Hands out up to `limit` undelivered messages (interrupts first, then oldest first) and marks them delivered. */
  async drain(sandboxId: string, limit: number): Promise<DrainedMessage[]> {
    const { rows } = await withStoreErrors(
      this.pool.query<MessageRow & { priority: number }>(DRAIN_SQL, [sandboxId, limit]),
    );
    // UPDATE … RETURNING has no order of its own.
    rows.sort((a, b) => b.priority - a.priority || Number(BigInt(a.id) - BigInt(b.id)));
    return rows.map(toMessage);
  }

  /**
   * Re-reads messages already handed out with an id above `since`, or handed out by a later drain than
   * the one that handed out `since`, in the order they were handed out; for a worker that crashed after
   * a drain (or lost its answer) and knows the highest id it has. It may repeat messages of later drains
   * the worker did read (ids below `since`), which the worker drops by id; losing them is worse. Changes nothing.
   */
  async redeliver(sandboxId: string, since: string, limit: number): Promise<DrainedMessage[]> {
    const { rows } = await withStoreErrors(this.pool.query<MessageRow>(REDELIVER_SQL, [sandboxId, since, limit]));
    return rows.map(toMessage);
  }
}

/** The relay's fields, and the original's names for two of them (`id`, `timestamp`), which its worker reads. */
function toMessage(row: MessageRow): DrainedMessage {
  const createdAt = row.created_at.toISOString();
  return {
    message_id: row.id,
    sandbox_id: row.sandbox_id,
    content: row.content,
    message_type: row.message_type,
    created_at: createdAt,
    delivered_at: row.delivered_at ? row.delivered_at.toISOString() : null,
    id: row.id,
    timestamp: createdAt,
  };
}
