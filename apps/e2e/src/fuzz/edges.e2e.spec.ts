import {
  CreateTaskBody,
  MergeRequest,
  OpenPullRequestRequest,
  StartBranchRequest,
  TaskId,
  TicketId,
} from '@sandbox-relay/contracts';
import fc from 'fast-check';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { NO_RATE_LIMITS } from '../support/load';
import { PrivateRedis } from '../support/private-redis';
import { killSpawned, spawnApp, type RelayProcess } from '../support/process';
import { rawRequest, type RawRequest, type RawResponse } from '../support/raw-http';

/**
 * Bad input against every edge of the real system (the standalone as a process, which mounts every
 * app): generated bodies, ids, headers, query strings and WebSocket frames. Nothing may answer ≥ 500
 * or leave the connection without an answer, every refusal our routes write is a JSON error naming a
 * code, and the process must still be alive and healthy afterwards.
 *
 * FUZZ_RUNS (default 300) is the number of generated cases per edge; the total sent is printed.
 */
const RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 300));
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

jest.setTimeout(600_000);

// ---------------------------------------------------------------- generators

/** Percent-encodes like a browser (a lone surrogate becomes U+FFFD first, as in the WHATWG URL encoder). */
const pct = (value: string) => encodeURIComponent(value.toWellFormed());

const NASTY = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'a\udc00b',
  '\ufeff',
  '..',
  '.',
  '../..',
  '%',
  '%00',
  '%zz',
  '%2e%2e',
  '%252e',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'null',
  'undefined',
  'NaN',
  '[]',
  '{}',
  '[object Object]',
  'a'.repeat(129),
  'a'.repeat(5000),
  '0',
  '-1',
  '1e309',
  '9223372036854775808',
  '18446744073709551616',
  '١٢٣',
  '\u202e',
  '😀',
];
const text = fc.oneof(
  { weight: 3, arbitrary: fc.string() },
  { weight: 2, arbitrary: fc.string({ unit: 'binary' }) },
  { weight: 2, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/) },
);
/** A path segment as a client might send it: valid, percent-encoded anything, or raw bytes (no CR/LF/space, which end the request line). */
const segment = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9._-]{1,128}$/),
  text.map((value) => pct(value)),
  text.map((value) =>
    Buffer.from(value, 'utf8')
      .toString('latin1')
      .replace(/[\r\n ]/g, ''),
  ),
  fc.constantFrom('', '%', '%zz', '%00', '..', '%2F', 'a%2Fb', '%C0%AE', '%ff', '*'),
);
const queryKey = fc.oneof(
  fc.constantFrom(
    'after',
    'before',
    'order',
    'limit',
    'event_type',
    'since',
    'entity_types',
    'entity_ids',
    'event_types',
    'status',
    'after[]',
    'limit[x]',
    'since[0]',
    '__proto__',
    'constructor[prototype]',
  ),
  text,
);
const queryValue = fc.oneof(
  fc.constantFrom(
    '0',
    '1',
    '-1',
    '1.5',
    '1e3',
    'abc',
    '',
    ' 1',
    '00001',
    '9223372036854775807',
    '9223372036854775808',
    '99999999999999999999999',
    'asc',
    'desc',
    'DESC',
    'sandbox',
    'a,b,,c',
    ','.repeat(200),
  ),
  text,
);
const query = fc
  .array(fc.tuple(queryKey, queryValue, fc.boolean()), { maxLength: 6 })
  .map((pairs) =>
    pairs.length === 0
      ? ''
      : '?' +
        pairs.map(([k, v, raw]) => (raw ? `${k}=${v}`.replace(/[\r\n #]/g, '') : `${pct(k)}=${pct(v)}`)).join('&'),
  );
const jsonish = fc.oneof(
  fc.jsonValue(),
  fc.object(),
  fc.constantFrom(null, true, 0, -0, 1e308, [], {}, { __proto__: { polluted: true } }),
);
const eventLike = fc.record(
  {
    event_type: fc.oneof(
      text,
      fc.constantFrom('agent.started', 'agent.tool_use', 'heartbeat', 'agent.completed'),
      fc.integer(),
      fc.constant(null),
    ),
    event_data: fc.oneof(jsonish, fc.dictionary(text, jsonish)),
    source: fc.oneof(text, fc.constant(null), fc.integer()),
    id: fc.oneof(text, fc.integer()),
    timestamp: text,
  },
  { requiredKeys: [] },
);
const messageLike = fc.record(
  {
    content: fc.oneof(text, fc.integer(), jsonish, fc.constant('x'.repeat(33_000))),
    message_type: fc.oneof(
      fc.constantFrom(
        'user_message',
        'interrupt',
        'guardian_intervention',
        'guardian_nudge',
        'system',
        'USER_MESSAGE',
        '',
      ),
      text,
    ),
    priority: fc.integer(),
  },
  { requiredKeys: [] },
);
const stringify = (value: unknown) => JSON.stringify(value) ?? 'null';
/** A request body: JSON of the right shape with wrong parts, any JSON, malformed text or bytes. */
const bodyOf = (shaped: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 4, arbitrary: shaped.map(stringify) },
    { weight: 2, arbitrary: jsonish.map(stringify) },
    { weight: 1, arbitrary: text },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }).map((bytes) => Buffer.from(bytes)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        '{',
        '[',
        '"x"',
        '{"event_type":',
        '\ufeff{}',
        '{"a":1}{"b":2}',
        '[1,]',
        '{"__proto__":{"x":1}}',
        'NaN',
        '1'.repeat(400),
        '['.repeat(5000),
      ),
    },
  );
const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=latin1',
    'application/json; charset=utf-16',
    'application/json; charset=nope',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/vnd.api+json',
    '*/*',
    '',
  ),
  fc.string({ unit: 'binary-ascii' }).map((value) => value.replace(/[\r\n]/g, '')),
);
const headerValue = fc.oneof(
  text.map((value) =>
    Buffer.from(value, 'utf8')
      .toString('latin1')
      .replace(/[\r\n]/g, ''),
  ),
  fc.constantFrom('', ' ', 'x'.repeat(9000)),
);
const extraHeaders = fc
  .array(
    fc.oneof(
      fc.tuple(
        fc.constantFrom(
          'idempotency-key',
          'content-encoding',
          'accept',
          'accept-encoding',
          'authorization',
          'x-request-id',
          'origin',
          'cookie',
          'expect',
          'range',
          'if-none-match',
        ),
        headerValue,
      ),
      fc.tuple(
        fc.constant('content-encoding'),
        fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'compress', 'gzip, gzip'),
      ),
      fc.tuple(fc.stringMatching(/^[A-Za-z0-9-]{1,24}$/), headerValue),
    ),
    { maxLength: 4 },
  )
  .map((headers) =>
    headers.filter(([name]) => !/^(content-length|transfer-encoding|connection|host|upgrade)$/i.test(name)),
  );

// ---------------------------------------------------------------- harness

let redis: PrivateRedis;
let relay: RelayProcess;
let port: number;
let dashboardDir: string;
const counts = new Map<string, number>();

interface Case extends RawRequest {
  edge: string;
}

/** Sends one case; returns a description of what is wrong with the answer, or undefined. */
async function judge(req: Case): Promise<string | undefined> {
  counts.set(req.edge, (counts.get(req.edge) ?? 0) + 1);
  let res: RawResponse;
  try {
    res = await rawRequest(port, req);
  } catch (error) {
    return (error as Error).message;
  }
  if (res.status === 0) return 'connection closed without an answer';
  if (res.status >= 500) return `answered ${res.status}: ${res.body.slice(0, 300)}`;
  // Refusals our routes write are JSON errors naming a code. (Node's own HTTP parser refuses
  // requests it cannot parse with a bare 400 and no body before any route runs.)
  if (res.status >= 400 && res.body.length > 0 && req.method !== 'HEAD') {
    let code: unknown;
    try {
      code = (JSON.parse(res.body) as { error?: { code?: unknown } }).error?.code;
    } catch {
      return `answered ${res.status} with a body that is not JSON: ${res.body.slice(0, 200)}`;
    }
    if (typeof code !== 'string') return `answered ${res.status} without error.code: ${res.body.slice(0, 200)}`;
  }
  return undefined;
}

async function run<T>(arbitrary: fc.Arbitrary<T>, toCase: (value: T) => Case | undefined): Promise<void> {
  await fc.assert(
    fc.asyncProperty(arbitrary, async (value) => {
      const req = toCase(value);
      fc.pre(req !== undefined);
      const problem = await judge(req!);
      if (problem) throw new Error(`${req!.method} ${JSON.stringify(req!.path)} → ${problem}`);
    }),
    { numRuns: RUNS, seed: SEED, endOnFailure: false, interruptAfterTimeLimit: 240_000 },
  );
}

const json = (
  edge: string,
  method: string,
  path: string,
  body: string | Buffer,
  ct: string,
  headers: Array<[string, string]>,
): Case => ({
  edge,
  method,
  path,
  body,
  headers: [...(ct ? ([['Content-Type', ct]] as Array<[string, string]>) : []), ...headers],
});

beforeAll(async () => {
  redis = await PrivateRedis.start();
  // The dashboard's static files (a built dashboard stands in: the fuzzer is after the file serving, not the app).
  dashboardDir = await fs.mkdtemp(path.join(os.tmpdir(), 'relay-fuzz-dashboard-'));
  await fs.mkdir(path.join(dashboardDir, 'assets'));
  await fs.writeFile(
    path.join(dashboardDir, 'index.html'),
    '<!doctype html><title>relay</title><script src="/assets/app.js"></script>',
  );
  await fs.writeFile(path.join(dashboardDir, 'assets', 'app.js'), 'console.log("relay")');
  relay = await spawnApp(
    'standalone',
    { REDIS_URL: redis.url, DASHBOARD_DIR: dashboardDir, ...NO_RATE_LIMITS },
    60_000,
  );
  port = Number(new URL(relay.http).port);
});

afterAll(async () => {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  process.stdout.write(
    `[fuzz] ${total} generated requests and WebSocket sessions (FUZZ_RUNS=${RUNS} per edge): ${[...counts].map(([edge, n]) => `${edge} ${n}`).join(', ')}\n`,
  );
  await killSpawned();
  await redis?.stop();
  if (dashboardDir) await fs.rm(dashboardDir, { recursive: true, force: true });
});

describe('fuzz: bad input against every edge', () => {
  it('ingest: POST /api/v1/sandboxes/:id/events', async () => {
    await run(fc.tuple(segment, bodyOf(eventLike), contentType, extraHeaders), ([id, body, ct, headers]) =>
      json('events', 'POST', `/api/v1/sandboxes/${id}/events`, body, ct, headers),
    );
  });

  it('ingest: POST /api/v1/sandboxes/:id/events/batch', async () => {
    const batch = fc.oneof(
      fc.array(eventLike, { maxLength: 20 }),
      fc.array(jsonish, { maxLength: 5 }),
      fc.constant(Array.from({ length: 1001 }, () => ({ event_type: 'x' }))),
    );
    await run(fc.tuple(segment, bodyOf(batch), contentType, extraHeaders), ([id, body, ct, headers]) =>
      json('batch', 'POST', `/api/v1/sandboxes/${id}/events/batch`, body, ct, headers),
    );
  });

  it('ingest: GET /api/v1/sandboxes/:id/events (history)', async () => {
    await run(fc.tuple(segment, query, extraHeaders), ([id, q, headers]) => ({
      edge: 'history',
      method: 'GET',
      path: `/api/v1/sandboxes/${id}/events${q}`,
      headers,
    }));
  });

  it('message-queue: POST /api/v1/sandboxes/:id/messages', async () => {
    await run(
      fc.tuple(segment, bodyOf(messageLike), contentType, extraHeaders, fc.option(headerValue)),
      ([id, body, ct, headers, key]) =>
        json(
          'messages POST',
          'POST',
          `/api/v1/sandboxes/${id}/messages`,
          body,
          ct,
          key === null ? headers : [...headers, ['Idempotency-Key', key]],
        ),
    );
  });

  it('message-queue: GET /api/v1/sandboxes/:id/messages (drain and since)', async () => {
    await run(fc.tuple(segment, query, extraHeaders), ([id, q, headers]) => ({
      edge: 'messages GET',
      method: 'GET',
      path: `/api/v1/sandboxes/${id}/messages${q}`,
      headers,
    }));
  });

  it('gateway: sandbox list and detail, dashboard assets', async () => {
    const path = fc.oneof(
      query.map((q) => `/api/v1/sandboxes${q}`),
      fc.tuple(segment, query).map(([id, q]) => `/api/v1/sandboxes/${id}${q}`),
      fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => `/assets/${parts.join('/')}`),
      fc.constantFrom(
        '/assets/..%2f..%2fpackage.json',
        '/assets/%2e%2e/%2e%2e/package.json',
        '/index.html',
        '/',
        '/assets/',
        '/assets/%00',
      ),
    );
    await run(fc.tuple(path, extraHeaders), ([p, headers]) => ({
      edge: 'sandboxes/dashboard',
      method: 'GET',
      path: p,
      headers,
    }));
  });

  it('/healthz, /readyz, /metrics and unknown routes, with any method', async () => {
    const method = fc.constantFrom(
      'GET',
      'HEAD',
      'POST',
      'PUT',
      'DELETE',
      'OPTIONS',
      'PATCH',
      'TRACE',
      'PROPFIND',
      'M-SEARCH',
    );
    const path = fc.oneof(
      fc.tuple(fc.constantFrom('/healthz', '/readyz', '/metrics'), query).map(([p, q]) => p + q),
      fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => `/api/v1/${parts.join('/')}`),
      fc.array(segment, { maxLength: 3 }).map((parts) => `/${parts.join('/')}`),
      fc.constantFrom(
        '*',
        '//',
        '/api/v1/sandboxes//events',
        'http://127.0.0.1/healthz',
        '/healthz#x',
        '/%2e%2e/%2e%2e/etc/passwd',
      ),
    );
    await run(
      fc.tuple(method, path, fc.option(bodyOf(jsonish)), contentType, extraHeaders),
      ([m, p, body, ct, headers]) => json('health/unknown', m, p, body ?? '', body === null ? '' : ct, headers),
    );
  });

  it('gateway: WebSocket upgrade with any query string and handshake headers', async () => {
    const handshake = fc.record({
      q: query,
      key: fc.oneof(fc.constant(crypto.randomBytes(16).toString('base64')), headerValue),
      version: fc.constantFrom('13', '8', '', 'x', '13, 8'),
      path: fc.constantFrom(
        '/api/v1/events/ws/events',
        '/api/v1/events/ws/events/',
        '/api/v1/events/ws',
        '/api/v1/events/ws/events%00',
      ),
    });
    await run(handshake, ({ q, key, version, path }) => ({
      edge: 'ws upgrade',
      method: 'GET',
      path: `${path}${q}`,
      headers: [
        ['Upgrade', 'websocket'],
        ['Sec-WebSocket-Key', key],
        ['Sec-WebSocket-Version', version],
      ],
    }));
  });

  it('gateway: any frames on an open WebSocket', async () => {
    const frame = fc.oneof(
      text.map((value) => ({ data: value, binary: false })),
      fc
        .oneof(
          fc.record(
            {
              type: fc.oneof(fc.constantFrom('auth', 'ping', 'pong', 'subscribe'), text),
              token: fc.oneof(text, jsonish),
              since: text,
            },
            { requiredKeys: [] },
          ),
          jsonish,
        )
        .map((value) => ({ data: stringify(value), binary: false })),
      fc.uint8Array({ maxLength: 512 }).map((bytes) => ({ data: Buffer.from(bytes), binary: true })),
      fc.constant({ data: 'x'.repeat(64 * 1024), binary: false }),
    );
    const session = fc.record({
      frames: fc.array(frame, { minLength: 1, maxLength: 5 }),
      q: fc.constantFrom('', '?entity_types=sandbox', '?entity_ids=fuzz-1&since=1'),
    });
    await fc.assert(
      fc.asyncProperty(session, async ({ frames, q }) => {
        counts.set('ws frames', (counts.get('ws frames') ?? 0) + 1);
        const ws = new WebSocket(`${relay.http.replace(/^http/, 'ws')}/api/v1/events/ws/events${q}`);
        const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
        ws.on('error', () => undefined);
        await new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
        });
        for (const f of frames) ws.send(f.data, { binary: f.binary });
        // A protocol round trip: once the pong is back, the server has handled every frame before it.
        const ponged = new Promise<boolean>((resolve) => ws.once('pong', () => resolve(true)));
        ws.ping();
        const outcome = await Promise.race([ponged, closed]);
        if (outcome !== true) {
          // The only reason to close a client for what it sent is a frame over the size limit (1009).
          const tooBig = frames.some((f) => Buffer.byteLength(f.data) > 20 * 1024);
          if (!(tooBig && outcome === 1009)) throw new Error(`server closed the socket with ${outcome}`);
          return;
        }
        ws.terminate();
        await closed;
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('gateway: raw garbage after a successful upgrade', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 256 }), async (bytes) => {
        counts.set('ws raw bytes', (counts.get('ws raw bytes') ?? 0) + 1);
        const ws = new WebSocket(`${relay.http.replace(/^http/, 'ws')}/api/v1/events/ws/events`);
        ws.on('error', () => undefined);
        const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
        await new Promise<void>((resolve) => ws.once('open', () => resolve()));
        (ws as unknown as { _socket: { write(b: Buffer): void } })._socket.write(Buffer.from(bytes));
        setTimeout(() => ws.terminate(), 200);
        await closed;
      }),
      { numRuns: RUNS, seed: SEED },
    );
    expect(relay.child.exitCode).toBeNull();
  });

  it('supervisor: POST /api/v1/tasks, GET /api/v1/tasks/:id, POST /api/v1/tasks/:id/stop (bad input only)', async () => {
    // A valid task starts a real sandbox; the fuzzer sends only what the contract refuses.
    const taskLike = fc.record(
      {
        title: fc.oneof(text, fc.integer(), fc.constant(null)),
        agent: fc.oneof(fc.constantFrom('shell', 'claude'), text),
        agent_id: text,
        prompt: fc.oneof(text, jsonish),
        plan: fc.oneof(jsonish, fc.array(jsonish, { maxLength: 3 })),
        repository: fc.oneof(
          fc.record({ url: fc.oneof(text, fc.constant('--upload-pack=x')), branch: text }, { requiredKeys: [] }),
          jsonish,
        ),
        worker_env: fc.oneof(fc.dictionary(text, fc.oneof(text, jsonish)), jsonish),
        ticket_id: fc.oneof(text, fc.integer()),
      },
      { requiredKeys: [] },
    );
    const create = fc.tuple(bodyOf(taskLike), contentType, extraHeaders).map(([body, ct, headers]) => {
      if (headers.some(([name]) => name.toLowerCase() === 'content-encoding')) return undefined; // could inflate to a valid task
      if (
        ct.startsWith('application/json') &&
        Buffer.isBuffer(body) === false &&
        validJson(body, (v) => CreateTaskBody.safeParse(v).success)
      )
        return undefined;
      return json('tasks POST', 'POST', '/api/v1/tasks', body, ct, headers);
    });
    const read = fc
      .tuple(segment, query)
      .map(([id, q]) =>
        TaskId.safeParse(decodeSafe(id)).success
          ? undefined
          : ({ edge: 'tasks GET', method: 'GET', path: `/api/v1/tasks/${id}${q}` } as Case),
      );
    const stop = fc
      .tuple(segment, bodyOf(fc.record({ reason: fc.oneof(text, jsonish) }, { requiredKeys: [] })), contentType)
      .map(([id, body, ct]) =>
        TaskId.safeParse(decodeSafe(id)).success
          ? undefined
          : json('tasks stop', 'POST', `/api/v1/tasks/${id}/stop`, body, ct, []),
      );
    await run(fc.oneof(create, read, stop), (value) => value);
  });

  it('branch-workflow: POST /api/v1/tickets/:id/branch|pull-request|merge, GET …/branch|compare (bad input only)', async () => {
    // Without GitHub configured a valid request answers 503 github_not_configured by design; the
    // fuzzer sends only requests the contract refuses (bad ticket id or bad body).
    const schemas = {
      branch: StartBranchRequest,
      'pull-request': OpenPullRequestRequest,
      merge: MergeRequest,
    } as const;
    const ticketBody = fc.record(
      {
        title: fc.oneof(text, fc.integer()),
        description: fc.oneof(text, jsonish),
        task_id: fc.oneof(text, fc.integer()),
        kind: fc.oneof(fc.constantFrom('feature', 'fix', 'docs'), text),
        summary: fc.oneof(text, jsonish),
        merge_method: fc.oneof(fc.constantFrom('squash', 'merge', 'rebase'), text),
      },
      { requiredKeys: [] },
    );
    const post = fc
      .tuple(
        segment,
        fc.constantFrom('branch', 'pull-request', 'merge') as fc.Arbitrary<keyof typeof schemas>,
        bodyOf(ticketBody),
        contentType,
        extraHeaders,
      )
      .map(([id, step, body, ct, headers]) => {
        // A valid ticket id is sent only with a JSON body the contract certainly refuses (a body in
        // another media type is ignored by the route, which then treats the request as valid; a
        // Content-Encoding can turn any bytes into some other body, even an empty one).
        const idValid = TicketId.safeParse(decodeSafe(id)).success;
        const encoded = headers.some(([name]) => name.toLowerCase() === 'content-encoding');
        const refusedBody =
          ct === 'application/json' &&
          !encoded &&
          !Buffer.isBuffer(body) &&
          body !== '' &&
          !validJson(body, (v) => schemas[step].safeParse(v ?? {}).success);
        if (idValid && !refusedBody) return undefined;
        return json(`tickets ${step}`, 'POST', `/api/v1/tickets/${id}/${step}`, body, ct, headers);
      });
    const get = fc
      .tuple(segment, fc.constantFrom('branch', 'compare'), query)
      .map(([id, what, q]) =>
        TicketId.safeParse(decodeSafe(id)).success
          ? undefined
          : ({ edge: `tickets ${what} GET`, method: 'GET', path: `/api/v1/tickets/${id}/${what}${q}` } as Case),
      );
    await run(fc.oneof(post, get), (value) => value);
  });

  it('is still alive and healthy afterwards', async () => {
    expect(relay.child.exitCode).toBeNull();
    expect(relay.child.signalCode).toBeNull();
    const health = await rawRequest(port, { method: 'GET', path: '/healthz' });
    expect(health.status).toBe(200);
    const fatal = relay.logs.filter(
      (line) => line.includes('"level":60') || /uncaughtException|unhandledRejection/.test(line),
    );
    expect(fatal).toEqual([]);
  });
});

function decodeSafe(segmentText: string): string {
  try {
    return decodeURIComponent(segmentText);
  } catch {
    return segmentText;
  }
}

function validJson(body: string, valid: (value: unknown) => boolean): boolean {
  try {
    return valid(JSON.parse(body));
  } catch {
    return false;
  }
}
