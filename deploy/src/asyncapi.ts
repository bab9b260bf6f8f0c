// The AsyncAPI 3 document of the relay's message edge: both WebSocket protocols, the Redis pub/sub
// channels (the relay's own and the original system's bus) and the BullMQ queues other services may
// feed. Every payload is generated from the zod contracts in libs/contracts (zod 4's `z.toJSONSchema`);
// nothing here restates a field. Written to deploy/asyncapi/sandbox-relay.asyncapi.yaml by
// `npx tsx --tsconfig tsconfig.base.json deploy/src/asyncapi.write.ts`; asyncapi.spec.ts fails when the
// committed file differs from what this builds, and validates it with @asyncapi/parser.
import { z } from 'zod';
import { stringify } from 'yaml';
import {
  DEFAULT_EVENT_SHARDS,
  EVENT_CHANNEL_PREFIX,
  EVENTS_WS_PATH,
  eventShardChannel,
  EventEnvelope,
  OMOIOS_CHANNEL_PREFIX,
  OMOIOS_SANDBOX_EVENT_PREFIX,
  OMOIOS_WS_ERRORS,
  OMOIOS_WS_PATH,
  OmoiosErrorFrame,
  OmoiosSubscribeFrame,
  OmoiosSubscribedFrame,
  OmoiosSystemEvent,
  OmoiosWsQuery,
  QUEUE_NAMES,
  QUEUE_PAYLOADS,
  RelayOmoiosEvent,
  WS_CLOSE_CODES,
  WS_FILTER_MAX_VALUES,
  WsAuthAckFrame,
  WsAuthFrame,
  WsClientFrame,
  WsPingFrame,
  WsSubscribeQuery,
} from '@sandbox-relay/contracts';

export const ASYNCAPI_FILE = 'deploy/asyncapi/sandbox-relay.asyncapi.yaml';

type Json = Record<string, unknown>;
type CloseCode = keyof typeof WS_CLOSE_CODES;

/**
 * A contract as an AsyncAPI schema (a JSON Schema draft-07 superset). `input` is what a sender may
 * write (a filter list as the comma-separated text it is sent as, defaults optional); `output` what a
 * receiver gets. Refinements (size and text checks) have no JSON Schema form and are stated in the
 * schema's description by the contract's own comments in libs/contracts.
 */
function schema(contract: z.ZodType, io: 'input' | 'output', description?: string): Json {
  const { $schema: _dialect, ...json } = z.toJSONSchema(contract, {
    io,
    target: 'draft-7',
    unrepresentable: 'throw',
  }) as Json;
  return description ? { description, ...json } : json;
}

function ref(section: string, name: string): Json {
  return { $ref: `#/components/${section}/${name}` };
}

/** The codes a path closes with, from WS_CLOSE_CODES, as a `x-close-codes` table. */
function closeCodes(codes: Partial<Record<CloseCode, string>>): Json {
  return Object.fromEntries(
    Object.entries(codes).map(([name, why]) => [String(WS_CLOSE_CODES[name as CloseCode]), `${name}: ${why}`]),
  );
}

function message(name: string, title: string, payload: string, summary: string, examples?: Json[]): Json {
  return {
    name,
    title,
    summary,
    contentType: 'application/json',
    payload: ref('schemas', payload),
    ...(examples ? { examples: examples.map((example) => ({ payload: example })) } : {}),
  };
}

const EXAMPLE_ENVELOPE = {
  id: '42',
  event_type: 'agent.tool_completed',
  entity_type: 'sandbox',
  entity_id: 'sbx-1',
  payload: { tool: 'Bash', success: true },
  source: 'agent',
  timestamp: '2026-01-01T00:00:00.000Z',
};

/** Schemas, each generated from its contract; the examples below are checked against them by the parser. */
function schemas(): Json {
  const entries: Record<string, Json> = {
    EventEnvelope: schema(
      EventEnvelope,
      'output',
      'A stored event: `id` is the store bigint as a decimal string, the `since` resume cursor.',
    ),
    WsSubscribeQuery: schema(
      WsSubscribeQuery,
      'input',
      `Filters (comma-separated lists, at most ${WS_FILTER_MAX_VALUES} values each; AND across kinds, OR within) and \`since\`.`,
    ),
    WsAuthFrame: schema(
      WsAuthFrame,
      'input',
      'The first client frame when auth is on; the token never travels in the URL.',
    ),
    WsAuthAckFrame: schema(
      WsAuthAckFrame,
      'output',
      'The answer to an accepted auth frame (`kind: anonymous` with auth off).',
    ),
    WsPingFrame: schema(WsPingFrame, 'output'),
    WsClientFrame: schema(WsClientFrame, 'input', 'Any other client frame is ignored.'),
    OmoiosWsQuery: schema(
      OmoiosWsQuery,
      'input',
      "The original path's query: the relay's filters and `since`, plus `token` (a relay token; required with auth on).",
    ),
    OmoiosSubscribeFrame: schema(
      OmoiosSubscribeFrame,
      'input',
      'Replaces the filter kinds it names from now on; `null` or `[]` clears a kind.',
    ),
    OmoiosSubscribedFrame: schema(OmoiosSubscribedFrame, 'output'),
    OmoiosErrorFrame: schema(
      OmoiosErrorFrame,
      'output',
      `A refusal before a close (4401, 1013) or a complaint (\`${OMOIOS_WS_ERRORS.INVALID_JSON}\`: the socket stays open).`,
    ),
    RelayOmoiosEvent: schema(
      RelayOmoiosEvent,
      'output',
      `A stored event in the original's shape, with the relay's \`id\` and \`timestamp\`: a worker's event as \`${OMOIOS_SANDBOX_EVENT_PREFIX}<type>\` with \`payload = {...event_data, source, original_event_type}\`.`,
    ),
    OmoiosSystemEvent: schema(
      OmoiosSystemEvent,
      'input',
      "The original's SystemEvent as its services publish it; the relay's bridge stores it (source `omoios-bus`) when the store accepts it.",
    ),
  };
  for (const [queue, payload] of Object.entries(QUEUE_PAYLOADS))
    entries[queueSchemaName(queue)] = schema(
      payload as z.ZodType,
      'input',
      `A job on the \`${queue}\` queue; validated at enqueue and at dequeue.`,
    );
  return entries;
}

function queueSchemaName(queue: string): string {
  return `${queue.replace(/(^|-)([a-z])/g, (_m, _dash: string, letter: string) => letter.toUpperCase())}Job`;
}

function messages(): Json {
  const entries: Record<string, Json> = {
    eventEnvelope: message(
      'eventEnvelope',
      'Event',
      'EventEnvelope',
      'A stored event (live or replayed after `since`).',
      [EXAMPLE_ENVELOPE],
    ),
    ping: message(
      'ping',
      'Ping',
      'WsPingFrame',
      'Server ping (relay path: every WS_PING_INTERVAL_MS, 30 s; original path: after WS_OMOIOS_IDLE_PING_MS of client silence).',
      [{ type: 'ping' }],
    ),
    authFrame: message(
      'authFrame',
      'Auth',
      'WsAuthFrame',
      'First frame with auth on, within WS_AUTH_TIMEOUT_MS (5 s).',
      [{ type: 'auth', token: '<relay token>' }],
    ),
    authAck: message('authAck', 'Auth accepted', 'WsAuthAckFrame', 'Sent once admitted, before any event.', [
      { type: 'auth_ok', kind: 'viewer', subject: 'ops', sandboxes: ['sbx-1'], expires_at: '2026-01-01T01:00:00.000Z' },
    ]),
    clientPing: message(
      'clientPing',
      'Client ping or pong',
      'WsClientFrame',
      'Optional; the gateway also runs WebSocket protocol pings.',
      [{ type: 'pong' }],
    ),
    omoiosEvent: message(
      'omoiosEvent',
      "Event (original's shape)",
      'RelayOmoiosEvent',
      'A stored event as the original system names and shapes it.',
      [
        {
          event_type: `${OMOIOS_SANDBOX_EVENT_PREFIX}agent.completed`,
          entity_type: 'sandbox',
          entity_id: 'sbx-1',
          payload: { source: 'agent', original_event_type: 'agent.completed' },
          id: '43',
          timestamp: '2026-01-01T00:00:01.000Z',
        },
      ],
    ),
    subscribe: message('subscribe', 'Subscribe', 'OmoiosSubscribeFrame', 'Changes the filters of an open socket.', [
      { type: 'subscribe', event_types: [`${OMOIOS_SANDBOX_EVENT_PREFIX}agent.completed`], entity_ids: null },
    ]),
    subscribed: message(
      'subscribed',
      'Subscribed',
      'OmoiosSubscribedFrame',
      'The filters now in effect for the kinds the subscribe frame named.',
      [{ status: 'subscribed', filters: { event_types: [`${OMOIOS_SANDBOX_EVENT_PREFIX}agent.completed`] } }],
    ),
    omoiosError: message('omoiosError', 'Error', 'OmoiosErrorFrame', 'A refusal or a complaint.', [
      { error: OMOIOS_WS_ERRORS.INVALID_JSON },
      { error: OMOIOS_WS_ERRORS.NOT_READY },
    ]),
    omoiosSystemEvent: message(
      'omoiosSystemEvent',
      'SystemEvent',
      'OmoiosSystemEvent',
      "An event published by the original's services.",
      [{ event_type: 'TASK_ASSIGNED', entity_type: 'task', entity_id: 't-1', payload: { agent_id: 'a-1' } }],
    ),
  };
  for (const queue of Object.values(QUEUE_NAMES))
    entries[`${queueSchemaName(queue)}`] = message(
      queueSchemaName(queue),
      `Job on ${queue}`,
      queueSchemaName(queue),
      `A BullMQ job added to \`${queue}\` (job name = the queue name).`,
    );
  return entries;
}

const messageRefs = (names: string[]) => Object.fromEntries(names.map((name) => [name, ref('messages', name)]));

function channels(): Json {
  const queueChannels = Object.fromEntries(
    Object.entries(QUEUE_NAMES).map(([key, queue]) => [
      `queue_${key.toLowerCase()}`,
      {
        address: queue,
        title: `BullMQ queue ${queue}`,
        description:
          `A BullMQ queue under the key prefix QUEUE_PREFIX (default \`relay\`: keys \`relay:${queue}:*\`). Add jobs with BullMQ's Queue.add(name = \`${queue}\`, payload); ` +
          'a job that fails its schema is failed at once (UnrecoverableError), never retried or skipped. Renaming the queue strands its waiting jobs.',
        servers: [{ $ref: '#/servers/redis' }],
        messages: messageRefs([queueSchemaName(queue)]),
        'x-bullmq': { queue, jobName: queue, keyPrefix: 'QUEUE_PREFIX (default relay)' },
      },
    ]),
  );
  return {
    relayWebSocket: {
      address: EVENTS_WS_PATH,
      title: "The relay's WebSocket",
      description:
        'Filters in the query (a bad query is refused with an HTTP 400 JSON error before the upgrade); with auth on the first frame is `{"type":"auth","token":…}` ' +
        '(answered `auth_ok`), then envelope frames: with `since`, the stored matching events with a larger id, then live with no gap and no duplicate. Canary events ' +
        '(`__relay_canary__`) only reach clients that name that id. Close codes are in `x-close-codes`.',
      servers: [{ $ref: '#/servers/edge' }],
      messages: messageRefs(['eventEnvelope', 'ping', 'authAck', 'authFrame', 'clientPing']),
      bindings: { ws: { method: 'GET', query: ref('schemas', 'WsSubscribeQuery'), bindingVersion: '0.1.0' } },
      'x-close-codes': closeCodes({
        GOING_AWAY: 'the gateway is shutting down; reconnect (to another replica) with `since`',
        POLICY: 'a protocol violation',
        SLOW_CONSUMER:
          'the client read too slowly (send buffer over WS_MAX_BUFFERED_BYTES); reconnect with `since` = the last id seen',
        REPLAY_FAILED: 'replay from the store failed; reconnect with the same `since`',
        SINCE_AHEAD: '`since` is past the newest stored event (another log); reload history and subscribe afresh',
        UNAUTHENTICATED: 'no auth frame in time, a bad or expired token, or the token expired while connected',
        FORBIDDEN: 'a token that may not watch events, or none of the requested sandboxes',
      }),
    },
    omoiosWebSocket: {
      address: OMOIOS_WS_PATH,
      title: "The original system's WebSocket (OmoiOS)",
      description:
        "The original frontend's protocol beside the relay's, from the same stream and store: the token in the query, events in the original's shape " +
        `(worker events as \`${OMOIOS_SANDBOX_EVENT_PREFIX}<type>\`; filters match either name), subscribe frames answered with the filters in effect, ` +
        '`{"error":…}` frames, and `{"type":"ping"}` after 30 s without a client message. Close codes are in `x-close-codes`.',
      servers: [{ $ref: '#/servers/edge' }],
      messages: messageRefs(['omoiosEvent', 'ping', 'subscribed', 'omoiosError', 'subscribe']),
      bindings: { ws: { method: 'GET', query: ref('schemas', 'OmoiosWsQuery'), bindingVersion: '0.1.0' } },
      'x-close-codes': closeCodes({
        UNAUTHENTICATED:
          'no token, a bad or expired token, or a scope that leaves nothing to watch (after an error frame); the original client does not reconnect',
        TRY_AGAIN_LATER: `the gateway is draining, not ready or full (after \`{"error":"${OMOIOS_WS_ERRORS.NOT_READY}"}\`)`,
        SERVICE_RESTART: 'shutdown: the original client reconnects on it (it would not on 1001)',
        POLICY: 'more frames than allowed before the connection was admitted',
        SLOW_CONSUMER: 'the client read too slowly; reconnect with `since`',
        REPLAY_FAILED: 'replay from the store failed; reconnect with the same `since`',
        SINCE_AHEAD: '`since` is past the newest stored event',
      }),
    },
    relayEvents: {
      address: `${EVENT_CHANNEL_PREFIX}{entity_type}.{entity_id}`,
      title: "The relay's live events (Redis pub/sub)",
      description:
        `Every stored event, published after its commit as the envelope's JSON on \`${EVENT_CHANNEL_PREFIX}<entity_type>.<entity_id>\`; subscribe with the pattern ` +
        `\`${EVENT_CHANNEL_PREFIX}*\`. Live only (pub/sub keeps nothing): catch up from the history API by id. Publish here only what the store holds.`,
      parameters: {
        entity_type: { description: 'The entity type (`sandbox`, `task`, …), `[A-Za-z0-9._-]{1,64}`.' },
        entity_id: { description: 'The entity id, `[A-Za-z0-9._-]{1,128}`.' },
      },
      servers: [{ $ref: '#/servers/redis' }],
      messages: messageRefs(['eventEnvelope']),
    },
    relayEventShards: {
      address: `${EVENT_CHANNEL_PREFIX}{shard_tag}`,
      title: "The relay's live events on a Redis Cluster (sharded pub/sub)",
      description:
        `On a Redis Cluster (REDIS_URL with \`?cluster=true\`) the same envelopes go over sharded pub/sub instead: SPUBLISH on \`${eventShardChannel(0).replace('{0}', '{<k>}')}\`, ` +
        `k = FNV-1a of \`<entity_type>.<entity_id>\` modulo the number of shards (\`shards=\` in REDIS_URL, default ${DEFAULT_EVENT_SHARDS}), so one entity's events keep one channel and their order. ` +
        `Sharded pub/sub has no patterns: subscribers SSUBSCRIBE every shard channel. The braces are a hash tag, spreading the channels over the cluster's nodes. ` +
        `Every publisher and subscriber of a deployment must use the same number of shards. Live only, like the one-node channel.`,
      parameters: {
        shard_tag: {
          description: 'The shard number in literal braces (a Redis hash tag): `{0}` … `{<shards-1>}`.',
          examples: [0, DEFAULT_EVENT_SHARDS - 1].map((shard) =>
            eventShardChannel(shard).slice(EVENT_CHANNEL_PREFIX.length),
          ),
        },
      },
      servers: [{ $ref: '#/servers/redis' }],
      messages: messageRefs(['eventEnvelope']),
    },
    omoiosEvents: {
      address: `${OMOIOS_CHANNEL_PREFIX}{event_type}`,
      title: "The original system's event bus (Redis pub/sub)",
      description:
        `Both ways. Out: every stored event in the original's shape on \`${OMOIOS_CHANNEL_PREFIX}<its original name>\`, carrying the relay's \`id\` (unless OMOIOS_BRIDGE=off). ` +
        `In: the ingest's bridge subscribes \`${OMOIOS_CHANNEL_PREFIX}*\` and stores each SystemEvent without an \`id\` once across replicas; what the store would refuse is dropped and counted.`,
      parameters: {
        event_type: {
          description: `The event's name on the original's bus (a worker's events as \`${OMOIOS_SANDBOX_EVENT_PREFIX}<type>\`).`,
        },
      },
      servers: [{ $ref: '#/servers/redis' }],
      messages: messageRefs(['omoiosEvent', 'omoiosSystemEvent']),
    },
    ...queueChannels,
  };
}

function operation(
  action: 'send' | 'receive',
  channel: string,
  messageNames: string[],
  summary: string,
  extra: Json = {},
): Json {
  return {
    action,
    channel: { $ref: `#/channels/${channel}` },
    summary,
    messages: messageNames.map((name) => ({ $ref: `#/channels/${channel}/messages/${name}` })),
    ...extra,
  };
}

function operations(): Json {
  const queueOperations = Object.fromEntries(
    Object.entries(QUEUE_NAMES).map(([key, queue]) => [
      `consume_${key.toLowerCase()}`,
      operation(
        'receive',
        `queue_${key.toLowerCase()}`,
        [queueSchemaName(queue)],
        `The relay consumes jobs from ${queue}; other services may add them.`,
      ),
    ]),
  );
  return {
    sendRelayFrames: operation(
      'send',
      'relayWebSocket',
      ['eventEnvelope', 'ping', 'authAck'],
      'The gateway sends the auth answer, events and pings.',
    ),
    // No AsyncAPI security scheme describes a token in a message; the auth frame is the channel's first message.
    receiveRelayFrames: operation(
      'receive',
      'relayWebSocket',
      ['authFrame', 'clientPing'],
      'The gateway reads the auth frame (auth on: the first frame, within WS_AUTH_TIMEOUT_MS) and ignores other frames.',
    ),
    sendOmoiosFrames: operation(
      'send',
      'omoiosWebSocket',
      ['omoiosEvent', 'ping', 'subscribed', 'omoiosError'],
      "The gateway sends events in the original's shape, pings, subscribe answers and errors.",
    ),
    receiveOmoiosFrames: operation('receive', 'omoiosWebSocket', ['subscribe'], 'The gateway reads subscribe frames.', {
      security: [ref('securitySchemes', 'queryToken')],
    }),
    publishRelayEvents: operation(
      'send',
      'relayEvents',
      ['eventEnvelope'],
      'Ingest (and every service that stores events) publishes each event after its commit.',
    ),
    receiveRelayEvents: operation(
      'receive',
      'relayEvents',
      ['eventEnvelope'],
      'Gateways (and the guardian, the supervisor) subscribe to every live event.',
    ),
    publishRelayEventShards: operation(
      'send',
      'relayEventShards',
      ['eventEnvelope'],
      'On a Redis Cluster: every service that stores events SPUBLISHes each one after its commit on its shard channel.',
    ),
    receiveRelayEventShards: operation(
      'receive',
      'relayEventShards',
      ['eventEnvelope'],
      'On a Redis Cluster: gateways (and the guardian, the supervisor) SSUBSCRIBE every shard channel.',
    ),
    publishOmoiosEvents: operation(
      'send',
      'omoiosEvents',
      ['omoiosEvent'],
      "The relay publishes every stored event on the original's bus.",
    ),
    receiveOmoiosEvents: operation(
      'receive',
      'omoiosEvents',
      ['omoiosSystemEvent'],
      "The ingest's bridge takes in the original services' events.",
    ),
    ...queueOperations,
  };
}

/** The whole document, as an object. */
export function buildAsyncApi(version: string): Json {
  return {
    asyncapi: '3.1.0',
    info: {
      title: 'Sandbox Relay: WebSocket, pub/sub and queues',
      version,
      description:
        "The relay's message edge, generated from the zod contracts in libs/contracts (deploy/src/asyncapi.ts): the relay's WebSocket and the original system's " +
        "(OmoiOS) beside it, the Redis pub/sub channels live events travel on (the relay's and the original's bus), and the BullMQ queues other services may feed. " +
        "HTTP routes are in the OpenAPI document. README § The edge, § Replacing OmoiOS's sandbox system.",
    },
    defaultContentType: 'application/json',
    servers: {
      edge: {
        host: 'localhost:18000',
        protocol: 'ws',
        description: 'The edge (`npm start`; deployed: the Ingress host over wss).',
      },
      redis: {
        host: 'localhost:6379',
        protocol: 'redis',
        description:
          "The relay's Redis (REDIS_URL): pub/sub and BullMQ. One node, or a Redis Cluster (`?cluster=true`): then live events use sharded pub/sub and BullMQ's prefix is a hash tag (`{relay}`).",
      },
    },
    channels: channels(),
    operations: operations(),
    components: {
      schemas: schemas(),
      messages: messages(),
      securitySchemes: {
        queryToken: {
          type: 'httpApiKey',
          name: 'token',
          in: 'query',
          description:
            'With auth on: a relay token in the `token` query parameter (the original frontend cannot set headers).',
        },
      },
    },
  };
}

/** The document as committed: YAML, no line folding, so a diff shows what changed. */
export function renderAsyncApi(version: string): string {
  return `# Generated by deploy/src/asyncapi.ts from libs/contracts; do not edit by hand (npx tsx --tsconfig tsconfig.base.json deploy/src/asyncapi.write.ts).\n${stringify(buildAsyncApi(version), { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
