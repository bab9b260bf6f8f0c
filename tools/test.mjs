// `npm test`: every test of every project (unit, integration against the real Redis and PostgreSQL,
// end-to-end over real sockets) and every project's typecheck. Makes sure the services listen and the
// test database is migrated first.
import { spawnSync } from 'node:child_process';
import { ensureDashboardBuilt } from './build-dashboard.mjs';
import { ensureChromium } from './chromium.mjs';
import { ensureServices } from './services.mjs';

const databaseUrl = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/sandbox_relay_test';
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

try {
  await ensureServices({ databaseUrl, redisUrl });
  // The dashboard's end-to-end tests open the built page in Debian's chromium.
  ensureChromium();
  await ensureDashboardBuilt();
} catch (error) {
  process.stderr.write(`[test] ${error.message}\n`);
  process.exit(1);
}

const boundaries = spawnSync(process.execPath, ['tools/check-boundaries.mjs'], { stdio: 'inherit' });
if (boundaries.status !== 0) process.exit(boundaries.status ?? 1);

const args = ['nx', 'run-many', '-t', 'typecheck', 'test', '--outputStyle=static', ...process.argv.slice(2)];
if (process.env.CI) args.push('--skip-nx-cache');
const result = spawnSync('npx', args, {
  stdio: 'inherit',
  env: { ...process.env, TEST_DATABASE_URL: databaseUrl, TEST_REDIS_URL: redisUrl, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
});
process.exit(result.status ?? 1);
