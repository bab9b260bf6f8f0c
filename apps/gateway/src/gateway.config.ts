import path from 'node:path';
import type { GatewayEnv } from './env';
import type { GatewayServiceDeps } from './gateway.service';

/** The gateway's tunables, from its validated env. */
export function gatewayConfig(env: GatewayEnv): GatewayServiceDeps['config'] {
  return {
    pingIntervalMs: env.WS_PING_INTERVAL_MS,
    maxBufferedBytes: env.WS_MAX_BUFFERED_BYTES,
    maxReplayBuffer: env.WS_MAX_REPLAY_BUFFER,
    replayPageSize: env.WS_REPLAY_PAGE_SIZE,
    maxClients: env.WS_MAX_CLIENTS,
    authTimeoutMs: env.WS_AUTH_TIMEOUT_MS,
    omoiosIdlePingMs: env.WS_OMOIOS_IDLE_PING_MS,
    dashboardDir: path.resolve(env.DASHBOARD_DIR),
  };
}

/** The canary's timing, from the same env (CANARY_ENABLED decides whether there is one). */
export function canaryConfig(env: GatewayEnv): { intervalMs: number; maxAgeMs: number; retentionMs: number } {
  return { intervalMs: env.CANARY_INTERVAL_MS, maxAgeMs: env.CANARY_MAX_AGE_MS, retentionMs: env.CANARY_RETENTION_MS };
}
