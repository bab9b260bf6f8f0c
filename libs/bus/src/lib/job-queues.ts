import { QUEUE_PAYLOADS, type QueuePayloads } from '@sandbox-relay/contracts';
import { Queue, UnrecoverableError, Worker, type Job, type JobsOptions } from 'bullmq';
import { counter, histogram, sampledGauge } from '@sandbox-relay/service-kit';
import type { Logger } from 'pino';
import { isCluster, type Redis } from './redis';

const jobOutcomes = counter<'queue' | 'outcome'>({
  name: 'relay_jobs_total',
  help: 'BullMQ job attempts finished by this process, by queue and outcome: completed, retrying (failed, will be retried), failed (no attempts left or unrecoverable).',
  labelNames: ['queue', 'outcome'],
});

const jobDuration = histogram<'queue'>({
  name: 'relay_job_duration_seconds',
  help: 'Time from a BullMQ job attempt starting to it finishing (completed or failed), by queue.',
  labelNames: ['queue'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});

const queueDepth = sampledGauge({
  name: 'relay_queue_waiting_jobs',
  help: 'BullMQ jobs waiting to be processed (waiting, prioritized or delayed), by queue; read from Redis at scrape time by each consumer.',
  labelNames: ['queue'],
});

/** Whether a failed attempt was the job's last: no attempts left, or an UnrecoverableError. */
function finalFailure(job: Job, error: Error): boolean {
  return (
    error instanceof UnrecoverableError ||
    error.name === 'UnrecoverableError' ||
    job.attemptsMade >= (job.opts.attempts ?? 1)
  );
}

function observeDuration(queue: string, job: Job): void {
  if (job.processedOn && job.finishedOn)
    jobDuration.observe({ queue }, Math.max(0, job.finishedOn - job.processedOn) / 1000);
}

export type QueueKey = keyof QueuePayloads;

/** Thrown by a handler, fails the job at once (no retries): a poison payload or an error that cannot succeed later. */
export { UnrecoverableError };

export interface QueueConnectionOptions {
  /** A connection made with role 'worker' (BullMQ needs `maxRetriesPerRequest: null`). */
  connection: Redis;
  /** Key prefix of every queue, so environments sharing one Redis stay apart (a hash tag on a cluster: `queuePrefix`). */
  prefix: string;
  logger: Logger;
}

/**
 * Retries with exponential backoff (1 s, 2 s, 4 s, …); completed jobs are kept an hour for
 * inspection and de-duplication by job id, failed ones a week for diagnosis.
 */
const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 6,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 3_600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3_600 },
};

/**
 * The BullMQ key prefix on `connection`. BullMQ's Lua scripts touch several keys of a queue at once, so
 * on a Redis Cluster every key of a queue must hash to one slot: there the prefix becomes a hash tag,
 * `relay` → `{relay}` (BullMQ's documented way), unless it already holds one. On one node it is kept as is.
 */
export function queuePrefix(connection: Redis, prefix: string): string {
  return isCluster(connection) && !/\{[^}]+\}/.test(prefix) ? `{${prefix}}` : prefix;
}

/** BullMQ job ids may not contain ':' nor be integers; map an idempotency key onto one that is safe. */
export function jobIdFor(idempotencyKey: string): string {
  return `k-${idempotencyKey.replace(/:/g, '_')}`;
}

/** Enqueues typed, validated jobs onto the catalogue's queues (one BullMQ Queue per name, made lazily). */
export class JobProducer {
  private readonly queues = new Map<QueueKey, Queue>();

  constructor(private readonly options: QueueConnectionOptions) {}

  /** Validates `payload` against the queue's schema and adds it; with `jobId`, a re-send is a no-op. */
  async enqueue<N extends QueueKey>(name: N, payload: QueuePayloads[N], jobId?: string): Promise<string> {
    const valid = QUEUE_PAYLOADS[name].parse(payload);
    const job = await this.queue(name).add(name, valid, jobId ? { jobId } : undefined);
    if (!job.id) throw new Error(`queue ${name} returned a job without id`);
    return job.id;
  }

  queue(name: QueueKey): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, {
        connection: this.options.connection,
        prefix: queuePrefix(this.options.connection, this.options.prefix),
        defaultJobOptions: DEFAULT_JOB_OPTIONS,
      });
      queue.on('error', (error) => this.options.logger.warn({ queue: name, err: error.message }, 'queue error'));
      this.queues.set(name, queue);
    }
    return queue;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
  }
}

export interface ConsumerOptions extends QueueConnectionOptions {
  concurrency?: number;
  /** Start paused; call `worker.run()` once the service is ready. */
  autorun?: boolean;
}

/**
 * A worker for one queue of the catalogue. Payloads are validated again at dequeue: one that does not
 * match fails at once as unrecoverable (no retries), visible in the failed set with its reason.
 */
export function createConsumer<N extends QueueKey>(
  name: N,
  handler: (payload: QueuePayloads[N], job: Job) => Promise<unknown>,
  options: ConsumerOptions,
): Worker {
  const log = options.logger.child({ queue: name });
  const prefix = queuePrefix(options.connection, options.prefix);
  const worker = new Worker(
    name,
    async (job) => {
      const parsed = QUEUE_PAYLOADS[name].safeParse(job.data);
      if (!parsed.success) {
        throw new UnrecoverableError(
          `invalid ${name} payload: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
        );
      }
      return handler(parsed.data as QueuePayloads[N], job);
    },
    {
      connection: options.connection,
      prefix,
      concurrency: options.concurrency ?? 4,
      autorun: options.autorun ?? true,
    },
  );
  worker.on('error', (error) => log.warn({ err: error.message }, 'worker error'));
  // Read at scrape time through a Queue on the same connection; gone once the worker closes.
  const counts = new Queue(name, { connection: options.connection, prefix });
  counts.on('error', () => undefined);
  const stopCounting = queueDepth.add(
    async () => {
      const jobs = await counts.getJobCounts('waiting', 'prioritized', 'delayed');
      return (jobs['waiting'] ?? 0) + (jobs['prioritized'] ?? 0) + (jobs['delayed'] ?? 0);
    },
    { queue: name },
  );
  worker.on('closed', () => {
    stopCounting();
    void counts.close().catch(() => undefined);
  });
  worker.on('completed', (job) => {
    jobOutcomes.inc({ queue: name, outcome: 'completed' });
    observeDuration(name, job);
  });
  worker.on('failed', (job, error) => {
    log.warn({ jobId: job?.id, attempts: job?.attemptsMade, err: error.message }, 'job failed');
    jobOutcomes.inc({ queue: name, outcome: !job || finalFailure(job, error) ? 'failed' : 'retrying' });
    if (job) observeDuration(name, job);
  });
  return worker;
}
