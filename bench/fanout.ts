/*
 * WebSocket fan-out benchmark.  Run: npx tsx bench/fanout.ts   (≈ 90 s on 2 cores)
 *
 * Process layout: the gateway under test is the standalone (ingest + gateway in one process, started with
 * `startStandalone(parseStandaloneEnv({... PORT 0, LOG_LEVEL silent}))`) in a CHILD process
 * (bench/lib/server-child.ts); the baseline, a bare `ws` WebSocketServer on an http.Server, is a second child.
 * The WebSocket clients (`ws` package) and the event publisher (HTTP POSTs) run in this process, so clients never
 * share an event loop with the server they measure, and each server's memory can be read on its own (the child
 * reports process.memoryUsage() and VmRSS from /proc/self/status over its IPC channel, after a forced GC).
 * Both servers stay up for the whole run; throughput rounds alternate between them (product, bare, bare, product)
 * so that a change in background load on a shared machine hits both alike. Redis is a private redis-server
 * started for the run (other users' events on a shared Redis would reach the standalone's pattern subscription
 * and its unfiltered clients) unless BENCH_REDIS_URL is set.
 *
 * Figures, each beside the bare ws server measured the same way in the same run:
 *   (c) memory per idle socket: server RSS, and JS memory (heap used + external + array buffers), before and after
 *       1,000 idle sockets are opened (10 are opened and closed first, so lazily loaded code is not charged to
 *       sockets); the figure is the larger of the two growths per socket, since RSS alone under-reads when the heap
 *       already has free committed pages.                                                      target ≤ 20 KB/socket
 *   (a) fan-out throughput: those 1,000 sockets all subscribe `entity_types=sandbox&entity_ids=<one id>`; events for
 *       that id are published closed-loop with WINDOW events outstanding (an event stops being outstanding once the
 *       last 50 clients to connect, the "sentinels", have received it), which keeps the server saturated without
 *       unbounded queues. Figure: event frames/s received by the 1,000 clients, over ROUNDS × ROUND_S s per server
 *       after a warm-up. Repeated with 1,000 unfiltered `entity_types=sandbox` subscribers. The product is fed by
 *       the worker POST (ingest → Postgres → Redis → gateway); the bare server gets the frame itself (a JSON envelope
 *       of the same shape and size) by POST /publish/<id> and sends it to every subscribed socket.  target ≥ 0.7× bare
 *   (b) POST → frame latency at 2,000 events/s (open loop, fixed schedule, no coordinated omission): 1,000 clients
 *       over 100 sandbox ids (10 viewers each, `entity_types=sandbox&entity_ids=<id>`), events round-robin over the
 *       ids, each carrying performance.now() at send time in event_data; every frame (20,000 frames/s) is timed.
 *       2 s warm-up, 8 s measured. The POST answer time (for the product: until committed) is shown beside it,
 *       as are the server's event-loop delay and CPU.                                          target p99 ≤ 25 ms
 * With all 1,000 clients on one id, 2,000 events/s would mean 2,000,000 frames/s, far beyond one core, so the
 * latency scenario spreads the clients over sandboxes; figure (a) is the single-id capacity.
 *
 * Options (env): BENCH_WINDOW (32), BENCH_ROUNDS (2), BENCH_ROUND_S (4), BENCH_LATENCY_S (8), BENCH_KEEP_ROWS=1,
 * BENCH_REDIS_URL, BENCH_DATABASE_URL, BENCH_SERVER_NODE_ARGS (extra node flags for the server children).
 */
import { Client as PgClient } from 'pg';
import WebSocket from 'ws';
import {
  BENCH_DATABASE_URL,
  cpuPercent,
  fmt1,
  fmtInt,
  bucketQuantileBetween,
  histogramBuckets,
  machineCpu,
  machineCpuPercent,
  percentile,
  sleep,
  startServerChild,
  table,
  verdict,
  type BenchRedis,
  type MachineCpu,
  type MemoryStats,
  type ServerChild,
  benchOption,
  keepAlivePoster,
  runBenchmark,
  writeFigures,
  medianOf,
  type FigureResult,
} from './lib/common';
import { REPLICAS_LABEL, startBareEdge, startDeployed } from './lib/deployed';

/** Idle sockets (memory figure; they stay open through the other scenarios) and latency viewers: 1,000 each. */
const CLIENTS = benchOption('CLIENTS', 1000, 100);
/** Broadcast: BROADCAST_CLIENTS sockets each watching the same BROADCAST_IDS sandboxes, WINDOW posters in a closed loop. */
const BROADCAST_CLIENTS = benchOption('BROADCAST_CLIENTS', 200, 50);
const BROADCAST_IDS = benchOption('BROADCAST_IDS', 20, 5);
const SENTINELS = benchOption('SENTINELS', 50, 10);
const WINDOW = benchOption('WINDOW', 8, 8);
const ROUNDS = benchOption('ROUNDS', 3, 1);
const ROUND_S = benchOption('ROUND_S', 3, 1);
const THROUGHPUT_WARMUP_S = 1;
/** Latency runs (alternating product, bare), each a warm-up and LATENCY_S s measured. */
const LATENCY_RUNS = benchOption('LATENCY_RUNS', 3, 1);
const LATENCY_S = benchOption('LATENCY_S', 5, 1);
const LATENCY_WARMUP_S = benchOption('LATENCY_WARMUP_S', 1, 1);
const LATENCY_RATE = benchOption('LATENCY_RATE', 2000, 2000);
/** One viewer per sandbox: 2,000 events/s spread over 1,000 sandboxes. */
const LATENCY_SANDBOXES = CLIENTS;
const CONNECT_CONCURRENCY = 100;
const WS_PATH = '/api/v1/events/ws/events';

/** Issue 16's targets. */
const TARGET_RATIO = 0.8;
const TARGET_P99_PLUS_MS = 10;
const TARGET_BYTES_PER_SOCKET = 10 * 1024;

/** `BENCH_PRODUCT=deployed`: every service its own process behind the edge (bench/lib/deployed.ts); else the standalone. */
const DEPLOYED = process.env.BENCH_PRODUCT === 'deployed';
const WHERE = DEPLOYED ? 'deployed' : 'standalone';
const WHERE_FIGURE = DEPLOYED ? 'as deployed' : 'standalone';
const BARE_LABEL = DEPLOYED ? 'bare ws behind the same nginx' : 'bare ws';

const runId = `bench-fanout-${Date.now().toString(36)}`;
const runIdBytes = Buffer.from(runId);
const idleId = `${runId}-idle`;
const broadcastIds = Array.from({ length: BROADCAST_IDS }, (_, i) => `${runId}-b${i}`);
const latencyIds = Array.from({ length: LATENCY_SANDBOXES }, (_, i) => `${runId}-s${i}`);
const allIds = [...broadcastIds, ...latencyIds];

// ---------------------------------------------------------------------------------------------------------
// Clients (this process)

type Mode = 'count' | 'sentinel' | 'latency';
const clientState = {
  mode: 'count' as Mode,
  /** Event frames of this run received by all clients (pings and foreign events excluded). */
  frames: 0,
  frameBytes: 0,
  closesByCode: new Map<number, number>(),
  onSentinelFrame: (_seq: number) => undefined as void,
  onLatencyFrame: (_sentAt: number, _now: number) => undefined as void,
};

interface Frame {
  payload: { seq: number; t: number };
}

function onTextFrame(data: Buffer, sentinel: boolean): void {
  // Only this run's events count (pings and anything else on the bus are skipped).
  if (data.indexOf(runIdBytes) === -1) return;
  clientState.frames += 1;
  clientState.frameBytes += data.length;
  if (clientState.mode === 'latency') {
    const now = performance.now();
    clientState.onLatencyFrame((JSON.parse(data.toString()) as Frame).payload.t, now);
  } else if (clientState.mode === 'sentinel' && sentinel) {
    clientState.onSentinelFrame((JSON.parse(data.toString()) as Frame).payload.seq);
  }
}

interface Pool {
  close(): Promise<void>;
}

/** One client: the `ws` package, no compression, no UTF-8 validation; the same client for product and baseline. */
function openSocket(url: string, sentinel: boolean): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) onTextFrame(data, sentinel);
    });
    ws.on('close', (code) => clientState.closesByCode.set(code, (clientState.closesByCode.get(code) ?? 0) + 1));
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
  });
}

/** Opens `count` sockets, CONNECT_CONCURRENCY at a time, in index order; the last SENTINELS are the sentinels. */
async function openPool(
  server: ServerChild,
  count: number,
  query: (index: number) => string,
  alreadyOpen = 0,
): Promise<Pool> {
  const wsBase = server.url.replace(/^http/, 'ws');
  const sockets: WebSocket[] = [];
  for (let start = 0; start < count; start += CONNECT_CONCURRENCY) {
    const batch: Promise<WebSocket>[] = [];
    for (let i = start; i < Math.min(count, start + CONNECT_CONCURRENCY); i += 1) {
      batch.push(openSocket(`${wsBase}${WS_PATH}?${query(i)}`, i >= count - SENTINELS));
    }
    sockets.push(...(await Promise.all(batch)));
  }
  await waitForServerSockets(server, alreadyOpen + count);
  return {
    async close() {
      await Promise.all(
        sockets.map(
          (ws) =>
            new Promise<void>((resolve) => {
              if (ws.readyState === WebSocket.CLOSED) return resolve();
              ws.once('close', () => resolve());
              ws.terminate();
            }),
        ),
      );
      await waitForServerSockets(server, alreadyOpen);
    },
  };
}

async function waitForServerSockets(server: ServerChild, count: number, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await server.cpu()).sockets === count) return;
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Publishing (this process)

const poster = keepAlivePoster(64);
const post = poster.post;

type Publish = (seq: number, entityId: string, sentAt: number) => Promise<number>;

interface Target {
  label: string;
  server: ServerChild;
  publish: Publish;
  /** The product's Prometheus endpoint (standalone only): the event log's own timings over the window. */
  metricsUrl?: string;
}

/** The product: a worker's event POST; the frame the clients get is the stored envelope. */
const publishToProduct =
  (baseUrl: string): Publish =>
  (seq, entityId, sentAt) =>
    post(
      baseUrl,
      `/api/v1/sandboxes/${entityId}/events`,
      JSON.stringify({
        event_type: 'agent.tool_use',
        event_data: { tool: 'bash', command: 'npm test', exit_code: 0, seq, t: sentAt },
        source: 'agent',
      }),
    );

/** The baseline: the frame itself (same envelope shape and size as the product's), sent on as is. */
const publishToBare =
  (baseUrl: string): Publish =>
  (seq, entityId, sentAt) =>
    post(
      baseUrl,
      `/publish/${entityId}`,
      JSON.stringify({
        id: String(10_000_000 + seq),
        event_type: 'agent.tool_use',
        entity_type: 'sandbox',
        entity_id: entityId,
        payload: { tool: 'bash', command: 'npm test', exit_code: 0, seq, t: sentAt },
        source: 'agent',
        timestamp: new Date().toISOString(),
      }),
    );

/** Event sequence numbers are unique over the whole run, so a late frame of one round never counts in another. */
let nextSeq = 0;

// ---------------------------------------------------------------------------------------------------------
// (c) memory

interface MemoryResult {
  before: MemoryStats;
  after: MemoryStats;
  rssPerSocket: number;
  jsPerSocket: number;
}

const jsBytes = (stats: MemoryStats) => stats.memory.heapUsed + stats.memory.external + stats.memory.arrayBuffers;
/** The figure: the larger of the RSS and JS-memory growth per socket (see the note printed under the table). */
const perSocket = (r: MemoryResult) => Math.max(r.rssPerSocket, r.jsPerSocket);

/** Opens the 1,000 idle sockets and leaves them open (they serve the single-id throughput rounds next). */
async function measureMemory(
  target: Target,
  query: (index: number) => string,
  count: number,
): Promise<{ result: MemoryResult; pool: Pool }> {
  const warm = await openPool(target.server, 10, query);
  await warm.close();
  await sleep(300);
  const before = await target.server.stats();
  const pool = await openPool(target.server, count, query);
  await sleep(1000);
  const after = await target.server.stats();
  const result = {
    before,
    after,
    rssPerSocket: ((after.vmRssKb - before.vmRssKb) * 1024) / CLIENTS,
    jsPerSocket: (jsBytes(after) - jsBytes(before)) / CLIENTS,
  };
  return { result, pool };
}

// ---------------------------------------------------------------------------------------------------------
// (a) throughput

interface RoundTotals {
  frames: number;
  events: number;
  wallMs: number;
  cpuServerPct: number;
  cpuClientsPct: number;
  cpuMachinePct: number;
  /** Over the whole round (warm-up and drain included): frames received, POSTs acknowledged, events given up on. */
  allFrames: number;
  allBytes: number;
  acknowledged: number;
  lost: number;
  failedPosts: number;
}

/** Closed loop with WINDOW events outstanding: warm-up, a measured window, then a drain of what is outstanding. */
async function throughputRound(
  target: Target,
  entityIds: string[],
  warmupS: number,
  measureS: number,
): Promise<RoundTotals> {
  const outstanding = new Map<number, { left: number; at: number }>();
  let running = true;
  let published = 0;
  let acknowledged = 0;
  let failedPosts = 0;
  let lost = 0;
  const startFrames = clientState.frames;
  const startBytes = clientState.frameBytes;

  const pump = () => {
    while (running && outstanding.size < WINDOW) {
      const seq = nextSeq++;
      published += 1;
      outstanding.set(seq, { left: SENTINELS, at: performance.now() });
      void target.publish(seq, entityIds[seq % entityIds.length]!, performance.now()).then((status) => {
        if (status === 200) return void (acknowledged += 1);
        failedPosts += 1;
        outstanding.delete(seq);
        pump();
      });
    }
  };
  clientState.onSentinelFrame = (seq) => {
    const entry = outstanding.get(seq);
    if (!entry) return;
    entry.left -= 1;
    if (entry.left > 0) return;
    outstanding.delete(seq);
    pump();
  };
  // An event some sentinel never gets (closed as a slow consumer, say) must not stall the window.
  const watchdog = setInterval(() => {
    const now = performance.now();
    for (const [seq, entry] of outstanding) {
      if (now - entry.at < 5_000) continue;
      outstanding.delete(seq);
      lost += 1;
    }
    pump();
  }, 250);
  clientState.mode = 'sentinel';
  pump();

  const snapshot = async () => ({
    at: performance.now(),
    frames: clientState.frames,
    published,
    server: (await target.server.cpu()).cpu,
    self: process.cpuUsage(),
    machine: machineCpu(),
  });
  await sleep(warmupS * 1000);
  const at0 = await snapshot();
  await sleep(measureS * 1000);
  const at1 = await snapshot();

  running = false;
  const drainDeadline = Date.now() + 10_000;
  while (outstanding.size > 0 && Date.now() < drainDeadline) await sleep(20);
  await sleep(300);
  clearInterval(watchdog);
  clientState.mode = 'count';
  const wallMs = at1.at - at0.at;
  return {
    frames: at1.frames - at0.frames,
    events: at1.published - at0.published,
    wallMs,
    cpuServerPct: cpuPercent(at0.server, at1.server, wallMs),
    cpuClientsPct: cpuPercent(at0.self, at1.self, wallMs),
    cpuMachinePct: machineCpuPercent(at0.machine, at1.machine),
    allFrames: clientState.frames - startFrames,
    allBytes: clientState.frameBytes - startBytes,
    acknowledged,
    lost: lost + outstanding.size,
    failedPosts,
  };
}

interface ThroughputResult {
  framesPerS: number;
  eventsPerS: number;
  perRound: number[];
  cpuServer: number;
  cpuClients: number;
  cpuMachine: number;
  /** Frames received / (events acknowledged × clients), over every round: 1 means nothing was lost. */
  delivered: number;
  lostOrFailed: number;
  meanFrameBytes: number;
}

function summarize(rounds: RoundTotals[]): ThroughputResult {
  const total = (pick: (r: RoundTotals) => number) => rounds.reduce((sum, r) => sum + pick(r), 0);
  const wallMs = total((r) => r.wallMs);
  const weighted = (pick: (r: RoundTotals) => number) => total((r) => pick(r) * r.wallMs) / wallMs;
  return {
    framesPerS: (total((r) => r.frames) / wallMs) * 1000,
    eventsPerS: (total((r) => r.events) / wallMs) * 1000,
    perRound: rounds.map((r) => (r.frames / r.wallMs) * 1000),
    cpuServer: weighted((r) => r.cpuServerPct),
    cpuClients: weighted((r) => r.cpuClientsPct),
    cpuMachine: weighted((r) => r.cpuMachinePct),
    delivered: total((r) => r.allFrames) / (total((r) => r.acknowledged) * BROADCAST_CLIENTS),
    lostOrFailed: total((r) => r.lost + r.failedPosts),
    meanFrameBytes:
      total((r) => r.allBytes) /
      Math.max(
        1,
        total((r) => r.allFrames),
      ),
  };
}

/** Both targets have their 1,000 clients connected; rounds alternate between them (A B, B A, ...). */
async function throughputScenario(
  targets: [Target, Target],
  entityIds: string[],
): Promise<[ThroughputResult, ThroughputResult]> {
  const rounds: [RoundTotals[], RoundTotals[]] = [[], []];
  for (const target of targets) await throughputRound(target, entityIds, THROUGHPUT_WARMUP_S, 0);
  for (let r = 0; r < ROUNDS; r += 1) {
    const order = r % 2 === 0 ? [0, 1] : [1, 0];
    for (const i of order) rounds[i]!.push(await throughputRound(targets[i]!, entityIds, 0.5, ROUND_S));
  }
  return [summarize(rounds[0]), summarize(rounds[1])];
}

// ---------------------------------------------------------------------------------------------------------
// (b) latency

interface LatencyResult {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  samples: number;
  expected: number;
  eventsPerS: number;
  failedPosts: number;
  /** POST round trip (for the product: until the event is committed). */
  ackP50: number;
  ackP99: number;
  /** Server event-loop delay over the measured window (ms). */
  loopP99: number;
  loopMax: number;
  /**
   * The event log's p99 over the window (ms, the upper bound of its histogram bucket): each append from
   * accepted to committed, and each statement's round trip. NaN without a metrics endpoint.
   */
  appendP99: number;
  statementP99: number;
  cpuServer: number;
  cpuClients: number;
  cpuMachine: number;
}

/** Fixed-rate publishing over LATENCY_SANDBOXES ids (1 ms ticks, catching up on schedule); every frame is timed. */
async function measureLatency(target: Target): Promise<LatencyResult> {
  const samples: number[] = [];
  const acks: number[] = [];
  const start = performance.now();
  const measureFrom = start + LATENCY_WARMUP_S * 1000;
  const measureTo = measureFrom + LATENCY_S * 1000;
  let sent = 0;
  let sentInWindow = 0;
  let failedPosts = 0;
  const pending = new Set<Promise<number>>();
  clientState.onLatencyFrame = (sentAt, now) => {
    if (sentAt >= measureFrom && sentAt < measureTo) samples.push(now - sentAt);
  };
  clientState.mode = 'latency';

  type Sample = { at: number; server: NodeJS.CpuUsage; self: NodeJS.CpuUsage; machine: MachineCpu };
  const sampleCpu = async (): Promise<Sample> => ({
    server: (await target.server.cpu()).cpu,
    self: process.cpuUsage(),
    machine: machineCpu(),
    at: performance.now(),
  });
  let from: Sample | undefined;
  let to: Sample | undefined;
  let loop = { p50: NaN, p99: NaN, max: NaN };
  const scrape = async () => (target.metricsUrl ? (await fetch(target.metricsUrl)).text() : '');
  let metricsFrom = '';
  let metricsTo = '';
  void sleep(LATENCY_WARMUP_S * 1000).then(async () => {
    from = await sampleCpu();
    await target.server.loopDelay();
    metricsFrom = await scrape();
  });
  void sleep((LATENCY_WARMUP_S + LATENCY_S) * 1000).then(async () => {
    to = await sampleCpu();
    loop = await target.server.loopDelay();
    metricsTo = await scrape();
  });

  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      if (now >= measureTo) {
        clearInterval(timer);
        return resolve();
      }
      const due = Math.floor(((now - start) / 1000) * LATENCY_RATE) - sent;
      for (let i = 0; i < due; i += 1) {
        const entityId = latencyIds[sent % LATENCY_SANDBOXES]!;
        const sentAt = performance.now();
        const inWindow = sentAt >= measureFrom;
        if (inWindow) sentInWindow += 1;
        sent += 1;
        const request = target.publish(nextSeq++, entityId, sentAt).then((status) => {
          if (inWindow) acks.push(performance.now() - sentAt);
          if (status !== 200) failedPosts += 1;
          return status;
        });
        pending.add(request);
        void request.finally(() => pending.delete(request));
      }
    }, 1);
  });
  await Promise.all(pending);
  await sleep(1000);
  clientState.mode = 'count';
  const sorted = Float64Array.from(samples).sort();
  const sortedAcks = Float64Array.from(acks).sort();
  const logP99 = (name: string) =>
    metricsTo
      ? bucketQuantileBetween(histogramBuckets(metricsFrom, name), histogramBuckets(metricsTo, name), 0.99) * 1000
      : NaN;
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
    samples: sorted.length,
    expected: sentInWindow * (CLIENTS / LATENCY_SANDBOXES),
    eventsPerS: sentInWindow / LATENCY_S,
    failedPosts,
    ackP50: percentile(sortedAcks, 50),
    ackP99: percentile(sortedAcks, 99),
    loopP99: loop.p99,
    loopMax: loop.max,
    appendP99: logP99('relay_event_log_append_seconds'),
    statementP99: logP99('relay_event_log_statement_seconds'),
    cpuServer: from && to ? cpuPercent(from.server, to.server, to.at - from.at) : NaN,
    cpuClients: from && to ? cpuPercent(from.self, to.self, to.at - from.at) : NaN,
    cpuMachine: from && to ? machineCpuPercent(from.machine, to.machine) : NaN,
  };
}

// ---------------------------------------------------------------------------------------------------------

async function deleteRows(): Promise<void> {
  if (process.env.BENCH_KEEP_ROWS === '1') return;
  const client = new PgClient({ connectionString: BENCH_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DELETE FROM sandbox_events WHERE entity_type = 'sandbox' AND entity_id = ANY($1::text[])`, [
      allIds,
    ]);
    await client.query('VACUUM sandbox_events');
  } finally {
    await client.end();
  }
}

const kb = (bytes: number) => `${fmt1(bytes / 1024)} KB`;
const mb = (kib: number) => `${fmt1(kib / 1024)} MB`;
const log = (message: string) => process.stderr.write(`${message}\n`);

async function run(redis: BenchRedis): Promise<number> {
  console.log(
    `setup:   ${DEPLOYED ? `as deployed: npm run cluster, ${REPLICAS_LABEL}, behind its nginx edge; bare ws behind an nginx of the same config` : 'servers in child processes'}; clients + the publisher in the bench process; ` +
      `${fmtInt(CLIENTS)} idle sockets per server, open from the memory figure to the end; ` +
      `broadcast: ${BROADCAST_CLIENTS} sockets × the same ${BROADCAST_IDS} sandboxes, closed loop, ${WINDOW} events outstanding, ` +
      `${ROUNDS} alternating rounds × ${ROUND_S} s; latency: ${fmtInt(LATENCY_RATE)} events/s over ${LATENCY_SANDBOXES} sandboxes × 1 viewer, ` +
      `${LATENCY_RUNS} alternating runs × (${LATENCY_WARMUP_S} s warm-up + ${LATENCY_S} s)`,
  );
  console.log('');

  // As deployed: the cluster behind its edge; bare ws behind an nginx of the same config (its /publish/<id>
  // goes through the edge's `/` location, the gateway's, to the bare server).
  const deployed = DEPLOYED ? await startDeployed(redis.url) : null;
  const productServer = deployed ?? (await startServerChild('standalone'));
  const bareChild = await startServerChild('ws');
  const bareEdge = DEPLOYED ? await startBareEdge(bareChild, bareChild) : null;
  const bareServer = bareEdge ? bareEdge.front(bareChild) : bareChild;
  const product: Target = {
    label: WHERE,
    server: productServer,
    publish: publishToProduct(productServer.url),
    metricsUrl: DEPLOYED ? undefined : `${productServer.url}/metrics`,
  };
  const bare: Target = { label: BARE_LABEL, server: bareServer, publish: publishToBare(bareServer.url) };
  const targets: [Target, Target] = [product, bare];

  const idleQuery = () => `entity_types=sandbox&entity_ids=${idleId}`;
  // The memory figure needs a forced GC inside the server: measured on the standalone only.
  log(
    DEPLOYED
      ? `${fmtInt(CLIENTS)} idle sockets on each ...`
      : `(c) memory of ${fmtInt(CLIENTS)} idle sockets: standalone, then bare ws ...`,
  );
  const productMemory = DEPLOYED ? null : await measureMemory(product, idleQuery, CLIENTS);
  const bareMemory = DEPLOYED ? null : await measureMemory(bare, idleQuery, CLIENTS);
  const idlePools = DEPLOYED
    ? [await openPool(productServer, CLIENTS, idleQuery), await openPool(bareServer, CLIENTS, idleQuery)]
    : [productMemory!.pool, bareMemory!.pool];

  log(`(a) broadcast to ${BROADCAST_CLIENTS} sockets watching the same ${BROADCAST_IDS} sandboxes ...`);
  const broadcastQuery = () => `entity_types=sandbox&entity_ids=${broadcastIds.join(',')}`;
  const broadcastPools = [
    await openPool(productServer, BROADCAST_CLIENTS, broadcastQuery, CLIENTS),
    await openPool(bareServer, BROADCAST_CLIENTS, broadcastQuery, CLIENTS),
  ];
  const [productBroadcast, bareBroadcast] = await throughputScenario(targets, broadcastIds);
  await Promise.all(broadcastPools.map((pool) => pool.close()));

  const latencyQuery = (i: number) => `entity_types=sandbox&entity_ids=${latencyIds[i % LATENCY_SANDBOXES]}`;
  const latencyPools = [
    await openPool(productServer, CLIENTS, latencyQuery, CLIENTS),
    await openPool(bareServer, CLIENTS, latencyQuery, CLIENTS),
  ];
  const latency: [LatencyResult[], LatencyResult[]] = [[], []];
  for (let r = 0; r < LATENCY_RUNS; r += 1) {
    for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
      log(`(b) latency at ${fmtInt(LATENCY_RATE)} events/s, run ${r + 1}: ${targets[i]!.label} ...`);
      latency[i]!.push(await measureLatency(targets[i]!));
    }
  }
  await Promise.all(latencyPools.map((pool) => pool.close()));
  await Promise.all(idlePools.map((pool) => pool.close()));

  const replicaRestarts = deployed?.restarts() ?? 0;
  await productServer.close();
  await bareEdge?.close();
  await bareChild.close();
  poster.close();
  await deleteRows();

  // ----- report
  const throughputRow = (label: string, r: ThroughputResult) => [
    label,
    fmtInt(r.framesPerS),
    r.perRound.map((n) => fmtInt(n)).join(' / '),
    fmtInt(r.eventsPerS),
    fmt1(r.meanFrameBytes),
    `${(r.delivered * 100).toFixed(2)} %`,
    fmtInt(r.lostOrFailed),
    `${fmtInt(r.cpuServer)} / ${fmtInt(r.cpuClients)} / ${fmtInt(r.cpuMachine)}`,
  ];
  console.log(`(a) broadcast to ${BROADCAST_CLIENTS} sockets × ${BROADCAST_IDS} sandboxes`);
  console.log(
    table(
      [
        'server',
        'frames/s',
        'per round',
        'events/s',
        'frame B',
        'delivered',
        'lost+failed',
        'CPU % server / clients / machine',
      ],
      [throughputRow(WHERE, productBroadcast), throughputRow(BARE_LABEL, bareBroadcast)],
    ),
  );
  console.log('');

  const latencyRow = (label: string, r: LatencyResult) => [
    label,
    fmtInt(r.eventsPerS),
    fmt1(r.p50),
    fmt1(r.p90),
    fmt1(r.p99),
    fmt1(r.max),
    `${fmtInt(r.samples)} / ${fmtInt(r.expected)}`,
    fmtInt(r.failedPosts),
    `${fmt1(r.ackP50)} / ${fmt1(r.ackP99)}`,
    Number.isNaN(r.appendP99) ? '—' : `≤ ${fmt1(r.appendP99)} / ≤ ${fmt1(r.statementP99)}`,
    `${fmt1(r.loopP99)} / ${fmt1(r.loopMax)}`,
    `${fmtInt(r.cpuServer)} / ${fmtInt(r.cpuClients)} / ${fmtInt(r.cpuMachine)}`,
  ];
  console.log(
    `(b) POST → frame latency in ms, ${fmtInt(LATENCY_RATE)} events/s, ${LATENCY_SANDBOXES} sandboxes × 1 viewer, ${fmtInt(CLIENTS)} more idle sockets open`,
  );
  console.log(
    table(
      [
        'server, run',
        'events/s',
        'p50',
        'p90',
        'p99',
        'max',
        'frames timed / expected',
        'failed POSTs',
        'POST answer p50 / p99',
        'event log p99: append / statement',
        'loop delay p99 / max',
        'CPU % server / clients / machine',
      ],
      latency.flatMap((runs, i) => runs.map((r, n) => latencyRow(`${targets[i]!.label} ${n + 1}`, r))),
    ),
  );
  console.log('');

  if (productMemory && bareMemory) {
    const memoryRow = (label: string, r: MemoryResult) => [
      label,
      `${mb(r.before.vmRssKb)} → ${mb(r.after.vmRssKb)}`,
      kb(r.rssPerSocket),
      `${fmt1(jsBytes(r.before) / 2 ** 20)} MB → ${fmt1(jsBytes(r.after) / 2 ** 20)} MB`,
      kb(r.jsPerSocket),
      `${fmt1(r.before.memory.heapTotal / 2 ** 20)} MB → ${fmt1(r.after.memory.heapTotal / 2 ** 20)} MB`,
      kb(perSocket(r)),
    ];
    console.log(`(c) server memory before → after ${fmtInt(CLIENTS)} idle sockets (after forced GC)`);
    console.log(
      table(
        [
          'server',
          'RSS',
          'RSS Δ / socket',
          'heap used+external+arrayBuffers',
          'JS Δ / socket',
          'heap committed',
          'per socket (larger Δ)',
        ],
        [memoryRow('standalone', productMemory.result), memoryRow('bare ws', bareMemory.result)],
      ),
    );
    console.log(
      '(RSS Δ alone is unreliable: a process whose heap already has committed-but-free pages (the standalone after start-up)\n' +
        ' hosts new sockets without growing RSS, while a small heap grows in steps; so the figure is the larger of RSS Δ and\n' +
        ' JS Δ per socket. Kernel socket buffers are not in either.)',
    );
  }
  if (DEPLOYED)
    console.log(
      `(as deployed: "server" CPU = every service process + nginx, the bare server's includes its nginx; loop delay is the gateway's; replica restarts during the run: ${replicaRestarts})`,
    );
  console.log(
    '(CPU in % of one core; machine 200 % = both cores busy: machine − server − clients ≈ Postgres + Redis + other users)',
  );
  console.log('');

  const clean = (r: ThroughputResult) => r.lostOrFailed === 0 && r.delivered > 0.999;
  const broadcastRatios = productBroadcast.perRound.map((v, i) => v / bareBroadcast.perRound[i]!);
  const p99s = latency.map((runs) => runs.map((r) => r.p99)) as [number[], number[]];
  const latencyMet =
    medianOf(p99s[0]) <= medianOf(p99s[1]) + TARGET_P99_PLUS_MS && latency[0].every((r) => r.samples === r.expected);
  const figures: FigureResult[] = [
    {
      figure: `broadcast frames/s to ${BROADCAST_CLIENTS} sockets × ${BROADCAST_IDS} sandboxes (${WHERE_FIGURE})`,
      unit: 'frames/s',
      ours: productBroadcast.perRound,
      baseline: bareBroadcast.perRound,
      baselineLabel: BARE_LABEL,
      compare: 'ratio',
      target: `≥ ${TARGET_RATIO}× bare`,
      met: medianOf(broadcastRatios) >= TARGET_RATIO && clean(productBroadcast),
      note: `delivered ${(productBroadcast.delivered * 100).toFixed(2)} %`,
    },
    {
      figure: `POST→frame p99 at ${fmtInt(LATENCY_RATE)} ev/s, ${LATENCY_SANDBOXES} sandboxes, +${fmtInt(CLIENTS)} idle (${WHERE_FIGURE})`,
      unit: 'ms',
      ours: p99s[0],
      baseline: p99s[1],
      baselineLabel: `${BARE_LABEL} p99`,
      compare: 'diff',
      target: `≤ bare + ${TARGET_P99_PLUS_MS} ms`,
      met: latencyMet,
      note: `p50 ${fmt1(medianOf(latency[0].map((r) => r.p50)))} ms; POST answer p99 ${fmt1(medianOf(latency[0].map((r) => r.ackP99)))} ms${DEPLOYED ? '' : `, of which in the event log ≤ ${fmt1(medianOf(latency[0].map((r) => r.appendP99)))} ms (its statement ≤ ${fmt1(medianOf(latency[0].map((r) => r.statementP99)))} ms)`}; loop delay p99 ${fmt1(medianOf(latency[0].map((r) => r.loopP99)))} ms; frames ${latency[0].map((r) => `${r.samples}/${r.expected}`).join(', ')}`,
    },
  ];
  if (productMemory && bareMemory)
    figures.push({
      figure: 'memory per idle socket (standalone)',
      unit: 'KB',
      ours: [perSocket(productMemory.result) / 1024],
      baseline: [perSocket(bareMemory.result) / 1024],
      baselineLabel: 'bare ws',
      compare: 'ratio',
      target: `≤ ${TARGET_BYTES_PER_SOCKET / 1024} KB`,
      met: perSocket(productMemory.result) <= TARGET_BYTES_PER_SOCKET,
      note: `RSS Δ ${kb(productMemory.result.rssPerSocket)}, JS Δ ${kb(productMemory.result.jsPerSocket)}`,
    });
  writeFigures(figures);
  console.log(
    table(
      ['figure', 'measured (median of runs)', 'baseline (median)', 'target', 'result'],
      figures.map((f) => [
        f.figure,
        `${fmt1(medianOf(f.ours))} ${f.unit}`,
        `${fmt1(medianOf(f.baseline))} ${f.unit}`,
        f.target,
        verdict(f.met),
      ]),
    ),
  );
  // 1006 = our own terminate() at the end of a phase; 1001 = a server stopping. Anything else (4008: slow consumer) matters.
  const closes = [...clientState.closesByCode].filter(([code]) => code !== 1006 && code !== 1001);
  if (closes.length > 0)
    console.log(`\nserver-initiated closes seen by clients: ${closes.map(([code, n]) => `${n}× ${code}`).join(', ')}`);
  return 0;
}

runBenchmark('Sandbox Relay — WebSocket fan-out benchmark', run);
