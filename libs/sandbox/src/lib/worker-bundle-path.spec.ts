import path from 'node:path';
import { workerBundlePath } from './worker-bundle-path';

describe('workerBundlePath', () => {
  it("is the repository's dist/worker/worker.js (built or not), and the bundle WORKER_BUNDLE names when set", () => {
    expect(workerBundlePath()).toBe(path.resolve(__dirname, '../../../..', 'dist', 'worker', 'worker.js'));
    expect(workerBundlePath('  ')).toBe(workerBundlePath());
    expect(workerBundlePath('/opt/worker.js')).toBe('/opt/worker.js');
  });
});
