import { existsSync } from 'node:fs';
import path from 'node:path';

const BUNDLE = path.join('dist', 'worker', 'worker.js');

/**
 * The absolute path of the bundled worker (`tools/build-worker.mjs` writes it), for providers that
 * upload it into a sandbox or run it locally.
 *
 * `override` is the app's `WORKER_BUNDLE` setting (libs never read `process.env`; the app's env.ts
 * does and passes it here). Without it, the nearest ancestor of this code's folder that holds
 * `dist/worker/worker.js` wins: that is the repo root both when this runs from source
 * (libs/sandbox/src/lib) and when an app inlined it into dist/apps/<app>/main.js. When no bundle
 * exists yet, the nearest ancestor holding the workspace's `nx.json` (the repo root, from source or from a
 * bundle under dist/) is assumed, so the caller's error names a real path and a bundle built later
 * (`npm run task` builds it) is found there.
 */
export function workerBundlePath(override?: string): string {
  if (override !== undefined && override.trim() !== '') return path.resolve(override);
  let root: string | undefined;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, BUNDLE);
    if (existsSync(candidate)) return candidate;
    root ??= existsSync(path.join(dir, 'nx.json')) ? dir : undefined;
    if (path.dirname(dir) === dir) break;
  }
  return path.join(root ?? path.resolve(__dirname, '../../../..'), BUNDLE);
}
