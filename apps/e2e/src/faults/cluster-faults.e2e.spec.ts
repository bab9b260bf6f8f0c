import { TcpProxy, testInfra, uniqueId, waitFor } from '@sandbox-relay/testing';
import {
  ClusterVerifier,
  KeepAliveClient,
  MessageLoad,
  PacedEventLoad,
  StreamClient,
  TaskLoad,
  formatCounts,
  type ClusterCounts,
  type StreamFilter,
} from '../support/cluster-load';
import { startCluster, type ClusterServiceName, type RunningCluster } from '../support/cluster';
import { NO_RATE_LIMITS } from '../support/load';
import { PrivateRedis } from '../support/private-redis';
import { buildWorkerBundle } from '../support/supervision';

/**
 * Two replicas of every service behind the edge, under a steady load of event POSTs, WebSocket
 * clients, messages and supervised tasks; one fault after another, each followed by a full check
 * of what the relay acknowledged against what PostgreSQL holds and what every client received.
 * `npm test` runs it at a CI size; `npm run soak` (SOAK=1) at the size, longer.
 */
const SOAK = process.env.SOAK === '1';
const SIZE = SOAK
  ? { rate: 2_000, sandboxes: 500, all: 20, several: 80, one: 100, boxes: 50, messages: 100, tasks: 6, runMs: 30_000 }
  : { rate: 300, sandboxes: 100, all: 4, several: 8, one: 8, boxes: 10, messages: 30, tasks: 2, runMs: 3_000 };
// `npm run soak -- …` may stretch the time under load before and after each fault (SOAK_RUN_S).
if (process.env.SOAK_RUN_S) SIZE.runMs = Number(process.env.SOAK_RUN_S) * 1000;
/** Every process must answer /readyz again within this after a fault ends. */
const READY_WITHIN_MS = 10_000;

jest.setTimeout(SOAK ? 1_800_000 : 180_000);

const SERVICES: readonly ClusterServiceName[] = [
  'ingest',
  'gateway',
  'message-queue',
  'guardian',
  'supervisor',
  'branch-workflow',
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('faults against two replicas of every service, under load', () => {
  const run = uniqueId('cluster');
  const database = new URL(testInfra().databaseUrl);
  let redis: PrivateRedis;
  let proxy: TcpProxy;
  let cluster: RunningCluster;
  let http: KeepAliveClient;
  let events: PacedEventLoad;
  let messages: MessageLoad;
  let tasks: TaskLoad;
  const clients: StreamClient[] = [];
  let verifier: ClusterVerifier;
  /** The load's figures at the previous check: each line's rate is over its own step. */
  let previous = { at: Date.now(), acked: 0, skipped: 0 };

  beforeAll(async () => {
    buildWorkerBundle();
    redis = await PrivateRedis.start();
    proxy = await TcpProxy.start({ host: database.hostname, port: Number(database.port || 5432) });
    const viaProxy = new URL(database);
    viaProxy.port = String(proxy.port);
    cluster = await startCluster({
      env: {
        REDIS_URL: redis.url,
        DATABASE_URL: viaProxy.toString(),
        QUEUE_PREFIX: run,
        ...NO_RATE_LIMITS,
      },
    });
    for (const service of SERVICES) await Promise.all([0, 1].map((index) => cluster.waitReady(service, index, 60_000)));

    http = new KeepAliveClient(SOAK ? 256 : 64);
    const sandboxes = Array.from({ length: SIZE.sandboxes }, (_, i) => `${run}-sb${i}`);
    const boxes = Array.from({ length: SIZE.boxes }, (_, i) => `${run}-mq${i}`);
    events = new PacedEventLoad(http, cluster.edgeUrl, run, sandboxes, SIZE.rate);
    messages = new MessageLoad(http, cluster.edgeUrl, run, boxes, SIZE.messages);
    tasks = new TaskLoad(http, cluster.edgeUrl, run);

    const from = await ClusterVerifier.newestId(testInfra().databaseUrl);
    await tasks.start(SIZE.tasks);
    const taskSandboxes = tasks.tasks.map((task) => task.sandbox_id!);
    const filters: StreamFilter[] = [
      ...Array.from({ length: SIZE.all }, (_, i): StreamFilter =>
        i % 2 === 0 ? { name: `all#${i}` } : { name: `all-sandboxes#${i}`, entityTypes: ['sandbox'] },
      ),
      ...Array.from({ length: SIZE.several }, (_, i): StreamFilter => ({
        name: `several#${i}`,
        entityTypes: ['sandbox'],
        entityIds: [
          ...sandboxes.filter((_, k) => k % SIZE.several === i).slice(0, 5),
          boxes[i % boxes.length]!,
          taskSandboxes[i % taskSandboxes.length]!,
        ],
      })),
      ...Array.from({ length: SIZE.one }, (_, i): StreamFilter => ({
        name: `one#${i}`,
        entityIds: [i % 4 === 3 ? boxes[i % boxes.length]! : sandboxes[(i * 7) % sandboxes.length]!],
      })),
    ];
    for (const filter of filters) {
      const client = new StreamClient(cluster.edgeUrl, filter, from);
      client.start();
      clients.push(client);
    }
    verifier = new ClusterVerifier(testInfra().databaseUrl, events, clients, messages, tasks);
    events.start();
    messages.start();
    previous.at = Date.now();
  });

  afterAll(async () => {
    await events?.pause(5_000);
    await messages?.stop();
    await Promise.all(clients.map((client) => client.stop()));
    await tasks?.stopAll().catch(() => undefined);
    http?.close();
    await cluster?.stop();
    await proxy?.close();
    await redis?.stop();
  });

  /** Waits for every replica of `services` to be ready again; answers how long that took. */
  // Waited for past the bound, so the step's line says how long it really took; expectClean holds the bound.
  async function readyAgain(services: readonly ClusterServiceName[], since = Date.now()): Promise<number> {
    await Promise.all(
      services.flatMap((service) => [0, 1].map((index) => cluster.waitReady(service, index, 6 * READY_WITHIN_MS))),
    );
    return Date.now() - since;
  }

  /** The load keeps going for a while after recovery, then pauses for the check, then resumes. */
  async function settleAndCheck(fault: string, readyMs: number): Promise<ClusterCounts> {
    await sleep(SIZE.runMs);
    await Promise.all([events.pause(), messages.pause()]);
    const now = { at: Date.now(), acked: events.acked, skipped: events.skipped };
    const rate = ` (${Math.round(((now.acked - previous.acked) * 1000) / (now.at - previous.at))} events/s acked of ${SIZE.rate} offered, ${now.skipped - previous.skipped} not offered: the edge was behind)`;
    previous = now;
    const counts = await verifier.check();
    process.stdout.write(formatCounts(fault, counts, readyMs, rate));
    const resumedAt = Date.now();
    previous.at = resumedAt;
    events.start();
    messages.start();
    return counts;
  }

  function expectClean(counts: ClusterCounts, readyMs: number): void {
    expect(counts.acked).toBeGreaterThan(0);
    expect(counts.stored).toBeGreaterThanOrEqual(counts.acked);
    expect(counts.messagesAcked).toBeGreaterThan(0);
    expect({
      lost: counts.lost,
      dup: counts.dup,
      phantom: counts.phantom,
      gaps: counts.gaps,
      frameDups: counts.frameDups,
      reorders: counts.reorders,
      strays: counts.strays,
      messagesLost: counts.messagesLost,
      messagesDup: counts.messagesDup,
      restarts: counts.restarts,
      notRunning: counts.notRunning,
    }).toEqual({
      lost: 0,
      dup: 0,
      phantom: 0,
      gaps: 0,
      frameDups: 0,
      reorders: 0,
      strays: 0,
      messagesLost: 0,
      messagesDup: 0,
      restarts: 0,
      notRunning: 0,
    });
    expect(readyMs).toBeLessThan(READY_WITHIN_MS);
  }

  it('steady load, before any fault: every count is clean', async () => {
    expectClean(await settleAndCheck('no fault', 0), 0);
  });

  it.each(SERVICES.map((service, i) => [service, i % 2] as const))(
    'kill -9 of %s replica %i: the launcher restarts it, and nothing acknowledged is lost or doubled',
    async (service, index) => {
      const killed = cluster.signal(service, index, 'SIGKILL');
      const killedAt = Date.now();
      // The launcher notices the exit and starts a new process on the same port.
      const pid = () => cluster.replicas(service).find((replica) => replica.index === index)?.pid;
      await waitFor(() => pid() !== killed && pid() !== null, `${service}#${index} to be restarted`, READY_WITHIN_MS);
      const readyMs = await readyAgain([service], killedAt);
      expectClean(await settleAndCheck(`kill -9 ${service}#${index}`, readyMs), readyMs);
    },
  );

  it('Redis restarted: every replica ready again, nothing lost', async () => {
    await redis.stop();
    await sleep(1_000);
    await redis.start();
    const readyMs = await readyAgain(SERVICES);
    expectClean(await settleAndCheck('Redis restart', readyMs), readyMs);
  });

  it('PostgreSQL cut for 10 s: every replica ready again, nothing lost', async () => {
    proxy.cut();
    await sleep(10_000);
    proxy.restore();
    const readyMs = await readyAgain(SERVICES);
    expectClean(await settleAndCheck('PostgreSQL cut 10 s', readyMs), readyMs);
  });

  it('one gateway stalled for 5 s (SIGSTOP, SIGCONT): its clients catch up, nothing lost', async () => {
    cluster.signal('gateway', 0, 'SIGSTOP');
    try {
      await sleep(5_000);
    } finally {
      cluster.signal('gateway', 0, 'SIGCONT');
    }
    const readyMs = await readyAgain(['gateway']);
    expectClean(await settleAndCheck('gateway#0 stalled 5 s', readyMs), readyMs);
  });
});
