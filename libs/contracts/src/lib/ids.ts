import { z } from 'zod';

/** Sandbox ids travel in URL paths, Redis channel names and log lines: keep them to a safe alphabet. */
export const SANDBOX_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

export const SandboxId = z.string().regex(SANDBOX_ID_PATTERN, 'must match [A-Za-z0-9._-]{1,128}');
export type SandboxId = z.infer<typeof SandboxId>;

/** Entity types and ids of server-side events follow the same alphabet as sandbox ids. */
export const EntityType = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must match [A-Za-z0-9._-]{1,64}');
export const EntityId = SandboxId;

const MAX_BIGINT = 9223372036854775807n;

/** Store ids are Postgres bigints; on the wire they are decimal strings (JSON numbers lose precision past 2^53). */
export const EventId = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,18})$/, 'must be a decimal event id')
  // 19 digits reach past the largest bigint; such a cursor would make Postgres fail the query.
  .refine(
    (id) => !/^[0-9]{19}$/.test(id) || BigInt(id) <= MAX_BIGINT,
    'must be a decimal event id (at most 9223372036854775807)',
  );
export type EventId = z.infer<typeof EventId>;
