import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Parser } from '@asyncapi/parser';
import {
  EventEnvelope,
  OmoiosErrorFrame,
  OmoiosSubscribeFrame,
  OmoiosSubscribedFrame,
  OmoiosSystemEvent,
  QUEUE_NAMES,
  QUEUE_PAYLOADS,
  RelayOmoiosEvent,
  WS_CLOSE_CODES,
  WsAuthAckFrame,
  WsAuthFrame,
  WsClientFrame,
  WsPingFrame,
} from '@sandbox-relay/contracts';
import { parse } from 'yaml';
import { z } from 'zod';
import { ASYNCAPI_FILE, buildAsyncApi, renderAsyncApi } from './asyncapi';
import { ROOT } from './apps';

const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const committed = readFileSync(path.join(ROOT, ASYNCAPI_FILE), 'utf8');

interface Doc {
  channels: Record<
    string,
    { address: string; messages: Record<string, { $ref: string }>; 'x-close-codes'?: Record<string, string> }
  >;
  components: {
    messages: Record<string, { payload: { $ref: string }; examples?: Array<{ payload: unknown }> }>;
    schemas: Record<string, unknown>;
  };
}
const doc = parse(committed) as Doc;

/** The contract each message's payload was generated from. */
const CONTRACTS: Record<string, z.ZodType> = {
  eventEnvelope: EventEnvelope,
  ping: WsPingFrame,
  authFrame: WsAuthFrame,
  authAck: WsAuthAckFrame,
  clientPing: WsClientFrame,
  omoiosEvent: RelayOmoiosEvent,
  subscribe: OmoiosSubscribeFrame,
  subscribed: OmoiosSubscribedFrame,
  omoiosError: OmoiosErrorFrame,
  omoiosSystemEvent: OmoiosSystemEvent,
  SandboxMessagesJob: QUEUE_PAYLOADS[QUEUE_NAMES.SANDBOX_MESSAGES],
  BranchWorkflowJob: QUEUE_PAYLOADS[QUEUE_NAMES.BRANCH_WORKFLOW],
};

describe('the AsyncAPI document', () => {
  it('is committed as generated from the contracts (regenerate: npx tsx --tsconfig tsconfig.base.json deploy/src/asyncapi.write.ts)', () => {
    expect(committed).toBe(renderAsyncApi(version));
  });

  it('parses and validates with the AsyncAPI parser, with no error, warning or hint', async () => {
    const { document, diagnostics } = await new Parser().parse(committed);
    expect(diagnostics.map((d) => `${d.severity} ${d.code}: ${d.message} at ${d.path.join('.')}`)).toEqual([]);
    expect(document?.version()).toBe('3.1.0');
    const addresses = document!
      .channels()
      .all()
      .map((channel) => channel.address());
    expect(addresses).toEqual(
      expect.arrayContaining([
        '/api/v1/events/ws/events',
        '/api/v1/ws/events',
        'relay.events.{entity_type}.{entity_id}',
        'relay.events.{shard_tag}',
        'events.{event_type}',
        ...Object.values(QUEUE_NAMES),
      ]),
    );
    // The parser resolved every reference: each operation's messages carry their payload schema.
    for (const operation of document!.operations().all()) {
      expect(operation.messages().all().length).toBeGreaterThan(0);
      for (const message of operation.messages().all()) {
        expect(message.hasPayload()).toBe(true);
        expect(JSON.stringify(message.payload()!.json())).not.toContain('$ref');
      }
    }
  });

  it('generates each payload from its contract, and every example is accepted by that contract', () => {
    expect(Object.keys(doc.components.messages).sort()).toEqual(Object.keys(CONTRACTS).sort());
    for (const [name, message] of Object.entries(doc.components.messages)) {
      const contract = CONTRACTS[name]!;
      const schemaName = message.payload.$ref.split('/').pop()!;
      const { description: _, ...generated } = doc.components.schemas[schemaName] as Record<string, unknown>;
      const fromContract = (['input', 'output'] as const).map((io) => {
        const { $schema: _dialect, ...json } = z.toJSONSchema(contract, { io, target: 'draft-7' }) as Record<
          string,
          unknown
        >;
        return json;
      });
      expect(fromContract).toContainEqual(generated);
      for (const example of message.examples ?? []) expect(contract.safeParse(example.payload).error).toBeUndefined();
    }
    expect(
      Object.values(doc.components.messages).flatMap((message) => message.examples ?? []).length,
    ).toBeGreaterThanOrEqual(10);
  });

  it("names every close code of both paths, the original's 4401, 1013 and 1012 on its own", () => {
    const relay = Object.keys(doc.channels['relayWebSocket']?.['x-close-codes'] ?? {}).map(Number);
    const omoios = Object.keys(doc.channels['omoiosWebSocket']?.['x-close-codes'] ?? {}).map(Number);
    expect(new Set([...relay, ...omoios])).toEqual(new Set(Object.values(WS_CLOSE_CODES)));
    expect(omoios).toEqual(
      expect.arrayContaining([
        WS_CLOSE_CODES.UNAUTHENTICATED,
        WS_CLOSE_CODES.TRY_AGAIN_LATER,
        WS_CLOSE_CODES.SERVICE_RESTART,
      ]),
    );
    expect(relay).not.toContain(WS_CLOSE_CODES.SERVICE_RESTART);
  });

  it('has a channel for every BullMQ queue of the catalogue, carrying its job schema', () => {
    const built = buildAsyncApi(version) as unknown as Doc;
    for (const queue of Object.values(QUEUE_NAMES)) {
      const channel = Object.values(built.channels).find((candidate) => candidate.address === queue);
      expect(channel).toBeDefined();
      const [messageRef] = Object.values(channel!.messages);
      const messageName = messageRef!.$ref.split('/').pop()!;
      expect(CONTRACTS[messageName]).toBe(QUEUE_PAYLOADS[queue]);
    }
  });
});
