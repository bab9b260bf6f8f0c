import { SANDBOX_SCOPE_MAX, TokenClaims, WsAuthAckFrame, WsAuthFrame } from './auth.schema';
import { WS_CLOSE_CODES, WsServerFrame } from './ws.schema';

describe('auth wire shapes', () => {
  it('takes exactly the three token kinds, each with its scope', () => {
    expect(TokenClaims.parse({ kind: 'sandbox', sandbox_id: 'sb-1' })).toEqual({ kind: 'sandbox', sandbox_id: 'sb-1' });
    expect(TokenClaims.parse({ kind: 'viewer', sandboxes: '*' })).toEqual({ kind: 'viewer', sandboxes: '*' });
    expect(TokenClaims.parse({ kind: 'operator', sandboxes: ['a', 'b'] })).toEqual({
      kind: 'operator',
      sandboxes: ['a', 'b'],
    });
    for (const bad of [
      { kind: 'admin', sandboxes: '*' },
      { kind: 'sandbox' },
      { kind: 'sandbox', sandbox_id: '../etc' },
      { kind: 'viewer', sandboxes: [] },
      { kind: 'viewer', sandboxes: 'all' },
      { kind: 'viewer', sandboxes: Array.from({ length: SANDBOX_SCOPE_MAX + 1 }, (_, i) => `s${i}`) },
    ]) {
      expect(TokenClaims.safeParse(bad).success).toBe(false);
    }
  });

  it('defines the first WebSocket frame and its acknowledgement among the server frames', () => {
    expect(WsAuthFrame.safeParse({ type: 'auth', token: 'x.y.z' }).success).toBe(true);
    expect(WsAuthFrame.safeParse({ type: 'auth', token: '' }).success).toBe(false);
    expect(WsAuthFrame.safeParse({ type: 'auth' }).success).toBe(false);
    const ack: WsAuthAckFrame = {
      type: 'auth_ok',
      kind: 'viewer',
      subject: 'ann',
      sandboxes: ['a'],
      expires_at: '2026-01-01T00:00:00.000Z',
    };
    expect(WsServerFrame.parse(ack)).toEqual(ack);
    expect(
      WsAuthAckFrame.safeParse({ ...ack, kind: 'anonymous', subject: null, expires_at: null, sandboxes: '*' }).success,
    ).toBe(true);
  });

  it('keeps the auth close codes in the application range next to the others', () => {
    expect(WS_CLOSE_CODES).toMatchObject({ UNAUTHENTICATED: 4401, FORBIDDEN: 4403 });
    expect(new Set(Object.values(WS_CLOSE_CODES)).size).toBe(Object.values(WS_CLOSE_CODES).length);
  });
});
