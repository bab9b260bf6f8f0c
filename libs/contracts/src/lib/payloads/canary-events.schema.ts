import { z } from 'zod';

/** The gateway canary's probe (`relay.canary`): its replica's nonce, a counter and when it was sent. */
export const CanaryEventData = z.object({ nonce: z.string(), sequence: z.number().int(), sent_at: z.string() });
export type CanaryEventData = z.infer<typeof CanaryEventData>;
