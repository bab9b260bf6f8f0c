// Builds the dashboard (apps/dashboard, Vite) into dist/apps/dashboard, which the gateway serves at `/`.
// `node tools/build-dashboard.mjs` always builds; `npm start` and `npm test` call ensureDashboardBuilt(),
// which builds only when the output is missing or older than its sources.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const appDir = path.join(root, 'apps', 'dashboard');
export const DASHBOARD_INDEX = path.join(root, 'dist', 'apps', 'dashboard', 'index.html');
// The page's inputs: its own files, the contracts it imports (the event-type catalogue, the wire types) and the relay's client.
const SOURCES = [
  path.join(appDir, 'index.html'),
  path.join(appDir, 'vite.config.mts'),
  path.join(appDir, 'src'),
  path.join(root, 'libs', 'contracts', 'src'),
  path.join(root, 'libs', 'client', 'src'),
];

function newestMtime(entry) {
  if (!existsSync(entry)) return 0;
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const child of readdirSync(entry)) newest = Math.max(newest, newestMtime(path.join(entry, child)));
  return newest;
}

export async function buildDashboard() {
  // Imported here so `npm start` on an already built dashboard does not load Vite at all.
  const { build } = await import('vite');
  await build({ configFile: path.join(appDir, 'vite.config.mts'), logLevel: 'warn' });
  process.stderr.write(`[dashboard] built ${path.relative(root, path.dirname(DASHBOARD_INDEX))}\n`);
}

export async function ensureDashboardBuilt() {
  const builtAt = existsSync(DASHBOARD_INDEX) ? statSync(DASHBOARD_INDEX).mtimeMs : 0;
  if (builtAt > 0 && builtAt >= Math.max(...SOURCES.map(newestMtime))) return;
  process.stderr.write(`[dashboard] ${builtAt ? 'sources changed' : 'not built yet'}; building…\n`);
  await buildDashboard();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await buildDashboard();
}
