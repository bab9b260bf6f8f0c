import { QUEUE_NAMES, type EventEnvelope } from '@sandbox-relay/contracts';
import { metricsRegistry } from '@sandbox-relay/service-kit';
import { CLOSED_PORT, metricValue, testInfra, testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import { EventPublisher } from './event-bus';
import { JobProducer, createConsumer } from './job-queues';
import { closeRedis, createRedisClient, type Redis } from './redis';

const logger = testLogger();
const { redisUrl } = testInfra();

async function sample(name: string, labels: Record<string, string>): Promise<number> {
  return metricValue(await metricsRegistry.metrics(), name, labels) ?? 0;
}

function envelope(id: string): EventEnvelope {
  return {
    id,
    event_type: 'agent.message',
    entity_type: 'sandbox',
    entity_id: uniqueId('sb'),
    payload: {},
    source: 'agent',
    timestamp: new Date().toISOString(),
  };
}

describe('bus metrics', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = createRedisClient(redisUrl, { name: 'metrics-test', role: 'worker', logger });
  });
  afterAll(() => closeRedis(redis));

  it('counts published events by outcome', async () => {
    const ok = await sample('relay_events_published_total', { outcome: 'ok' });
    const failed = await sample('relay_events_published_total', { outcome: 'failed' });
    expect(await new EventPublisher(redis, logger).publish([envelope('1'), envelope('2')])).toBe(true);
    const dead = createRedisClient(`redis://127.0.0.1:${CLOSED_PORT}`, {
      name: 'metrics-test',
      role: 'publisher',
      logger,
    });
    expect(await new EventPublisher(dead, logger).publish([envelope('3')])).toBe(false);
    dead.disconnect();
    expect(await sample('relay_events_published_total', { outcome: 'ok' })).toBe(ok + 2);
    expect(await sample('relay_events_published_total', { outcome: 'failed' })).toBe(failed + 1);
  });

  it('counts BullMQ job outcomes by queue: completed, and an invalid payload as failed at once', async () => {
    const prefix = uniqueId('metrics');
    const queue = QUEUE_NAMES.SANDBOX_MESSAGES;
    const labels = (outcome: string) => ({ queue, outcome });
    const completed = await sample('relay_jobs_total', labels('completed'));
    const failed = await sample('relay_jobs_total', labels('failed'));
    const producer = new JobProducer({ connection: redis, prefix, logger });
    const worker = createConsumer(queue, async () => 'ok', { connection: redis, prefix, logger, concurrency: 1 });
    try {
      await producer.enqueue(queue, {
        version: '1',
        sandbox_id: 'sb-1',
        content: 'hi',
        message_type: 'user_message',
        idempotency_key: uniqueId('k'),
        sender: 'test',
      });
      // A payload that skips the producer's validation fails as unrecoverable at dequeue.
      await producer.queue(queue).add(queue, { version: '1', sandbox_id: 'bad id with spaces' } as never);
      await waitFor(
        async () => (await sample('relay_jobs_total', labels('completed'))) === completed + 1,
        'the completed job counted',
        15_000,
      );
      await waitFor(
        async () => (await sample('relay_jobs_total', labels('failed'))) === failed + 1,
        'the failed job counted',
        15_000,
      );
      expect(await sample('relay_job_duration_seconds_count', { queue })).toBeGreaterThanOrEqual(2);
      const text = await metricsRegistry.metrics();
      expect(text).not.toContain('sb-1');
    } finally {
      await worker.close();
      await producer.close();
    }
  });

  it("reports the jobs waiting in a consumer's queue, by queue name", async () => {
    const prefix = uniqueId('depth');
    const queue = QUEUE_NAMES.SANDBOX_MESSAGES;
    const producer = new JobProducer({ connection: redis, prefix, logger });
    const worker = createConsumer(queue, async () => 'ok', { connection: redis, prefix, logger, autorun: false });
    try {
      for (let i = 0; i < 3; i += 1) {
        await producer.enqueue(queue, {
          version: '1',
          sandbox_id: 'sb-depth',
          content: `m${i}`,
          message_type: 'user_message',
          idempotency_key: uniqueId('k'),
          sender: 'test',
        });
      }
      // Paused consumer: the three jobs wait in Redis and the gauge reads them at scrape time.
      expect(await sample('relay_queue_waiting_jobs', { queue })).toBe(3);
      void worker.run();
      await waitFor(
        async () => (await producer.queue(queue).getJobCounts('waiting'))['waiting'] === 0,
        'the queue drained',
        15_000,
      );
    } finally {
      await worker.close();
      await producer.close();
    }
    expect(await sample('relay_queue_waiting_jobs', { queue })).toBe(0);
  });
});
