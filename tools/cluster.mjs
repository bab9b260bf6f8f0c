// `npm run cluster`: two replicas of every service, each its own process, behind Debian's nginx on
// 127.0.0.1:18000, routed like the Kubernetes Ingress (apps/standalone/src/cluster). Makes sure Redis and
// PostgreSQL listen, the database is migrated, the dashboard and the apps' bundles are built and nginx is
// installed, then runs the launcher. SIGTERM or Ctrl-C stops every replica gracefully and quits nginx.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { DASHBOARD_INDEX, ensureDashboardBuilt } from './build-dashboard.mjs';
import { buildApps } from './build.mjs';
import { ensureNginx } from './nginx.mjs';
import { ensureServices } from './services.mjs';

const env = {
  ...process.env,
  DATABASE_URL: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/sandbox_relay',
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  NODE_ENV: process.env.NODE_ENV ?? 'development',
  DASHBOARD_DIR: process.env.DASHBOARD_DIR ?? path.dirname(DASHBOARD_INDEX),
};

try {
  env.NGINX_PATH = ensureNginx();
  await ensureServices({ databaseUrl: env.DATABASE_URL, redisUrl: env.REDIS_URL });
  // The gateways serve the dashboard at `/`: build it when it is missing or older than its sources.
  await ensureDashboardBuilt();
  // Each replica runs its app's bundle, as the images do (it starts in half the time tsx takes).
  await buildApps();
} catch (error) {
  process.stderr.write(`[cluster] ${error.message}\n`);
  process.exit(1);
}

const child = spawn(process.execPath, ['--import', 'tsx', 'apps/standalone/src/cluster/main.ts'], {
  stdio: 'inherit',
  env,
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
