// Bundles each deployable app into dist/apps/<app>/main.js: our own code (apps + libs, resolved through
// the tsconfig path aliases) is inlined, npm packages stay external and come from node_modules (except
// the ESM-only octokit tree, inlined), so the bundle runs with `node dist/apps/<app>/main.js` next to a
// production `npm ci --omit=dev`.
import { build } from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

// Inlined although they are npm packages: @octokit/rest 22 and its plugins, and jose 6 (relay tokens),
// are ESM-only, which a CJS bundle cannot require() on every Node 20, so they (and octokit's small
// dependency tree) go into the bundle.
const INLINED =
  /^(jose|@octokit\/[^/]+|universal-user-agent|before-after-hook|content-type|json-with-bigint|fast-content-type-parse|bottleneck)(\/|$)/;

/** Every other bare import (npm packages, node builtins) stays external; our aliases resolve through tsconfig. */
const externalPackages = {
  name: 'external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@sandbox-relay/') || INLINED.test(args.path)) return undefined;
      return { path: args.path, external: true };
    });
  },
};
/**
 * Bundles one entry point as the images run it: our code inlined, npm packages external, CJS for Node 20,
 * with a source map (run it with `--enable-source-maps` for stack traces in the sources).
 */
export async function bundle(entryPoint, outfile) {
  await build({
    entryPoints: [entryPoint],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    plugins: [externalPackages],
    sourcemap: true,
    tsconfig: path.join(root, 'tsconfig.base.json'),
    logLevel: 'warning',
  });
}

/** Bundles the named apps (every app with a `src/main.ts` when none is named); answers each bundle's path. */
export async function buildApps(wanted = []) {
  const apps = readdirSync(path.join(root, 'apps')).filter(
    (app) =>
      existsSync(path.join(root, 'apps', app, 'src', 'main.ts')) && (wanted.length === 0 || wanted.includes(app)),
  );
  const built = [];
  for (const app of apps) {
    const outfile = path.join(root, 'dist', 'apps', app, 'main.js');
    await bundle(path.join(root, 'apps', app, 'src', 'main.ts'), outfile);
    built.push(outfile);
  }
  return built;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const outfile of await buildApps(process.argv.slice(2)))
    process.stdout.write(`built ${path.relative(root, outfile)}\n`);
}
