import { generateRelayKey } from '@sandbox-relay/auth';
import { killSpawned, spawnApp } from './support/process';

// How a service decides whether auth is on, as a Deployment would start it.
describe('auth at start-up', () => {
  afterEach(() => killSpawned());

  it.each(['ingest', 'message-queue', 'gateway', 'supervisor', 'branch-workflow', 'standalone'])(
    '%s bound to a non-loopback address refuses to start with auth off',
    async (app) => {
      await expect(spawnApp(app, { HOST: '0.0.0.0', AUTH_MODE: 'off' })).rejects.toThrow(
        /exited with 1[\s\S]*AUTH_MODE: auth may be off only on a loopback HOST/,
      );
    },
  );

  it('on a non-loopback address auth is on by default, so keys are required', async () => {
    await expect(spawnApp('ingest', { HOST: '0.0.0.0' })).rejects.toThrow(/AUTH_KEYS: is required when auth is on/);
  });

  it('on loopback the playground runs open, and says so loudly', async () => {
    const ingest = await spawnApp('ingest');
    const warning = ingest.logs.find((line) => line.includes('AUTHENTICATION IS OFF'));
    expect(warning).toBeDefined();
    expect(JSON.parse(warning!)).toMatchObject({ level: 40 });
  });

  it('with keys, starts with auth on and names the key ids it holds (never the keys)', async () => {
    const keys = [await generateRelayKey('hs256', 'k-one')];
    const ingest = await spawnApp('ingest', { HOST: '0.0.0.0', AUTH_KEYS: JSON.stringify(keys) });
    const line = ingest.logs.find((entry) => entry.includes('authentication on'));
    expect(JSON.parse(line!)).toMatchObject({ kids: ['k-one'], signingKid: 'k-one' });
    expect(ingest.logs.join('\n')).not.toContain(keys[0]!.kty === 'oct' ? keys[0]!.k : 'unreachable');
    const res = await fetch(`${ingest.http.replace('0.0.0.0', '127.0.0.1')}/api/v1/sandboxes/sb-1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event_type: 'a' }),
    });
    expect(res.status).toBe(401);
  });
});
