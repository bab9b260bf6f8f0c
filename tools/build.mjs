// Bundles each deployable app into dist/apps/<app>/main.js: our own code (apps + libs, resolved through
// the tsconfig path aliases) is inlined, npm packages stay external and come from node_modules, so the
// bundle runs with `node dist/apps/<app>/main.js` next to a production `npm ci --omit=dev`.
import { build } from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
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
    packages: 'external',
    sourcemap: true,
    tsconfig: path.join(root, 'tsconfig.base.json'),
    logLevel: 'warning',
  });
  process.stdout.write(`built dist/apps/${app}/main.js\n`);
}
