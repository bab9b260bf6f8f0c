// `npm start`: the whole system on one port (default 127.0.0.1:18000). Makes sure Redis and
// PostgreSQL listen and the database is migrated, then runs the standalone launcher from its bundle,
// as the images run each service: it starts faster than through tsx, and tsx's per-module export getters
// and name helpers cost a batch POST about a tenth of its CPU (bench/README.md).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { buildApps } from './build.mjs';
import { DASHBOARD_INDEX, ensureDashboardBuilt } from './build-dashboard.mjs';
import { ensureServices } from './services.mjs';

const env = {
  ...process.env,
  DATABASE_URL: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/sandbox_relay',
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  NODE_ENV: process.env.NODE_ENV ?? 'development',
  DASHBOARD_DIR: process.env.DASHBOARD_DIR ?? path.dirname(DASHBOARD_INDEX),
};

let standalone;
try {
  await ensureServices({ databaseUrl: env.DATABASE_URL, redisUrl: env.REDIS_URL });
  // The gateway serves the dashboard at `/`: build it when it is missing or older than its sources.
  await ensureDashboardBuilt();
  [standalone] = await buildApps(['standalone']);
} catch (error) {
  process.stderr.write(`[start] ${error.message}\n`);
  process.exit(1);
}

const child = spawn(process.execPath, ['--enable-source-maps', standalone], { stdio: 'inherit', env });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
