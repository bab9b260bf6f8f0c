import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { authMode } from '@sandbox-relay/auth';
import { BranchWorkflowEnvFields, parseBranchWorkflowEnv } from '@sandbox-relay/branch-workflow';
import { GatewayEnv, parseGatewayEnv } from '@sandbox-relay/gateway';
import { GuardianEnv, parseGuardianEnv } from '@sandbox-relay/guardian';
import { IngestEnv, parseIngestEnv } from '@sandbox-relay/ingest';
import { MessageQueueEnv, parseMessageQueueEnv } from '@sandbox-relay/message-queue';
import { SupervisorEnv, parseSupervisorEnv, supervisorConfig } from '@sandbox-relay/supervisor';
import type { z } from 'zod';

export const ROOT = path.resolve(__dirname, '../..');

export interface DeployableApp {
  /** Each app's own env schema: the variables it knows. */
  shape: Record<string, z.ZodType>;
  /** What the app's main does with its env at start (parse, and cross-field checks); throws a ConfigError. */
  start(env: Record<string, string>): { HOST: string; PORT: number; AUTH_MODE?: 'on' | 'off'; AUTH_KEYS?: unknown };
}

/** Every app that runs as its own Deployment, with its env schema as exported by the app. */
export const DEPLOYABLE: Record<string, DeployableApp> = {
  ingest: { shape: IngestEnv.shape, start: (env) => parseIngestEnv(env) },
  gateway: { shape: GatewayEnv.shape, start: (env) => parseGatewayEnv(env) },
  'message-queue': { shape: MessageQueueEnv.shape, start: (env) => parseMessageQueueEnv(env) },
  guardian: { shape: GuardianEnv.shape, start: (env) => parseGuardianEnv(env) },
  supervisor: {
    shape: SupervisorEnv.shape,
    start: (env) => {
      const parsed = parseSupervisorEnv(env);
      supervisorConfig(parsed);
      return parsed;
    },
  },
  'branch-workflow': { shape: BranchWorkflowEnvFields.shape, start: (env) => parseBranchWorkflowEnv(env) },
};

/** Apps only ever run composed or in tests, never as a Deployment of their own. */
export const NOT_DEPLOYED = new Set(['standalone']);

/** The apps tools/build.mjs bundles (every apps/<app>/src/main.ts). */
export function appsWithMain(): string[] {
  return readdirSync(path.join(ROOT, 'apps'))
    .filter((app) => existsSync(path.join(ROOT, 'apps', app, 'src', 'main.ts')))
    .sort();
}

/** Variables an app cannot start without: no default and not optional. */
export function requiredVariables(shape: Record<string, z.ZodType>): string[] {
  return Object.entries(shape)
    .filter(([, schema]) => !schema.safeParse(undefined).success)
    .map(([name]) => name);
}

/** The effective auth mode of a parsed env (explicit or derived from HOST), for apps that have auth. */
export function effectiveAuthMode(env: { HOST: string; AUTH_MODE?: 'on' | 'off' }): 'on' | 'off' {
  return authMode({ HOST: env.HOST, AUTH_MODE: env.AUTH_MODE, AUTH_MAX_TOKEN_AGE_S: 0 });
}
