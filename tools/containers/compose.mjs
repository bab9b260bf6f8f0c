// `npm run compose`: the whole relay in containers from docker/compose.yaml (Redis, PostgreSQL, the
// migration, every service, the edge on http://127.0.0.1:18000 like `npm start`; EDGE_PORT moves it).
// Builds the images first (tools/containers/images.mjs, cached layers), then brings the services up
// in compose's order: podman-compose 1.0 ignores `depends_on` conditions and podman runs no
// healthchecks without systemd, so with podman each step waits for the one before (Redis and
// PostgreSQL answer, the migration exits 0, every service's /readyz is green).
//
//   npm run compose            up (prints an operator token for curl, the dashboard and npm run task)
//   npm run compose -- up --no-build   up with the images as they are
//   npm run compose -- down    stop and remove the containers, the network and the database volume
//   npm run compose -- logs    every container's log
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { baseImages } from './base-images.mjs';
import { ROOT, engine, ensureDebianPackages, log, run } from './engine.mjs';
import { buildImages } from './images.mjs';

export const PROJECT = 'sandbox-relay';
export const APPS = {
  ingest: 8081,
  gateway: 8082,
  'message-queue': 8083,
  guardian: 8084,
  supervisor: 8085,
  'branch-workflow': 8086,
};
const COMPOSE_FILE = path.join(ROOT, 'docker', 'compose.yaml');
const KEYS_FILE = path.join(ROOT, 'tmp', 'containers', 'compose-auth-keys.json');

/** AUTH_KEYS from the environment, else a key ring kept in tmp/ for this checkout's compose runs. */
export function composeAuthKeys() {
  if (process.env.AUTH_KEYS) return process.env.AUTH_KEYS;
  if (!existsSync(KEYS_FILE)) {
    mkdirSync(path.dirname(KEYS_FILE), { recursive: true });
    const key = {
      kty: 'oct',
      kid: `compose-${randomBytes(4).toString('hex')}`,
      k: randomBytes(32).toString('base64url'),
    };
    writeFileSync(KEYS_FILE, JSON.stringify([key]), { mode: 0o600 });
  }
  return readFileSync(KEYS_FILE, 'utf8').trim();
}

/** The environment compose interpolates: the key ring, the edge's port and the base images to use. */
export function composeEnv() {
  const images = baseImages(['REDIS_IMAGE', 'POSTGRES_IMAGE', 'EDGE_IMAGE']);
  return { ...process.env, ...images, AUTH_KEYS: composeAuthKeys(), EDGE_PORT: process.env.EDGE_PORT ?? '18000' };
}

function compose(args, env, options = {}) {
  if (engine() === 'docker') return run(['compose', '-p', PROJECT, '-f', COMPOSE_FILE, ...args], { env, ...options });
  ensureDebianPackages(['podman-compose']);
  return run(['-p', PROJECT, '-f', COMPOSE_FILE, ...args], { command: 'podman-compose', env, ...options });
}

/** The container compose runs for a service (podman-compose 1.0 names them <project>_<service>_1). */
export function containerOf(service) {
  return engine() === 'docker' ? `${PROJECT}-${service}-1` : `${PROJECT}_${service}_1`;
}

async function waitFor(what, check, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${what} not ready within ${timeoutMs / 1000} s${last ? `: ${last.message}` : ''}`);
}

const execOk = (container, argv) => {
  try {
    run(['exec', container, ...argv], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
};

export async function readyz(port) {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(3000) });
  return response.status === 200;
}

/** Builds the images and starts everything; resolves once every service's /readyz is green. */
export async function composeUp({ build = true } = {}) {
  if (build) buildImages();
  const env = composeEnv();
  if (engine() === 'docker') {
    compose(['up', '-d', '--no-build', '--wait'], env, { stdio: ['ignore', 'inherit', 'inherit'] });
  } else {
    compose(['up', '-d', '--no-build', 'redis', 'postgres'], env);
    await waitFor('redis', () => execOk(containerOf('redis'), ['redis-cli', 'ping']));
    await waitFor('postgres', () =>
      execOk(containerOf('postgres'), ['pg_isready', '-U', 'relay', '-d', 'sandbox_relay']),
    );
    compose(['up', '-d', '--no-build', '--no-deps', 'migrate'], env);
    const code = run(['wait', containerOf('migrate')], { timeout: 120_000 }).trim();
    if (code !== '0') throw new Error(`the migration exited ${code}:\n${run(['logs', containerOf('migrate')])}`);
    compose(['up', '-d', '--no-build', '--no-deps', ...Object.keys(APPS)], env);
    for (const [app, port] of Object.entries(APPS)) await waitFor(`${app} /readyz`, () => readyz(port));
    compose(['up', '-d', '--no-build', '--no-deps', 'edge'], env);
  }
  for (const [app, port] of Object.entries(APPS)) await waitFor(`${app} /readyz`, () => readyz(port));
  await waitFor('the edge', () => readyz(env.EDGE_PORT));
  return env;
}

export function composeDown() {
  compose(['down', '-v'], composeEnv());
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const command = process.argv[2] ?? 'up';
  try {
    if (command === 'down') composeDown();
    else if (command === 'logs') process.stdout.write(compose(['logs'], composeEnv()));
    else if (command === 'up') {
      const env = await composeUp({ build: !process.argv.includes('--no-build') });
      const origin = `http://127.0.0.1:${env.EDGE_PORT}`;
      process.stdout.write(
        `\nSandbox Relay is up on ${origin} (${engine()}; auth on). An operator token for curl, the dashboard and npm run task:\n` +
          `  export AUTH_KEYS='${env.AUTH_KEYS}'\n` +
          `  export OPERATOR_TOKEN=$(npm run -s token -- operator)\n` +
          `  curl -s -H "authorization: Bearer $OPERATOR_TOKEN" '${origin}/api/v1/sandboxes/demo-1/events?limit=50'\n` +
          `  # events are a worker's to post: with the sandbox's own token (npm run -s token -- sandbox demo-1)\n` +
          `  RELAY_URL=${origin} npm run task\n` +
          `Stop it with: npm run compose -- down\n`,
      );
    } else throw new Error(`unknown command ${command} (up, down, logs)`);
  } catch (error) {
    log(error.message);
    process.exit(1);
  }
}
