import { EdgeAuth } from '@sandbox-relay/auth';
import { MESSAGE_LIMITS, QUEUE_NAMES, type SandboxMessage, type SandboxMessageJob } from '@sandbox-relay/contracts';
import { JobProducer, closeRedis, createRedisClient, jobIdFor, type Redis } from '@sandbox-relay/bus';
import { testInfra, testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import type { Express } from 'express';
import { Pool } from 'pg';
import request from 'supertest';
import { startMessageQueue, type RunningMessageQueue } from './spec-support';

const logger = testLogger();

describe('message-queue', () => {
  let service: RunningMessageQueue;
  let producerRedis: Redis;
  let producer: JobProducer;
  let app: Express;
  const queuePrefix = uniqueId('mq-test');

  const db = new Pool({ connectionString: testInfra().databaseUrl, max: 1 });

  beforeAll(async () => {
    service = await startMessageQueue(
      'mq-test',
      { queuePrefix, concurrency: 4, bodyLimit: '256kb' },
      logger,
      EdgeAuth.off(),
    );
    ({ app } = service);
    producerRedis = createRedisClient(testInfra().redisUrl, { name: 'mq-test-producer', role: 'worker', logger });
    producer = new JobProducer({ connection: producerRedis, prefix: queuePrefix, logger });
  });

  afterAll(async () => {
    await db.end();
    await service.close();
    await producer.close();
    await closeRedis(producerRedis);
  });

  const post = (sandbox: string, body: object, key?: string) => {
    const req = request(app).post(`/api/v1/sandboxes/${sandbox}/messages`);
    if (key) req.set('idempotency-key', key);
    return req.send(body);
  };
  const drain = async (sandbox: string, query = ''): Promise<SandboxMessage[]> =>
    (await request(app).get(`/api/v1/sandboxes/${sandbox}/messages${query}`).expect(200)).body;

  it('round-trips a message and clears it after retrieval (seed 2.1)', async () => {
    const sandbox = uniqueId('test-message-queue');
    const res = await post(sandbox, {
      content: 'Please focus on the authentication module first.',
      message_type: 'user_message',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'queued',
      message_id: expect.stringMatching(/^\d+$/),
      sandbox_id: sandbox,
      duplicate: false,
    });
    const [message, ...rest] = await drain(sandbox);
    expect(rest).toEqual([]);
    expect(message).toMatchObject({
      content: 'Please focus on the authentication module first.',
      message_type: 'user_message',
      message_id: res.body.message_id,
    });
    expect(message!.delivered_at).not.toBeNull();
    expect(await drain(sandbox)).toEqual([]);
  });

  it('hands messages out oldest first (seed 2.2)', async () => {
    const sandbox = uniqueId('test-message-fifo');
    for (let i = 0; i < 3; i += 1)
      await post(sandbox, { content: `Message ${i}`, message_type: 'user_message' }).expect(200);
    expect((await drain(sandbox)).map((message) => message.content)).toEqual(['Message 0', 'Message 1', 'Message 2']);
  });

  it('supports interrupts and delivers them ahead of a backlog (seed 2.3)', async () => {
    const sandbox = uniqueId('test-interrupt');
    for (let i = 0; i < 5; i += 1)
      await post(sandbox, { content: `work ${i}`, message_type: 'user_message' }).expect(200);
    await post(sandbox, { content: 'STOP', message_type: 'interrupt' }).expect(200);
    const first = await drain(sandbox, '?limit=2');
    expect(first.map((message) => message.message_type)).toEqual(['interrupt', 'user_message']);
    expect(first[0]!.content).toBe('STOP');
    expect((await drain(sandbox)).map((message) => message.content)).toEqual(['work 1', 'work 2', 'work 3', 'work 4']);
  });

  it.each([
    [{ content: '', message_type: 'user_message' }, 'body.content'],
    [{ content: '   ', message_type: 'user_message' }, 'body.content'],
    [{ content: 'hi', message_type: 'shout' }, 'body.message_type'],
    [{ content: 'hi', message_type: null }, 'body.message_type'],
    [{ content: 'x'.repeat(MESSAGE_LIMITS.CONTENT_MAX_CHARS + 1), message_type: 'system' }, 'body.content'],
  ])('answers 422 naming the field for %j', async (body, field) => {
    const res = await post(uniqueId('sb'), body);
    expect(res.status).toBe(422);
    expect(res.body.error.details[0].field).toBe(field);
  });

  it('queues a message sent without a type as a user_message (as the original does)', async () => {
    const sandbox = uniqueId('sb-default-type');
    const res = await post(sandbox, { content: 'no type given' }).expect(200);
    expect(res.body).toMatchObject({ message_type: 'user_message', sandbox_id: sandbox });
    expect(await drain(sandbox)).toEqual([
      expect.objectContaining({
        content: 'no type given',
        message_type: 'user_message',
        message_id: res.body.message_id,
      }),
    ]);
  });

  it("round-trips the original guardian's guardian_nudge to the original worker's poll, with the original's id and timestamp", async () => {
    const sandbox = uniqueId('sb-nudge');
    const user = await post(sandbox, { content: 'next: add the tests', message_type: 'user_message' }).expect(200);
    // OmoiOS's IntelligentGuardian posts exactly this body, without credentials or other headers.
    const content = '[GUARDIAN INTERVENTION - guidance] The tests fail on an import; fix it before anything else.';
    const nudge = await post(sandbox, { content, message_type: 'guardian_nudge' });
    expect(nudge.status).toBe(200);
    expect(nudge.body).toMatchObject({
      status: 'queued',
      message_id: expect.stringMatching(/^\d+$/),
      sandbox_id: sandbox,
      message_type: 'guardian_nudge',
    });
    // OmoiOS's MessagePoller: a bare GET, a JSON list of {id, content, message_type, timestamp} (it also reads message_id).
    const res = await request(app).get(`/api/v1/sandboxes/${sandbox}/messages`).expect(200);
    expect(Array.isArray(res.body)).toBe(true);
    const [first, second, ...rest] = res.body as Array<Record<string, unknown>>;
    expect(rest).toEqual([]);
    expect(first).toMatchObject({
      id: user.body.message_id,
      message_id: user.body.message_id,
      content: 'next: add the tests',
      message_type: 'user_message',
    });
    expect(second).toMatchObject({
      id: nudge.body.message_id,
      message_id: nudge.body.message_id,
      content,
      message_type: 'guardian_nudge',
    });
    for (const message of [first!, second!]) {
      expect(message['timestamp']).toBe(message['created_at']);
      expect(new Date(String(message['timestamp'])).toISOString()).toBe(message['timestamp']);
    }
    expect(Date.parse(String(second!['timestamp']))).toBeGreaterThanOrEqual(Date.parse(String(first!['timestamp'])));
    expect(await drain(sandbox)).toEqual([]);
    const announced = await db.query<{ message_type: string; source: string }>(
      `SELECT data->>'message_type' AS message_type, source FROM sandbox_events WHERE entity_id = $1 AND event_type = 'SANDBOX_MESSAGE_QUEUED' AND data->>'message_id' = $2`,
      [sandbox, nudge.body.message_id],
    );
    // Stored under the message-queue's own source (a worker may not post it), so it reaches the original's bus under its own name.
    expect(announced.rows).toEqual([{ message_type: 'guardian_nudge', source: 'message-queue' }]);
  });

  it('announces a message with an emoji across the preview cut, the preview ending before the emoji', async () => {
    const sandbox = uniqueId('test-message-preview');
    const res = await post(sandbox, { content: `${'x'.repeat(199)}🎉 and more`, message_type: 'user_message' }).expect(
      200,
    );
    const announced = await db.query<{ preview: string }>(
      `SELECT data->>'content_preview' AS preview FROM sandbox_events WHERE entity_id = $1 AND event_type = 'SANDBOX_MESSAGE_QUEUED' AND data->>'message_id' = $2`,
      [sandbox, res.body.message_id],
    );
    expect(announced.rows).toEqual([{ preview: 'x'.repeat(199) }]);
  });

  it('answers 400 for a hostile sandbox id and 422 for a bad idempotency key', async () => {
    expect((await post('a%2Fb', { content: 'x', message_type: 'system' })).status).toBe(400);
    expect((await post('sb', { content: 'x', message_type: 'system' }, 'has space')).status).toBe(422);
  });

  it('never hands one message to two concurrent drains', async () => {
    const sandbox = uniqueId('sb-concurrent');
    const sent = await Promise.all(
      Array.from({ length: 60 }, (_, i) => post(sandbox, { content: `m${i}`, message_type: 'user_message' })),
    );
    const drains = await Promise.all(Array.from({ length: 8 }, () => drain(sandbox, '?limit=10')));
    const handedOut = drains.flat().map((message) => message.message_id);
    const rest = (await drain(sandbox, '?limit=1000')).map((message) => message.message_id);
    expect(new Set(handedOut).size).toBe(handedOut.length);
    expect([...handedOut, ...rest].sort()).toEqual(sent.map((res) => res.body.message_id).sort());
  });

  it('replays delivered messages after `since` without changing anything', async () => {
    const sandbox = uniqueId('sb-since');
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1)
      ids.push((await post(sandbox, { content: `m${i}`, message_type: 'user_message' })).body.message_id);
    const delivered = await drain(sandbox);
    expect(delivered.map((message) => message.message_id)).toEqual(ids);
    const replay = await drain(sandbox, `?since=${ids[0]}`);
    expect(replay.map((message) => message.content)).toEqual(['m1', 'm2']);
    expect(await drain(sandbox, `?since=${ids[0]}`)).toEqual(replay);
    expect(await drain(sandbox)).toEqual([]);
  });

  it('re-reads after `since` what a later drain handed out below it (an interrupt went first; the answer was lost)', async () => {
    const sandbox = uniqueId('sb-since-interrupt');
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1)
      ids.push((await post(sandbox, { content: `m${i}`, message_type: 'user_message' })).body.message_id);
    const stop = (await post(sandbox, { content: 'STOP', message_type: 'interrupt' })).body.message_id;
    // The worker read this drain: the interrupt (the highest id so far) and m0.
    expect((await drain(sandbox, '?limit=2')).map((message) => message.message_id)).toEqual([stop, ids[0]]);
    // This drain's answer never reached the worker, which re-reads from the highest id it has.
    expect((await drain(sandbox)).map((message) => message.content)).toEqual(['m1', 'm2']);
    // m0 came in the drain the worker read, so it is not repeated.
    expect((await drain(sandbox, `?since=${stop}`)).map((message) => message.content)).toEqual(['m1', 'm2']);
    expect(await drain(sandbox)).toEqual([]);
  });

  it('queues a retried HTTP send once (Idempotency-Key)', async () => {
    const sandbox = uniqueId('sb-idem');
    const key = uniqueId('key');
    const first = await post(sandbox, { content: 'once', message_type: 'user_message' }, key);
    const second = await post(sandbox, { content: 'once', message_type: 'user_message' }, key);
    expect(second.body).toMatchObject({ message_id: first.body.message_id, duplicate: true });
    expect((await drain(sandbox)).map((message) => message.content)).toEqual(['once']);
  });

  it('a retried send whose first attempt stored the message but not its SANDBOX_MESSAGE_QUEUED announces it, once', async () => {
    const sandbox = uniqueId('sb-idem-announce');
    const key = uniqueId('key');
    const announcements = async () =>
      (
        await db.query<{ message_id: string }>(
          `SELECT data->>'message_id' AS message_id FROM sandbox_events WHERE entity_id = $1 AND event_type = 'SANDBOX_MESSAGE_QUEUED'`,
          [sandbox],
        )
      ).rows;
    const first = await post(sandbox, { content: 'announce me', message_type: 'user_message' }, key).expect(200);
    // What a crash between the message's commit and its event's leaves.
    await db.query(`DELETE FROM sandbox_events WHERE entity_id = $1 AND event_type = 'SANDBOX_MESSAGE_QUEUED'`, [
      sandbox,
    ]);
    for (let i = 0; i < 2; i += 1) {
      expect((await post(sandbox, { content: 'announce me', message_type: 'user_message' }, key)).body).toMatchObject({
        message_id: first.body.message_id,
        duplicate: true,
      });
    }
    expect(await announcements()).toEqual([{ message_id: first.body.message_id }]);
  });

  it('refuses an Idempotency-Key reused for another sandbox or another body (422) instead of answering the first message', async () => {
    const [sandbox, other] = [uniqueId('sb-idem-a'), uniqueId('sb-idem-b')];
    const key = uniqueId('key');
    await post(sandbox, { content: 'for a', message_type: 'user_message' }, key).expect(200);
    for (const [target, body] of [
      [other, { content: 'for a', message_type: 'user_message' }],
      [sandbox, { content: 'something else', message_type: 'user_message' }],
      [sandbox, { content: 'for a', message_type: 'interrupt' }],
    ] as const) {
      const res = await post(target, body, key);
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({
        code: 'idempotency_key_reused',
        message: expect.stringContaining('idempotency-key'),
      });
    }
    expect(await drain(other)).toEqual([]);
    expect((await drain(sandbox)).map((message) => message.content)).toEqual(['for a']);
  });

  it('fails a sandbox-messages job whose idempotency key another message holds, at once and without queuing it', async () => {
    const key = uniqueId('guardian:reused');
    const first: SandboxMessageJob = {
      version: '1',
      sandbox_id: uniqueId('sb-job-a'),
      content: 'first',
      message_type: 'guardian_intervention',
      idempotency_key: key,
      sender: 'guardian',
    };
    const queue = producer.queue(QUEUE_NAMES.SANDBOX_MESSAGES);
    const done = await queue.getJob(await producer.enqueue(QUEUE_NAMES.SANDBOX_MESSAGES, first, `${jobIdFor(key)}-1`));
    await waitFor(async () => (await done!.getState()) === 'completed', 'the first job to complete');
    const clash = { ...first, sandbox_id: uniqueId('sb-job-b') };
    const failed = await queue.getJob(
      await producer.enqueue(QUEUE_NAMES.SANDBOX_MESSAGES, clash, `${jobIdFor(key)}-2`),
    );
    await waitFor(async () => (await failed!.getState()) === 'failed', 'the clashing job to fail');
    const settled = await queue.getJob(String(failed!.id));
    expect(settled!.attemptsMade).toBe(1);
    expect(settled!.failedReason).toMatch(/idempotency/);
    expect(await drain(clash.sandbox_id)).toEqual([]);
  });

  it('queues BullMQ sandbox-messages jobs like the HTTP path, once per idempotency key', async () => {
    const sandbox = uniqueId('sb-job');
    const job: SandboxMessageJob = {
      version: '1',
      sandbox_id: sandbox,
      content: 'Guardian intervention: verify the tests.',
      message_type: 'guardian_intervention',
      idempotency_key: uniqueId('guardian:loop'),
      sender: 'guardian',
    };
    // Sent twice under different job ids (a producer that retried after a lost answer): queued once.
    await producer.enqueue(QUEUE_NAMES.SANDBOX_MESSAGES, job, jobIdFor(job.idempotency_key));
    await producer.enqueue(QUEUE_NAMES.SANDBOX_MESSAGES, job, `${jobIdFor(job.idempotency_key)}-again`);
    const queue = producer.queue(QUEUE_NAMES.SANDBOX_MESSAGES);
    await waitFor(async () => ((await queue.getJobCounts('completed')).completed ?? 0) >= 2, 'both jobs completed');
    const [message, ...rest] = await drain(sandbox);
    expect(rest).toEqual([]);
    expect(message).toMatchObject({ message_type: 'guardian_intervention', content: job.content });
  });

  it('fails an invalid job at once as unrecoverable, without retries', async () => {
    const queue = producer.queue(QUEUE_NAMES.SANDBOX_MESSAGES);
    const bad = await queue.add(QUEUE_NAMES.SANDBOX_MESSAGES, {
      version: '1',
      sandbox_id: '../x',
      content: '',
    } as never);
    await waitFor(async () => (await bad.getState()) === 'failed', 'the poison job to fail');
    expect(bad.id).toBeDefined();
    const failed = await queue.getJob(String(bad.id));
    expect(failed!.attemptsMade).toBe(1);
    expect(failed!.failedReason).toMatch(/invalid sandbox-messages payload: .*sandbox_id/);
  });

  it('refuses to enqueue an invalid payload at the producer', async () => {
    await expect(
      producer.enqueue(QUEUE_NAMES.SANDBOX_MESSAGES, { version: '1' } as SandboxMessageJob),
    ).rejects.toThrow();
  });
});
