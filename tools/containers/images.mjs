// `npm run images`: builds every target of docker/Dockerfile as sandbox-relay/<target> (also tagged
// :local, the tag deploy/k8s/overlays/local uses) with docker where its daemon answers, podman
// otherwise. NODE_IMAGE is the Dockerfile's own default unless it cannot be pulled (then a local
// stand-in, tools/containers/base-images.mjs); a CA in NODE_EXTRA_CA_CERTS goes in as the build
// secret `npm_ca`, never into a layer. Prints each build's time and each image's size.
//
//   npm run images                      every target
//   npm run images -- ingest migrate    only these
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_IMAGES, baseImages } from './base-images.mjs';
import { ROOT, engine, log, run } from './engine.mjs';

export const TARGETS = ['ingest', 'gateway', 'message-queue', 'guardian', 'supervisor', 'branch-workflow', 'migrate'];

export function imageName(target) {
  return `sandbox-relay/${target}`;
}

/** The bytes an image takes (its uncompressed size, as the engine reports it). */
export function imageSize(image) {
  return Number(run(['image', 'inspect', '--format', '{{.Size}}', image]).trim());
}

/**
 * The build context: a copy of the checkout's files (tracked and untracked, not git-ignored) taken
 * once, so every target builds from the same sources and shares the cached stages. Built straight
 * from a working tree that changes meanwhile, each target re-ran npm ci and npm run build (podman
 * 4.3 keys `COPY --from` on the stage, not its content).
 */
function snapshotContext() {
  const context = path.join(ROOT, 'tmp', 'containers', 'context');
  rmSync(context, { recursive: true, force: true });
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (listed.status !== 0) return ROOT; // not a git checkout: the tree itself (docker/Dockerfile.dockerignore still applies)
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    const source = path.join(ROOT, file);
    if (!existsSync(source) || !statSync(source).isFile()) continue;
    mkdirSync(path.dirname(path.join(context, file)), { recursive: true });
    cpSync(source, path.join(context, file), { preserveTimestamps: true });
  }
  return context;
}

function buildArgs(nodeImage, context) {
  const args = ['build', '-f', path.join(context, 'docker', 'Dockerfile')];
  // --network host: the build's RUN steps resolve names as the host does (measured here: on podman's
  // bridge the registry's lookups began failing with EAI_AGAIN mid-install and npm ci retried forever).
  if (engine() === 'podman')
    args.push('--layers', '--network', 'host', '--ignorefile', path.join(context, 'docker', 'Dockerfile.dockerignore'));
  // The Dockerfile's default stays the image for anyone who can pull it.
  if (nodeImage !== DEFAULT_IMAGES.NODE_IMAGE) args.push('--build-arg', `NODE_IMAGE=${nodeImage}`);
  const ca = process.env.NODE_EXTRA_CA_CERTS;
  if (ca && existsSync(ca)) args.push('--secret', `id=npm_ca,src=${ca}`);
  return args;
}

/** Builds the targets in order (the shared stages once; later targets reuse their cached layers). */
export function buildImages(targets = TARGETS) {
  const unknown = targets.filter((target) => !TARGETS.includes(target));
  if (unknown.length) throw new Error(`no Dockerfile target ${unknown.join(', ')} (targets: ${TARGETS.join(', ')})`);
  const { NODE_IMAGE } = baseImages(['NODE_IMAGE']);
  const context = snapshotContext();
  const common = buildArgs(NODE_IMAGE, context);
  const results = [];
  for (const target of targets) {
    const started = Date.now();
    log(`building ${imageName(target)} (${engine()}, FROM ${NODE_IMAGE})…`);
    run([...common, '--target', target, '-t', imageName(target), '-t', `${imageName(target)}:local`, context], {
      env: engine() === 'docker' ? { ...process.env, DOCKER_BUILDKIT: '1' } : process.env,
      stdio: ['ignore', process.env.IMAGES_VERBOSE ? 'inherit' : 'pipe', 'pipe'],
    });
    results.push({
      target,
      image: imageName(target),
      seconds: (Date.now() - started) / 1000,
      bytes: imageSize(imageName(target)),
    });
  }
  return results;
}

export function formatResults(results) {
  const lines = results.map(
    (r) => `  ${r.image.padEnd(32)} ${(r.bytes / 1e6).toFixed(0).padStart(5)} MB   built in ${r.seconds.toFixed(1)} s`,
  );
  return `images (${engine()}):\n${lines.join('\n')}\n`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    const started = Date.now();
    const results = buildImages(process.argv.slice(2).length ? process.argv.slice(2) : TARGETS);
    process.stdout.write(formatResults(results));
    process.stdout.write(`all built in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  } catch (error) {
    log(error.message);
    process.exit(1);
  }
}
