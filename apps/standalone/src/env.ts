import { refineAuthEnv } from '@sandbox-relay/auth';
import { GatewayEnv } from '@sandbox-relay/gateway';
import { GuardianEnv } from '@sandbox-relay/guardian';
import { IngestEnv } from '@sandbox-relay/ingest';
import { MessageQueueEnv } from '@sandbox-relay/message-queue';
import { BranchWorkflowEnvFields, refineBranchWorkflowEnv } from '@sandbox-relay/branch-workflow';
import { SupervisorEnv } from '@sandbox-relay/supervisor';
import { parseEnv } from '@sandbox-relay/service-kit';
import { z } from 'zod';

/** Every app's variables, with the launcher's own port (the one a newcomer opens). */
export const StandaloneEnv = IngestEnv.extend(GatewayEnv.shape)
  .extend(MessageQueueEnv.shape)
  .extend(GuardianEnv.shape)
  .extend(BranchWorkflowEnvFields.shape)
  .extend(SupervisorEnv.shape)
  .extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(18000),
    DB_POOL_SIZE: z.coerce.number().int().min(2).max(100).default(12),
  })
  .superRefine(refineBranchWorkflowEnv);
export type StandaloneEnv = z.infer<typeof StandaloneEnv>;

export function parseStandaloneEnv(source: Record<string, string | undefined> = process.env): StandaloneEnv {
  // Auth may be off only on a loopback HOST (the local playground); bound anywhere else it must be on.
  return parseEnv(StandaloneEnv.superRefine(refineAuthEnv), source);
}
