import { metricValue, testLogger, uniqueId } from '@sandbox-relay/testing';
import type { Express } from 'express';
import request from 'supertest';
import { startMessageQueue, type RunningMessageQueue } from './spec-support';

const logger = testLogger();

describe('message-queue /metrics', () => {
  let service: RunningMessageQueue;
  let app: Express;

  beforeAll(async () => {
    service = await startMessageQueue(
      'mq-metrics-test',
      { queuePrefix: uniqueId('mq-metrics'), concurrency: 2, bodyLimit: '256kb' },
      logger,
    );
    ({ app } = service);
  });
  afterAll(() => service.close());

  const scrape = async () => (await request(app).get('/metrics').expect(200)).text;

  it('counts queued messages (not duplicates) and drained ones by type', async () => {
    const sandbox = uniqueId('sb');
    const before = await scrape();
    const queued = (type: string, text: string) =>
      metricValue(text, 'relay_messages_queued_total', { message_type: type, sender: 'http' }) ?? 0;
    const drained = (type: string, text: string) =>
      metricValue(text, 'relay_messages_drained_total', { message_type: type }) ?? 0;
    const key = uniqueId('key');
    const send = (body: object, idempotencyKey?: string) => {
      const req = request(app).post(`/api/v1/sandboxes/${sandbox}/messages`);
      if (idempotencyKey) req.set('idempotency-key', idempotencyKey);
      return req.send(body).expect(200);
    };
    await send({ content: 'hello', message_type: 'user_message' }, key);
    await send({ content: 'hello', message_type: 'user_message' }, key);
    await send({ content: 'stop', message_type: 'interrupt' });
    const middle = await scrape();
    expect(queued('user_message', middle)).toBe(queued('user_message', before) + 1);
    expect(queued('interrupt', middle)).toBe(queued('interrupt', before) + 1);

    const got = (await request(app).get(`/api/v1/sandboxes/${sandbox}/messages`).expect(200)).body as unknown[];
    expect(got).toHaveLength(2);
    const after = await scrape();
    expect(drained('user_message', after)).toBe(drained('user_message', before) + 1);
    expect(drained('interrupt', after)).toBe(drained('interrupt', before) + 1);
    expect(after).not.toContain(sandbox);
    // The consumer's queue is read at scrape time.
    expect(metricValue(after, 'relay_queue_waiting_jobs', { queue: 'sandbox-messages' })).toBe(0);
  });
});
