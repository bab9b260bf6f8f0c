// Base images for machines that reach no image registry. Everywhere else the real ones are pulled
// (node:20-bookworm-slim, redis:7-alpine, postgres:15-alpine, nginxinc/nginx-unprivileged) and
// nothing here runs. The stand-ins are Debian bookworm from mmdebstrap (the Debian mirror apt already
// uses), the host's own node for the Node base, Debian's redis-server, PostgreSQL 15 and nginx for the
// rest; their Containerfiles are in docker/local-base.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ROOT, available, ensureDebianPackages, engine, imageExists, log, run } from './engine.mjs';

export const DEFAULT_IMAGES = {
  NODE_IMAGE: 'node:20-bookworm-slim',
  REDIS_IMAGE: 'redis:7-alpine',
  POSTGRES_IMAGE: 'postgres:15-alpine',
  EDGE_IMAGE: 'nginxinc/nginx-unprivileged:1.27-alpine',
};

const LOCAL = {
  debian: 'localhost/sandbox-relay/debian:bookworm',
  infra: 'localhost/sandbox-relay/debian-infra:bookworm',
  NODE_IMAGE: 'localhost/sandbox-relay/node:20-local',
  REDIS_IMAGE: 'localhost/sandbox-relay/redis:local',
  POSTGRES_IMAGE: 'localhost/sandbox-relay/postgres:local',
  EDGE_IMAGE: 'localhost/sandbox-relay/edge:local',
};
const CONTAINERFILES = { REDIS_IMAGE: 'redis', POSTGRES_IMAGE: 'postgres', EDGE_IMAGE: 'edge' };
const LOCAL_BASE_DIR = path.join(ROOT, 'docker', 'local-base');
const WORK = path.join(ROOT, 'tmp', 'containers');

/** The Debian mirror apt uses here (deb822 sources or sources.list), for mmdebstrap. */
function debianMirror() {
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const uri =
      /^URIs:\s*(\S+\/debian)\s*$/m.exec(text)?.[1] ??
      /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\s+bookworm\b/m.exec(text)?.[1];
    if (uri) return uri;
  }
  return 'http://deb.debian.org/debian';
}

/** A Debian bookworm rootfs imported as an image (mmdebstrap minbase plus `packages`). */
function debootstrapImage(image, packages) {
  if (imageExists(image)) return;
  ensureDebianPackages(['mmdebstrap']);
  mkdirSync(WORK, { recursive: true });
  const tarball = path.join(WORK, `${image.replace(/[^\w.-]+/g, '_')}.tar`);
  log(`building ${image} with mmdebstrap (${packages.join(', ')})…`);
  run(
    [
      '--variant=minbase',
      `--include=${packages.join(',')}`,
      '--aptopt=Apt::Install-Recommends "false"',
      '--dpkgopt=path-exclude=/usr/share/{doc,man,locale}/*',
      'bookworm',
      tarball,
      debianMirror(),
    ],
    {
      command: 'mmdebstrap',
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  run(['import', tarball, image]);
  rmSync(tarball, { force: true });
}

/** The Node base: Debian plus the host's node and npm (the same major as node:20). */
function buildLocalNode() {
  debootstrapImage(LOCAL.debian, ['ca-certificates', 'libstdc++6']);
  const major = Number(process.versions.node.split('.')[0]);
  if (major !== 20) log(`warning: the host's node is ${process.version}; the images are meant for Node 20`);
  const context = path.join(WORK, 'node-context');
  rmSync(context, { recursive: true, force: true });
  mkdirSync(context, { recursive: true });
  cpSync(process.execPath, path.join(context, 'node'));
  const npmDir = [
    path.resolve(path.dirname(process.execPath), '../lib/node_modules/npm'),
    '/usr/lib/node_modules/npm',
    '/usr/local/lib/node_modules/npm',
  ].find((dir) => existsSync(path.join(dir, 'package.json')));
  if (!npmDir) throw new Error(`cannot find npm next to ${process.execPath}`);
  cpSync(npmDir, path.join(context, 'npm'), { recursive: true, dereference: true });
  log(`building ${LOCAL.NODE_IMAGE} from the host's node ${process.version}…`);
  run([
    'build',
    '-q',
    '--build-arg',
    `DEBIAN_IMAGE=${LOCAL.debian}`,
    '-f',
    path.join(LOCAL_BASE_DIR, 'node.Containerfile'),
    '-t',
    LOCAL.NODE_IMAGE,
    context,
  ]);
  rmSync(context, { recursive: true, force: true });
}

function buildLocalInfra(name) {
  debootstrapImage(LOCAL.infra, ['ca-certificates', 'redis-server', 'postgresql-15', 'nginx-light']);
  log(`building ${LOCAL[name]}…`);
  run([
    'build',
    '-q',
    '--build-arg',
    `INFRA_IMAGE=${LOCAL.infra}`,
    '-f',
    path.join(LOCAL_BASE_DIR, `${CONTAINERFILES[name]}.Containerfile`),
    '-t',
    LOCAL[name],
    LOCAL_BASE_DIR,
  ]);
}

/**
 * The image to use for each of NODE_IMAGE, REDIS_IMAGE, POSTGRES_IMAGE, EDGE_IMAGE: the one set in the
 * environment, else the default when it is present or can be pulled, else a local stand-in (built
 * once, kept in the engine's storage). `names` limits which are resolved.
 */
export function baseImages(names = Object.keys(DEFAULT_IMAGES)) {
  const images = {};
  for (const name of names) {
    const wanted = process.env[name] ?? DEFAULT_IMAGES[name];
    if (available(wanted)) {
      images[name] = wanted;
      continue;
    }
    if (process.env[name]) throw new Error(`${name}=${wanted} is neither present nor pullable`);
    if (!imageExists(LOCAL[name])) {
      if (engine() !== 'podman') log(`${wanted} cannot be pulled; building a local stand-in with ${engine()}`);
      if (name === 'NODE_IMAGE') buildLocalNode();
      else buildLocalInfra(name);
    }
    log(`${name}: ${wanted} cannot be pulled here; using the local stand-in ${LOCAL[name]}`);
    images[name] = LOCAL[name];
  }
  return images;
}
