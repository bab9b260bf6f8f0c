// Bundles each deployable app into dist/apps/<app>/main.js: our own code (apps + libs, resolved through
// the tsconfig path aliases) is inlined, npm packages stay external and come from node_modules (except
// the ESM-only octokit tree, inlined), so the bundle runs with `node dist/apps/<app>/main.js` next to a
// production `npm ci --omit=dev`.
import { build } from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

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
const wanted = process.argv.slice(2);
const apps = readdirSync(path.join(root, 'apps')).filter(
  (app) => existsSync(path.join(root, 'apps', app, 'src', 'main.ts')) && (wanted.length === 0 || wanted.includes(app)),
);

for (const app of apps) {
  await build({
    entryPoints: [path.join(root, 'apps', app, 'src', 'main.ts')],
    outfile: path.join(root, 'dist', 'apps', app, 'main.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    plugins: [externalPackages],
    sourcemap: true,
    tsconfig: path.join(root, 'tsconfig.base.json'),
    logLevel: 'warning',
  });
  process.stdout.write(`built dist/apps/${app}/main.js\n`);
}
