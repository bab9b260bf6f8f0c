// The container engine the image, compose and container-test scripts drive: docker when its daemon
// answers, podman otherwise. On a machine without one, podman, podman-compose, runc, netavark,
// aardvark-dns and mmdebstrap come from Debian's packages (apt-get, when run as root; otherwise the
// error says how), as tools/chromium.mjs does for the browser tests.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const DEBIAN_PACKAGES = {
  podman: 'podman',
  'podman-compose': 'podman-compose',
  runc: 'runc',
  // DNS between containers (compose's service names) on podman 4.3: CNI alone has none.
  '/usr/lib/podman/netavark': 'netavark',
  '/usr/lib/podman/aardvark-dns': 'aardvark-dns',
  mmdebstrap: 'mmdebstrap',
  // `podman kube play`: a pod's infra container, built locally from catatonit where no pause image can be pulled.
  catatonit: 'catatonit',
};

// Measured on these machines (../shared/docs/TOOLCHAIN.md § Containers): crun fails ("setrlimit
// RLIMIT_NOFILE: operation not permitted", then "cgroups in hybrid mode not supported"), runc works
// once the default ulimits are dropped.
const CONTAINERS_CONF = `# Written by tools/containers/engine.mjs (CONTAINERS_CONF points here unless you set your own).
[containers]
default_ulimits = []

[engine]
runtime = "runc"

[network]
network_backend = "netavark"
`;

export function log(message) {
  process.stderr.write(`[containers] ${message}\n`);
}

function has(command) {
  if (command.startsWith('/')) return existsSync(command);
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Installs the Debian packages whose commands are missing (as root), or says how. */
export function ensureDebianPackages(commands) {
  const missing = commands.filter((command) => !has(command)).map((command) => DEBIAN_PACKAGES[command] ?? command);
  if (missing.length === 0) return;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root) {
    throw new Error(
      `missing ${missing.join(', ')}; install them: sudo apt-get install --no-install-recommends ${missing.join(' ')}`,
    );
  }
  log(`installing Debian's ${missing.join(', ')} (apt-get)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', ...missing]]) {
    const result = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env });
    if (result.status !== 0)
      throw new Error(
        `apt-get ${args.join(' ')} failed (exit ${result.status ?? result.signal}); install ${missing.join(' ')} by hand`,
      );
  }
}

function dockerAnswers() {
  if (!has('docker')) return false;
  return (
    spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 15_000 }).status === 0
  );
}

let chosen;

/**
 * The engine to use: CONTAINER_ENGINE (docker|podman) when set, docker when a daemon answers
 * (a docker CLI without a daemon does not count), podman otherwise (installed when missing).
 */
export function engine() {
  if (chosen) return chosen;
  const wanted = process.env.CONTAINER_ENGINE;
  if (wanted && wanted !== 'docker' && wanted !== 'podman')
    throw new Error(`CONTAINER_ENGINE must be docker or podman, got ${JSON.stringify(wanted)}`);
  const name = wanted ?? (dockerAnswers() ? 'docker' : 'podman');
  if (name === 'podman') {
    ensureDebianPackages(['podman', 'runc', '/usr/lib/podman/netavark', '/usr/lib/podman/aardvark-dns']);
    if (!process.env.CONTAINERS_CONF) {
      const conf = path.join(ROOT, 'tmp', 'containers', 'containers.conf');
      mkdirSync(path.dirname(conf), { recursive: true });
      writeFileSync(conf, CONTAINERS_CONF);
      process.env.CONTAINERS_CONF = conf;
    }
  }
  chosen = name;
  return chosen;
}

/** Runs the engine (or another command) and returns its stdout; throws with its stderr on failure. */
export function run(args, { command = engine(), input, stdio, timeout, env } = {}) {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    env,
    input,
    timeout,
    maxBuffer: 64 * 1024 * 1024,
    stdio: stdio ?? ['pipe', 'pipe', 'pipe'],
  });
  if (result.status !== 0) {
    const output = `${result.stderr ?? ''}${result.stdout ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(
      `${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})${output ? `:\n${output}` : ''}`,
    );
  }
  return result.stdout ?? '';
}

/** Whether an image is already present locally. */
export function imageExists(image) {
  const args = engine() === 'podman' ? ['image', 'exists', image] : ['image', 'inspect', image];
  return spawnSync(engine(), args, { stdio: 'ignore' }).status === 0;
}

/** Present locally, or pulled now (bounded: where no registry is reachable the pull fails fast or times out). */
export function available(image) {
  if (imageExists(image)) return true;
  const result = spawnSync(engine(), ['pull', '-q', image], { stdio: 'ignore', timeout: 120_000 });
  return result.status === 0;
}
