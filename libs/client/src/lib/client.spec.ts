import { EVENTS_WS_PATH as CONTRACT_WS_PATH, WS_CLOSE_CODES } from '@sandbox-relay/contracts';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EVENTS_WS_PATH, STREAM_CLOSE_CODES, compareIds } from './event-stream';
import { RelayClient } from './relay-client';
import { RelayError, errorFromAnswer } from './relay-error';

describe('the client beside the contracts', () => {
  it("uses the contracts' close codes and path (kept as literals so pages stay zod-free)", () => {
    expect(STREAM_CLOSE_CODES).toEqual({
      UNAUTHENTICATED: WS_CLOSE_CODES.UNAUTHENTICATED,
      FORBIDDEN: WS_CLOSE_CODES.FORBIDDEN,
      SINCE_AHEAD: WS_CLOSE_CODES.SINCE_AHEAD,
    });
    expect(EVENTS_WS_PATH).toBe(CONTRACT_WS_PATH);
  });

  it('compares decimal ids numerically', () => {
    expect(compareIds('9', '10')).toBeLessThan(0);
    expect(compareIds('12', '12')).toBe(0);
    expect(compareIds('123456789012345678901', '123456789012345678900')).toBeGreaterThan(0);
  });

  it("reads the relay's error envelope, and keeps a status line for anything else", () => {
    const relay = errorFromAnswer(
      409,
      'Conflict',
      JSON.stringify({ error: { code: 'sandbox_not_live', message: 'gone', requestId: 'r1', details: { a: 1 } } }),
    );
    expect(relay).toMatchObject({
      status: 409,
      code: 'sandbox_not_live',
      message: 'gone',
      requestId: 'r1',
      details: { a: 1 },
      retryable: false,
    });
    expect(errorFromAnswer(502, 'Bad Gateway', '<html>')).toMatchObject({
      status: 502,
      code: 'http_error',
      message: '502 Bad Gateway',
      body: '<html>',
      retryable: true,
    });
  });
});

describe('RelayClient over a real local HTTP server', () => {
  let server: Server;
  let base: string;
  const seen: { method?: string; url?: string; headers: Record<string, unknown>; body: string }[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        seen.push({ method: request.method, url: request.url, headers: request.headers, body });
        if (request.url?.startsWith('/slow')) return void setTimeout(() => response.end('{}'), 500);
        if (request.url?.includes('notjson')) return void response.end('hello');
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ status: 'queued', message_id: '1', duplicate: false }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('sends the bearer token read at each call, JSON, and an Idempotency-Key', async () => {
    let token = 'first';
    const client = new RelayClient({ baseUrl: `${base}/`, token: () => token, idempotencyKeyPrefix: 'unit-' });
    await client.sendMessage('sb 1', 'hi');
    token = 'second';
    await client.sendMessage('sb 1', 'again', { idempotencyKey: 'k', messageType: 'interrupt' });
    const [first, second] = seen.slice(-2);
    expect(first).toMatchObject({ method: 'POST', url: '/api/v1/sandboxes/sb%201/messages', body: '{"content":"hi"}' });
    expect(first!.headers).toMatchObject({
      authorization: 'Bearer first',
      'content-type': 'application/json',
      'idempotency-key': expect.stringMatching(/^unit-[0-9a-f]{32}$/),
    });
    expect(second!.headers).toMatchObject({ authorization: 'Bearer second', 'idempotency-key': 'k' });
    expect(JSON.parse(second!.body)).toEqual({ content: 'again', message_type: 'interrupt' });
  });

  it('builds query strings without the unset parameters', async () => {
    await new RelayClient({ baseUrl: base }).history('s', { order: 'desc', before: '10', eventTypes: ['a', 'b'] });
    expect(seen.at(-1)!.url).toBe('/api/v1/sandboxes/s/events?order=desc&before=10&event_type=a%2Cb');
    expect(seen.at(-1)!.headers.authorization).toBeUndefined();
  });

  it('maps a timeout and a body that is not JSON', async () => {
    const client = new RelayClient({ baseUrl: base });
    await expect(client.http.call('/slow', { timeoutMs: 50 })).rejects.toMatchObject({
      status: 0,
      code: 'timeout',
      retryable: true,
    });
    const error = (await client.http.call('/notjson').catch((caught: unknown) => caught)) as RelayError;
    expect(error).toBeInstanceOf(RelayError);
    expect(error).toMatchObject({ status: 200, code: 'invalid_response', body: 'hello' });
  });
});
