import { uniqueId } from '@sandbox-relay/testing';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startRelay, type RunningRelay } from './support/relay';

const root = path.resolve(__dirname, '../../..');
const clientDir = path.join(root, 'libs', 'client');
// The relay runs in this process: a script calling it must not block the event loop that answers it.
const run = promisify(execFile);

/**
 * `@sandbox-relay/client` as a user gets it: built, packed with `npm pack`, installed from the tarball
 * into a scratch project outside the repository, then loaded with require() and with import() and
 * used against a running relay.
 */
describe('the packed @sandbox-relay/client', () => {
  let relay: RunningRelay;
  let scratch: string;

  beforeAll(async () => {
    relay = await startRelay();
    mkdirSync(path.join(root, 'tmp'), { recursive: true });
    scratch = mkdtempSync(path.join(root, 'tmp', 'client-pack-'));
  });
  afterAll(async () => {
    await relay.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('packs, installs, and works from CommonJS and ESM', async () => {
    execFileSync(process.execPath, ['build.mjs'], { cwd: clientDir, stdio: 'pipe' });
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: clientDir, encoding: 'utf8' }),
    ) as [{ filename: string; files: { path: string }[] }];
    const files = packed[0].files.map((file) => file.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'dist/esm/index.mjs',
        'dist/cjs/index.cjs',
        'dist/types/index.d.ts',
        'dist/types/lib/wire.d.ts',
      ]),
    );
    expect(files.filter((file) => file.startsWith('src/'))).toEqual([]);

    const app = path.join(scratch, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true }));
    // No dependencies to fetch (`ws` is an optional peer): the tarball installs offline.
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', path.join(scratch, packed[0].filename)], {
      cwd: app,
      stdio: 'pipe',
    });
    expect(readdirSync(path.join(app, 'node_modules', '@sandbox-relay'))).toEqual(['client']);

    const sandboxId = uniqueId('cli-pack');
    writeFileSync(
      path.join(app, 'cjs.cjs'),
      `const { RelayClient, RelayError } = require('@sandbox-relay/client');
       const client = new RelayClient({ baseUrl: process.env.RELAY_URL });
       client.postEvent(process.env.SANDBOX_ID, { event_type: 'agent.message', event_data: { via: 'require' } })
         .then((event) => console.log(JSON.stringify({ id: event.id, isError: typeof RelayError === 'function' })));`,
    );
    writeFileSync(
      path.join(app, 'esm.mjs'),
      `import { RelayClient } from '@sandbox-relay/client';
       const client = new RelayClient({ baseUrl: process.env.RELAY_URL });
       await client.postEvent(process.env.SANDBOX_ID, { event_type: 'agent.message', event_data: { via: 'import' } });
       const page = await client.history(process.env.SANDBOX_ID);
       console.log(JSON.stringify(page.events.map((event) => event.payload.via)));`,
    );
    const env = { ...process.env, RELAY_URL: relay.http, SANDBOX_ID: sandboxId };
    const fromRequire = JSON.parse((await run(process.execPath, ['cjs.cjs'], { cwd: app, env })).stdout);
    expect(fromRequire).toEqual({ id: expect.stringMatching(/^\d+$/), isError: true });
    const fromImport = JSON.parse((await run(process.execPath, ['esm.mjs'], { cwd: app, env })).stdout);
    expect(fromImport).toEqual(['require', 'import']);
  }, 120_000);
});
