#!/usr/bin/env node
// Runs the Prisma 7 CLI (generate / validate / format) without its native schema engine.
// Those commands do not need the engine, but the CLI tries to download it first; pointing
// PRISMA_SCHEMA_ENGINE_BINARY at /bin/false stops the download (see TOOLCHAIN.md §5.1).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const cli = require.resolve('prisma/build/index.js');
const args = process.argv.slice(2);
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? '/bin/false',
  CHECKPOINT_DISABLE: '1',
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
};
const result = spawnSync(process.execPath, [cli, ...(args.length ? args : ['generate'])], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
