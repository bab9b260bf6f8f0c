// Jest globalSetup for every project: the test database must exist and be migrated before any
// integration suite runs. `npm test` already did this; running one project with `npx nx test <p>`
// relies on this (it is idempotent and takes Prisma's migration lock). A child process, because
// jest transpiles this file to CommonJS and services.mjs is an ES module.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

module.exports = async function globalSetup() {
  const result = spawnSync(process.execPath, [path.join(__dirname, 'services.mjs')], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      DATABASE_URL: process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/sandbox_relay_test',
      REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    },
  });
  if (result.status !== 0) throw new Error('test infrastructure is not ready (see the [services] lines above)');
};
