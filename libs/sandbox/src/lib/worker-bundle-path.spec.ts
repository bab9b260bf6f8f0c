import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { workerBundlePath } from './worker-bundle-path';

describe('workerBundlePath', () => {
  it("is the repository's dist/worker/worker.js (built or not), and the bundle WORKER_BUNDLE names when set", () => {
    expect(workerBundlePath()).toBe(path.resolve(__dirname, '../../../..', 'dist', 'worker', 'worker.js'));
    expect(workerBundlePath('  ')).toBe(workerBundlePath());
    expect(workerBundlePath('/opt/worker.js')).toBe('/opt/worker.js');
  });

  it("from an app's bundle under dist/apps/<app> (npm start, npm run cluster) is still the repository's, built or not", async () => {
    const repo = mkdtempSync(path.join(tmpdir(), 'relay-worker-path-'));
    try {
      writeFileSync(path.join(repo, 'nx.json'), '{}');
      const app = path.join(repo, 'dist', 'apps', 'probe', 'main.js');
      await build({
        stdin: {
          contents: "import { workerBundlePath } from './worker-bundle-path'; console.log(workerBundlePath());",
          resolveDir: __dirname,
          loader: 'ts',
        },
        outfile: app,
        bundle: true,
        platform: 'node',
        format: 'cjs',
        logLevel: 'silent',
      });
      const worker = path.join(repo, 'dist', 'worker', 'worker.js');
      const run = () => execFileSync(process.execPath, [app], { encoding: 'utf8' }).trim();
      // Not built yet: where `npm run task` will build it, so the path the provider keeps becomes good.
      expect(run()).toBe(worker);
      mkdirSync(path.dirname(worker), { recursive: true });
      writeFileSync(worker, '');
      expect(run()).toBe(worker);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });
});
