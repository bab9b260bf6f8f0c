// `npm run cluster` puts Debian's real nginx in front of its replicas (the compose edge's config,
// docker/edge.nginx.conf, with two servers per upstream). This makes sure it is installed: from Debian's
// packages when it is missing and we are root, otherwise with a message saying how.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const NGINX_PATH = process.env.NGINX_PATH ?? '/usr/sbin/nginx';

function log(message) {
  process.stderr.write(`[nginx] ${message}\n`);
}

export function ensureNginx() {
  if (existsSync(NGINX_PATH)) return NGINX_PATH;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || process.env.NGINX_PATH) {
    throw new Error(
      `no nginx at ${NGINX_PATH}; the cluster's edge needs it. Install Debian's package ` +
        '(`sudo apt-get install --no-install-recommends nginx`) or point NGINX_PATH at an nginx binary.',
    );
  }
  log("not installed; installing Debian's nginx package (apt-get)…");
  // RUNLEVEL=1 keeps the package's maintainer scripts from starting a system nginx on :80 where no
  // policy-rc.d forbids it (invoke-rc.d starts nothing in runlevel 1): the cluster runs its own, in the foreground.
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', RUNLEVEL: '1' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'nginx']]) {
    // apt's output goes to stderr: a caller reads this script's stdout for the binary's path.
    const result = spawnSync('apt-get', args, { stdio: ['ignore', 2, 'inherit'], env });
    if (result.status !== 0)
      throw new Error(
        `apt-get ${args.join(' ')} failed (exit ${result.status ?? result.signal}); install nginx by hand`,
      );
  }
  if (!existsSync(NGINX_PATH)) throw new Error(`apt-get installed nginx but ${NGINX_PATH} is still missing`);
  log(`installed ${NGINX_PATH}`);
  return NGINX_PATH;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    process.stdout.write(`${ensureNginx()}\n`);
  } catch (error) {
    log(error.message);
    process.exit(1);
  }
}
