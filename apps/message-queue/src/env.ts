import { AuthEnv, refineAuthEnv } from '@sandbox-relay/auth';
import { BaseEnv, OmoiosBridgeEnv, parseEnv } from '@sandbox-relay/service-kit';
import { z } from 'zod';

export const MessageQueueEnv = BaseEnv.extend(AuthEnv.shape)
  .extend(OmoiosBridgeEnv.shape)
  .extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(8083),
    /** Key prefix of the BullMQ queues; environments sharing one Redis use different prefixes. */
    QUEUE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,50}$/)
      .default('relay'),
    /** Parallel `sandbox-messages` jobs per replica. */
    MESSAGE_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(8),
    /** Largest message POST body (content is capped at 32 KiB characters; UTF-8 and escaping need room). */
    MESSAGE_BODY_LIMIT: z.string().default('256kb'),
    DB_POOL_SIZE: z.coerce.number().int().min(2).max(100).default(10),
    /** Message POSTs one sandbox may receive per RATE_LIMIT_WINDOW_S, across replicas; 0 = no limit. */
    RATE_LIMIT_MESSAGES_PER_WINDOW: z.coerce.number().int().min(0).default(100),
    RATE_LIMIT_WINDOW_S: z.coerce.number().int().min(1).max(3600).default(10),
  });
export type MessageQueueEnv = z.infer<typeof MessageQueueEnv>;

export function parseMessageQueueEnv(source: Record<string, string | undefined> = process.env): MessageQueueEnv {
  return parseEnv(MessageQueueEnv.superRefine(refineAuthEnv), source);
}

/** The message-queue's tunables, from its validated env. */
export function messageQueueConfig(env: MessageQueueEnv) {
  return {
    queuePrefix: env.QUEUE_PREFIX,
    concurrency: env.MESSAGE_WORKER_CONCURRENCY,
    bodyLimit: env.MESSAGE_BODY_LIMIT,
    rateLimit: { points: env.RATE_LIMIT_MESSAGES_PER_WINDOW, windowS: env.RATE_LIMIT_WINDOW_S },
  };
}
