import { EdgeAuth } from './edge-auth';
import { KeyRingJson } from './key-ring';
import { parseTtl, tokenCommand } from './token-cli';

describe('npm run token', () => {
  it('makes keys for AUTH_KEYS, and tokens the relay accepts with them', async () => {
    const hs = (await tokenCommand(['keygen', 'hs256', '--kid', 'k1'], {})).split('\n')[1]!;
    const ed = (await tokenCommand(['keygen', 'eddsa', '--kid', 'k2'], {})).split('\n');
    const keys = `[${hs},${ed[1]}]`;
    expect(KeyRingJson.parse(keys).map((key) => key.kid)).toEqual(['k1', 'k2']);
    expect(JSON.parse(ed[3]!)).not.toHaveProperty('d');

    const env = { AUTH_KEYS: keys, AUTH_SIGNING_KID: 'k2' };
    const verifier = await EdgeAuth.fromSettings({
      mode: 'on',
      keys: KeyRingJson.parse(`[${hs},${ed[3]}]`),
      maxTokenAgeS: 3600 * 24 * 30,
    });
    const operator = await verifier.authenticate(
      await tokenCommand(['operator', '--sub', 'alice', '--ttl', '2h'], env),
    );
    expect(operator).toMatchObject({ kind: 'operator', subject: 'alice', sandboxes: '*' });
    expect(operator.expiresAt!.getTime() - Date.now()).toBeGreaterThan(2 * 3600_000 - 10_000);
    const viewer = await verifier.authenticate(
      await tokenCommand(['viewer', '--sub', 'bob', '--sandboxes', 'a,b'], env),
    );
    expect(viewer).toMatchObject({ kind: 'viewer', subject: 'bob', sandboxes: new Set(['a', 'b']) });
    const sandbox = await verifier.authenticate(await tokenCommand(['sandbox', 'sb-9'], env));
    expect(sandbox).toMatchObject({ kind: 'sandbox', sandboxes: new Set(['sb-9']) });
  });

  it('says what is wrong', async () => {
    await expect(tokenCommand(['operator'], {})).rejects.toThrow(/AUTH_KEYS is not set/);
    await expect(tokenCommand(['admin'], {})).rejects.toThrow(/unknown command admin/);
    await expect(
      tokenCommand(['sandbox'], {
        AUTH_KEYS: JSON.stringify([{ kty: 'oct', kid: 'a', k: Buffer.alloc(32).toString('base64url') }]),
      }),
    ).rejects.toThrow(/name the sandbox id/);
    expect(await tokenCommand([], {})).toMatch(/^usage:/);
    expect(() => parseTtl('soon')).toThrow(/--ttl/);
    expect([parseTtl('90'), parseTtl('30m'), parseTtl('8h'), parseTtl('7d')]).toEqual([90, 1800, 28_800, 604_800]);
  });
});
