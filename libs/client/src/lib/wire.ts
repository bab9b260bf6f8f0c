/**
 * The wire shapes the client speaks, as the relay's contracts (libs/contracts) define them. Types only:
 * `export type` is erased at build, so neither zod nor the schemas reach a bundle that imports the
 * client. The published package carries these types expanded to plain TypeScript (tools in
 * libs/client/build.mjs), so its users need neither zod nor our contracts.
 */
import type { z } from 'zod';
import type { CreateTaskBody as CreateTaskBodySchema, EventBody as EventBodySchema } from '@sandbox-relay/contracts';

/** What `POST /api/v1/tasks` takes (the schema's input: defaulted fields optional). */
export type CreateTaskInput = z.input<typeof CreateTaskBodySchema>;
/** One event as the ingest edge takes it (`event_data` defaults to `{}`, `source` optional). */
export type EventInput = z.input<typeof EventBodySchema>;

export type {
  DrainedMessage,
  EventBatchAccepted,
  EventEnvelope,
  EventHistoryPage,
  MessageQueued,
  MessageType,
  SandboxList,
  SandboxMessage,
  SandboxSummary,
  SandboxTokenRenewal,
  TaskView,
} from '@sandbox-relay/contracts';
