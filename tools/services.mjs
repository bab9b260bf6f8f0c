// Makes sure Redis and PostgreSQL are listening for a local run or a test run: starts local servers
// when they are installed but stopped, explains how to get them when they are not, creates the
// database if it is missing and applies the migrations. Used by `npm start` and `npm test`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import pg from 'pg';
import { applyMigrations } from './prisma-migrate/apply.mjs';

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function log(message) {
  process.stderr.write(`[services] ${message}\n`);
}

function listening(host, port, timeoutMs = 500) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: host.replace(/^\[|\]$/g, ''), port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function waitListening(host, port, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await listening(host, port)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${what} did not start listening on ${host}:${port} within ${timeoutMs / 1000} s`);
}

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function run(command, args) {
  const result = spawnSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  return result.status === 0;
}

async function ensureRedis(redisUrl) {
  const url = new URL(redisUrl);
  const host = url.hostname || '127.0.0.1';
  const port = Number(url.port || 6379);
  if (await listening(host, port)) return;
  if (!LOCAL_HOSTS.has(host)) throw new Error(`Redis at ${host}:${port} is not reachable (REDIS_URL=${redisUrl}).`);
  if (!has('redis-server')) {
    throw new Error(
      `Redis is not listening on ${host}:${port} and redis-server is not installed.\n` +
        `  Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis),\n` +
        `  or run one in a container: docker run -d -p ${port}:6379 redis:7,\n` +
        `  or point REDIS_URL at a Redis you have.`,
    );
  }
  log(`starting redis-server on ${host}:${port}`);
  run('redis-server', [
    '--daemonize',
    'yes',
    '--bind',
    '127.0.0.1',
    '--port',
    String(port),
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  await waitListening(host, port, 'redis-server');
}

async function ensurePostgres(databaseUrl) {
  const url = new URL(databaseUrl);
  const host = url.hostname || '127.0.0.1';
  const port = Number(url.port || 5432);
  if (await listening(host, port)) return;
  if (!LOCAL_HOSTS.has(host))
    throw new Error(`PostgreSQL at ${host}:${port} is not reachable (DATABASE_URL has host ${host}).`);
  const clusters = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql') : [];
  if (has('pg_ctlcluster') && clusters.length > 0) {
    log(`starting PostgreSQL ${clusters[0]} (pg_ctlcluster)`);
    run('pg_ctlcluster', ['--skip-systemctl-redirect', clusters[0], 'main', 'start']);
    await waitListening(host, port, 'PostgreSQL');
    return;
  }
  throw new Error(
    `PostgreSQL is not listening on ${host}:${port} and no local cluster could be started.\n` +
      `  Install it (Debian/Ubuntu: sudo apt-get install postgresql; macOS: brew install postgresql@15),\n` +
      `  or run one in a container: docker run -d -p ${port}:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15,\n` +
      `  or point DATABASE_URL at a PostgreSQL you have.`,
  );
}

async function ensureDatabase(databaseUrl) {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`unsupported database name in DATABASE_URL: ${name}`);
  url.pathname = '/postgres';
  url.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      log(`creating database ${name}`);
      await client.query(`CREATE DATABASE "${name}"`).catch((error) => {
        if (error.code !== '42P04') throw error; // created concurrently: fine
      });
    }
  } finally {
    await client.end();
  }
}

/** Redis and PostgreSQL listening, the database present and migrated. */
export async function ensureServices({ databaseUrl, redisUrl }) {
  await Promise.all([ensureRedis(redisUrl), ensurePostgres(databaseUrl)]);
  await ensureDatabase(databaseUrl);
  await applyMigrations({ databaseUrl, log });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  ensureServices({
    databaseUrl: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/sandbox_relay',
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  }).catch((error) => {
    log(error.message);
    process.exit(1);
  });
}
