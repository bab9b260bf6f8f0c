import { testLogger, waitFor } from '@sandbox-relay/testing';
import type { RenewOutcome } from './relay-http';
import { TokenRenewal, tokenTimes } from './token-renewal';

/** A JWT-shaped token with these claims (unsigned: the worker only reads the times). */
function token(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'EdDSA', typ: 'JWT' })}.${part(claims)}.signature`;
}
const nowS = () => Math.floor(Date.now() / 1000);
/** A token two thirds through its life: due for renewal now. */
const due = () => token({ iat: nowS() - 20, exp: nowS() + 10 });
/** A fresh hour-long token: its renewal is far away. */
const fresh = (n: number) => token({ iat: nowS(), exp: nowS() + 3600, n });

describe('TokenRenewal', () => {
  const renewals: TokenRenewal[] = [];
  const renewal = (initial: string, answers: RenewOutcome[]) => {
    const calls: number[] = [];
    const renewed: string[] = [];
    const r = new TokenRenewal({
      token: initial,
      logger: testLogger(),
      renew: async () => {
        calls.push(Date.now());
        return answers.shift() ?? { kind: 'refused', status: 409, reason: 'script ended' };
      },
      onRenewed: (t) => renewed.push(t),
    });
    renewals.push(r);
    r.start();
    return { calls, renewed };
  };
  afterEach(() => renewals.splice(0).forEach((r) => r.close()));

  it('reads iat and exp, and nothing from a token that has none', () => {
    expect(tokenTimes(token({ iat: 100, exp: 160 }))).toEqual({ issuedAtMs: 100_000, expiresAtMs: 160_000 });
    expect(tokenTimes(token({ exp: 160 }))).toBeNull();
    expect(tokenTimes(token({ iat: 160, exp: 100 }))).toBeNull();
    expect(tokenTimes('not-a-jwt')).toBeNull();
    expect(tokenTimes('a.%%%.c')).toBeNull();
  });

  it("trades a token two thirds through its life for a fresh one, then waits for that one's turn", async () => {
    const next = fresh(1);
    const { calls, renewed } = renewal(due(), [
      { kind: 'renewed', token: next, expiresAt: new Date(Date.now() + 3_600_000).toISOString() },
    ]);
    await waitFor(() => renewed.length === 1, 'the renewal');
    expect(renewed).toEqual([next]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(calls).toHaveLength(1);
  });

  it('does not renew a token early in its life', async () => {
    const { calls } = renewal(fresh(0), []);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(calls).toEqual([]);
  });

  it('retries while the relay cannot answer, and gives up on a refusal', async () => {
    const next = fresh(2);
    const { calls, renewed } = renewal(due(), [
      { kind: 'retry', reason: 'HTTP 503' },
      { kind: 'renewed', token: next, expiresAt: new Date().toISOString() },
    ]);
    await waitFor(() => renewed.length === 1, 'the renewal after a retry', 5_000);
    expect(calls).toHaveLength(2);

    const refused = renewal(due(), [{ kind: 'refused', status: 409, reason: 'sandbox_not_live' }]);
    await waitFor(() => refused.calls.length === 1, 'the refused renewal');
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(refused.calls).toHaveLength(1);
    expect(refused.renewed).toEqual([]);
  });

  it('never asks with a token whose times it cannot read', async () => {
    const { calls } = renewal('opaque-token', []);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(calls).toEqual([]);
  });
});
