/*
 * WebSocket fan-out benchmark.  Run: npx tsx bench/fanout.ts   (≈ 90 s on 2 cores)
 *
 * Process layout: the gateway under test is the standalone (ingest + gateway in one process, as
 * `startStandalone(parseStandaloneEnv({... PORT 0, LOG_LEVEL silent}))`) running in a CHILD process
 * (bench/lib/server-child.ts); the baseline, a bare `ws` WebSocketServer, is another child started after the
 * standalone has stopped. The 1,000 WebSocket clients and the event publisher (HTTP POSTs) run in this
 * process, so clients never share an event loop with the server they measure, and the server's memory can be
 * read on its own (the child reports process.memoryUsage() and /proc/self/status VmRSS over its IPC channel,
 * after a forced GC).
 *
 * Phases, run first against the standalone, then against the bare ws server:
 *   (c) memory per idle socket: server RSS and JS memory (heap + external + array buffers) before and after
 *       1,000 idle sockets are open (10 sockets are opened and closed first so lazily-loaded code is not
 *       charged to the sockets).                                                         target ≤ 20 KB/socket
 *   (a) fan-out throughput: those 1,000 sockets all subscribe `entity_types=sandbox&entity_ids=<one id>`;
 *       events for that id are POSTed closed-loop with WINDOW events outstanding (an event stops being
 *       outstanding once the last 50 clients to connect, the "sentinels", have received it), which keeps the
 *       server saturated without unbounded queues. Figure: event frames/s received by all 1,000 clients over
 *       8 s after a 2 s warm-up. A second scenario repeats it with 1,000 unfiltered `entity_types=sandbox`
 *       subscribers. The bare server receives the same frames (a JSON envelope of the same shape and size)
 *       by POST /publish/<id> and sends each to every subscribed socket.               target ≥ 0.7 × bare
 *   (b) POST→frame latency at 2,000 events/s (open loop, fixed schedule): 1,000 clients spread over 100
 *       sandbox ids (10 viewers per sandbox, `entity_types=sandbox&entity_ids=<id>`), events round-robin over
 *       the 100 ids, each carrying performance.now() at send time in event_data; every received frame
 *       (20,000 frames/s) is timed. 2 s warm-up, 8 s measured.                               target p99 ≤ 25 ms
 *
 * With all 1,000 clients on one id, 2,000 events/s would be 2,000,000 frames/s — far past what one core can
 * write — so the latency scenario spreads clients over sandboxes; figure (a) is the single-id capacity.
 *
 * Options (env): BENCH_WINDOW (32), BENCH_DURATION_S (8), BENCH_WARMUP_S (2), BENCH_KEEP_ROWS=1.
 */
import http from 'node:http';
import { Client as PgClient } from 'pg';
import WebSocket from 'ws';
import {
  BENCH_DATABASE_URL,
  cpuPercent,
  fmt1,
  fmt2,
  fmtInt,
  machineCpu,
  machineCpuPercent,
  machineLines,
  useBenchRedis,
  type BenchRedis,
  percentile,
  sleep,
  startServerChild,
  table,
  verdict,
  type MachineCpu,
  type MemoryStats,
  type ServerChild,
} from './lib/common';

const CLIENTS = 1000;
const SENTINELS = 50;
const WINDOW = Number(process.env.BENCH_WINDOW ?? 32);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 2);
const LATENCY_RATE = 2000;
const LATENCY_SANDBOXES = 100;
const CONNECT_CONCURRENCY = 100;
const WS_PATH = '/api/v1/events/ws/events';

const TARGET_RATIO = 0.7;
const TARGET_P99_MS = 25;
const TARGET_BYTES_PER_SOCKET = 20 * 1024;

const runId = `bench-fanout-${Date.now().toString(36)}`;
const runIdBytes = Buffer.from(runId);
const hotId = `${runId}-hot`;
const latencyIds = Array.from({ length: LATENCY_SANDBOXES }, (_, i) => `${runId}-s${i}`);
const allIds = [hotId, ...latencyIds];

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

interface Payload {
  payload: { seq: number; t: number };
}

interface ClientSocket {
  terminate(): Promise<void>;
}

interface Pool {
  sockets: ClientSocket[];
  close(): Promise<void>;
}

/** What a client does with one text frame from the server. */
function onTextFrame(data: Buffer, sentinel: boolean): void {
  // Only this run's events count (a shared Redis may carry other people's events to unfiltered clients).
  if (data.indexOf(runIdBytes) === -1) return;
  clientState.frames += 1;
  clientState.frameBytes += data.length;
  if (clientState.mode === 'latency') {
    const now = performance.now();
    clientState.onLatencyFrame((JSON.parse(data.toString()) as Payload).payload.t, now);
  } else if (clientState.mode === 'sentinel' && sentinel) {
    clientState.onSentinelFrame((JSON.parse(data.toString()) as Payload).payload.seq);
  }
}

const countClose = (code: number) => clientState.closesByCode.set(code, (clientState.closesByCode.get(code) ?? 0) + 1);

/** One client: the `ws` package, no compression, no UTF-8 validation (the same client for product and baseline). */
function openSocket(url: string, sentinel: boolean): Promise<ClientSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) onTextFrame(data, sentinel);
    });
    ws.on('close', (code) => countClose(code));
    ws.once('open', () =>
      resolve({
        terminate: () =>
          new Promise<void>((done) => {
            if (ws.readyState === WebSocket.CLOSED) return done();
            ws.once('close', () => done());
            ws.terminate();
          }),
      }),
    );
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
  });
}

/** Opens `count` sockets, CONNECT_CONCURRENCY at a time, in index order; the last SENTINELS are sentinels. */
async function openPool(baseUrl: string, count: number, query: (index: number) => string): Promise<Pool> {
  const wsBase = baseUrl.replace(/^http/, 'ws');
  const sockets: ClientSocket[] = [];
  for (let start = 0; start < count; start += CONNECT_CONCURRENCY) {
    const batch = [];
    for (let i = start; i < Math.min(count, start + CONNECT_CONCURRENCY); i += 1) {
      batch.push(openSocket(`${wsBase}${WS_PATH}?${query(i)}`, i >= count - SENTINELS));
    }
    sockets.push(...(await Promise.all(batch)));
  }
  return {
    sockets,
    async close() {
      await Promise.all(sockets.map((socket) => socket.terminate()));
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

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function post(baseUrl: string, path: string, body: string): Promise<number> {
  return new Promise((resolve) => {
    const url = new URL(path, baseUrl);
    const req = http.request(
      { agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

type Publish = (seq: number, entityId: string, sentAt: number) => Promise<number>;

/** The product: a worker's event POST; the frame clients get is the stored envelope. */
const publishToProduct = (baseUrl: string): Publish => (seq, entityId, sentAt) =>
  post(
    baseUrl,
    `/api/v1/sandboxes/${entityId}/events`,
    JSON.stringify({ event_type: 'agent.tool_use', event_data: { tool: 'bash', command: 'npm test', exit_code: 0, seq, t: sentAt }, source: 'agent' }),
  );

/** The baseline: the frame itself (same envelope shape and size as the product's), to be sent as is. */
const publishToBare = (baseUrl: string): Publish => (seq, entityId, sentAt) =>
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

// ---------------------------------------------------------------------------------------------------------
// Phases

interface MemoryResult {
  before: MemoryStats;
  after: MemoryStats;
  rssPerSocket: number;
  jsPerSocket: number;
}

const jsBytes = (stats: MemoryStats) => stats.memory.heapUsed + stats.memory.external + stats.memory.arrayBuffers;

/** (c): opens the 1,000 idle sockets (left open for the single-id throughput phase). */
async function measureMemory(server: ServerChild, query: (index: number) => string): Promise<{ result: MemoryResult; pool: Pool }> {
  const warm = await openPool(server.url, 10, query);
  await warm.close();
  await waitForServerSockets(server, 0);
  await sleep(300);
  const before = await server.stats();
  const pool = await openPool(server.url, CLIENTS, query);
  await waitForServerSockets(server, CLIENTS);
  await sleep(1000);
  const after = await server.stats();
  return {
    result: {
      before,
      after,
      rssPerSocket: ((after.vmRssKb - before.vmRssKb) * 1024) / CLIENTS,
      jsPerSocket: (jsBytes(after) - jsBytes(before)) / CLIENTS,
    },
    pool,
  };
}

interface ThroughputResult {
  framesPerS: number;
  eventsPerS: number;
  cpuServer: number;
  cpuClients: number;
  /** Frames received over the whole phase / (events acknowledged × subscribers): 1 means nothing lost. */
  delivered: number;
  lost: number;
  failedPosts: number;
  meanFrameBytes: number;
}

/** (a): closed-loop publishing with WINDOW events outstanding; frames/s over the measured window. */
async function measureThroughput(server: ServerChild, publish: Publish, entityId: string): Promise<ThroughputResult> {
  const outstanding = new Map<number, { left: number; at: number }>();
  let seq = 0;
  let running = true;
  let acknowledged = 0;
  let failedPosts = 0;
  let lost = 0;
  const startFrames = clientState.frames;
  const startBytes = clientState.frameBytes;

  const pump = () => {
    while (running && outstanding.size < WINDOW) {
      const mine = seq++;
      outstanding.set(mine, { left: SENTINELS, at: performance.now() });
      void publish(mine, entityId, performance.now()).then((status) => {
        if (status === 200) return void (acknowledged += 1);
        failedPosts += 1;
        outstanding.delete(mine);
        pump();
      });
    }
  };
  clientState.onSentinelFrame = (frameSeq) => {
    const entry = outstanding.get(frameSeq);
    if (!entry) return;
    entry.left -= 1;
    if (entry.left > 0) return;
    outstanding.delete(frameSeq);
    pump();
  };
  // An event some sentinel never gets (closed as a slow consumer, say) must not stall the window.
  const watchdog = setInterval(() => {
    const now = performance.now();
    for (const [key, entry] of outstanding) {
      if (now - entry.at < 5_000) continue;
      outstanding.delete(key);
      lost += 1;
    }
    pump();
  }, 250);
  clientState.mode = 'sentinel';
  pump();

  await sleep(WARMUP_S * 1000);
  const t0 = performance.now();
  const frames0 = clientState.frames;
  const seq0 = seq;
  const server0 = (await server.cpu()).cpu;
  const self0 = process.cpuUsage();
  await sleep(DURATION_S * 1000);
  const frames1 = clientState.frames;
  const seq1 = seq;
  const server1 = (await server.cpu()).cpu;
  const self1 = process.cpuUsage();
  const wallMs = performance.now() - t0;

  running = false;
  const drainDeadline = Date.now() + 10_000;
  while (outstanding.size > 0 && Date.now() < drainDeadline) await sleep(20);
  await sleep(500);
  clearInterval(watchdog);
  clientState.mode = 'count';
  const frames = clientState.frames - startFrames;
  return {
    framesPerS: ((frames1 - frames0) / wallMs) * 1000,
    eventsPerS: ((seq1 - seq0) / wallMs) * 1000,
    cpuServer: cpuPercent(server0, server1, wallMs),
    cpuClients: cpuPercent(self0, self1, wallMs),
    delivered: frames / (acknowledged * CLIENTS),
    lost,
    failedPosts,
    meanFrameBytes: (clientState.frameBytes - startBytes) / Math.max(1, frames),
  };
}

interface LatencyResult {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  samples: number;
  expected: number;
  eventsPerS: number;
  failedPosts: number;
  cpuServer: number;
  cpuClients: number;
  cpuMachine: number;
  /** Server event-loop delay over the measured window (ms). */
  loopP99: number;
  loopMax: number;
  /** POST round trip (for the product: until the event is committed), for comparison. */
  ackP50: number;
  ackP99: number;
}

/** (b): fixed-rate publishing over LATENCY_SANDBOXES ids; every frame is timed. */
async function measureLatency(server: ServerChild, publish: Publish): Promise<LatencyResult> {
  const samples: number[] = [];
  const acks: number[] = [];
  const start = performance.now();
  const measureFrom = start + WARMUP_S * 1000;
  const measureTo = measureFrom + DURATION_S * 1000;
  let sent = 0;
  let sentInWindow = 0;
  let failedPosts = 0;
  const pending = new Set<Promise<number>>();
  clientState.onLatencyFrame = (sentAt, now) => {
    if (sentAt >= measureFrom && sentAt < measureTo) samples.push(now - sentAt);
  };
  clientState.mode = 'latency';
  let from: { server: NodeJS.CpuUsage; self: NodeJS.CpuUsage; machine: MachineCpu; at: number } | undefined;
  let to: typeof from;
  const sampleCpu = async () => ({ server: (await server.cpu()).cpu, self: process.cpuUsage(), machine: machineCpu(), at: performance.now() });
  let loop = { p50: NaN, p99: NaN, max: NaN };
  void sleep(WARMUP_S * 1000).then(async () => {
    from = await sampleCpu();
    await server.loopDelay();
  });
  void sleep((WARMUP_S + DURATION_S) * 1000).then(async () => {
    to = await sampleCpu();
    loop = await server.loopDelay();
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
        if (sentAt >= measureFrom) sentInWindow += 1;
        sent += 1;
        const inWindow = sentAt >= measureFrom;
        const request = publish(sent, entityId, sentAt).then((status) => {
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
  return {
    ackP50: percentile(sortedAcks, 50),
    ackP99: percentile(sortedAcks, 99),
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
    samples: sorted.length,
    expected: sentInWindow * (CLIENTS / LATENCY_SANDBOXES),
    eventsPerS: sentInWindow / DURATION_S,
    failedPosts,
    cpuServer: from && to ? cpuPercent(from.server, to.server, to.at - from.at) : NaN,
    cpuClients: from && to ? cpuPercent(from.self, to.self, to.at - from.at) : NaN,
    cpuMachine: from && to ? machineCpuPercent(from.machine, to.machine) : NaN,
    loopP99: loop.p99,
    loopMax: loop.max,
  };
}

interface ServerResults {
  memory: MemoryResult;
  single: ThroughputResult;
  unfiltered?: ThroughputResult;
  latency: LatencyResult;
}

async function runAgainst(server: ServerChild, publish: Publish, label: string, withUnfiltered: boolean): Promise<ServerResults> {
  const singleQuery = () => `entity_types=sandbox&entity_ids=${hotId}`;
  process.stderr.write(`${label}: (c) memory of 1,000 idle sockets ...\n`);
  const { result: memory, pool } = await measureMemory(server, singleQuery);

  process.stderr.write(`${label}: (a) fan-out, 1,000 clients on one id, window ${WINDOW} ...\n`);
  const single = await measureThroughput(server, publish, hotId);
  await pool.close();
  await waitForServerSockets(server, 0);

  let unfiltered: ThroughputResult | undefined;
  if (withUnfiltered) {
    process.stderr.write(`${label}: (a) fan-out, 1,000 unfiltered (entity_types=sandbox) clients ...\n`);
    const unfilteredPool = await openPool(server.url, CLIENTS, () => 'entity_types=sandbox');
    await waitForServerSockets(server, CLIENTS);
    unfiltered = await measureThroughput(server, publish, hotId);
    await unfilteredPool.close();
    await waitForServerSockets(server, 0);
  }

  process.stderr.write(`${label}: (b) latency at ${fmtInt(LATENCY_RATE)} events/s over ${LATENCY_SANDBOXES} sandboxes ...\n`);
  const latencyPool = await openPool(server.url, CLIENTS, (i) => `entity_types=sandbox&entity_ids=${latencyIds[i % LATENCY_SANDBOXES]}`);
  await waitForServerSockets(server, CLIENTS);
  const latency = await measureLatency(server, publish);
  await latencyPool.close();
  return { memory, single, unfiltered, latency };
}

async function deleteRows(): Promise<void> {
  if (process.env.BENCH_KEEP_ROWS === '1') return;
  const client = new PgClient({ connectionString: BENCH_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DELETE FROM sandbox_events WHERE entity_type = 'sandbox' AND entity_id = ANY($1::text[])`, [allIds]);
    await client.query('VACUUM sandbox_events');
  } finally {
    await client.end();
  }
}

const kb = (bytes: number) => `${fmt1(bytes / 1024)} KB`;
const mb = (kib: number) => `${fmt1(kib / 1024)} MB`;

async function main(): Promise<number> {
  console.log('Sandbox Relay — WebSocket fan-out benchmark');
  const redis = await useBenchRedis();
  try {
    return await run(redis);
  } finally {
    await redis.stop();
  }
}

async function run(redis: BenchRedis): Promise<number> {
  for (const line of await machineLines()) console.log(line);
  console.log(`stores:  postgres ${BENCH_DATABASE_URL}; redis ${redis.description}`);
  console.log(
    `setup:   servers in child processes; ${fmtInt(CLIENTS)} ws clients + publisher in the bench process; ` +
      `throughput: closed loop, ${WINDOW} events outstanding, ${WARMUP_S} s warm-up + ${DURATION_S} s measured; ` +
      `latency: ${fmtInt(LATENCY_RATE)} events/s over ${LATENCY_SANDBOXES} sandboxes × ${CLIENTS / LATENCY_SANDBOXES} viewers`,
  );
  console.log('');

  process.stderr.write('product: standalone (child process)\n');
  const product = await startServerChild('standalone');
  const mine = await runAgainst(product, publishToProduct(product.url), 'standalone', true);
  await product.close();

  process.stderr.write('baseline: bare ws WebSocketServer (child process)\n');
  const bareServer = await startServerChild('ws');
  const bare = await runAgainst(bareServer, publishToBare(bareServer.url), 'bare ws', false);
  await bareServer.close();
  agent.destroy();
  await deleteRows();

  const throughputRow = (label: string, r: ThroughputResult) => [
    label,
    fmtInt(r.framesPerS),
    fmtInt(r.eventsPerS),
    fmt1(r.meanFrameBytes),
    `${(r.delivered * 100).toFixed(2)} %`,
    fmtInt(r.lost + r.failedPosts),
    `${fmtInt(r.cpuServer)} / ${fmtInt(r.cpuClients)}`,
  ];
  console.log('(a) fan-out throughput, 1,000 clients');
  console.log(
    table(
      ['server / subscription', 'frames/s', 'events/s', 'frame B', 'delivered', 'lost+failed', 'CPU % server / clients'],
      [
        throughputRow('standalone, entity_ids=<one id>', mine.single),
        throughputRow('standalone, entity_types=sandbox', mine.unfiltered!),
        throughputRow('bare ws, same frames', bare.single),
      ],
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
    `${fmt1(r.loopP99)} / ${fmt1(r.loopMax)}`,
    `${fmtInt(r.cpuServer)} / ${fmtInt(r.cpuClients)} / ${fmtInt(r.cpuMachine)}`,
  ];
  console.log(`(b) POST → frame latency, ${fmtInt(LATENCY_RATE)} events/s, ${LATENCY_SANDBOXES} sandboxes × ${CLIENTS / LATENCY_SANDBOXES} viewers (ms)`);
  console.log(
    table(
      ['server', 'events/s', 'p50', 'p90', 'p99', 'max', 'frames timed / expected', 'failed POSTs', 'POST answer p50 / p99', 'server loop delay p99 / max', 'CPU % server / clients / machine'],
      [latencyRow('standalone', mine.latency), latencyRow('bare ws', bare.latency)],
    ),
  );
  console.log('');

  const memoryRow = (label: string, r: MemoryResult) => [
    label,
    `${mb(r.before.vmRssKb)} → ${mb(r.after.vmRssKb)}`,
    kb(r.rssPerSocket),
    `${fmt1(jsBytes(r.before) / 2 ** 20)} MB → ${fmt1(jsBytes(r.after) / 2 ** 20)} MB`,
    kb(r.jsPerSocket),
  ];
  console.log('(c) server memory, before → after 1,000 idle sockets (after forced GC)');
  console.log(
    table(
      ['server', 'RSS', 'RSS / socket', 'heap+external+arrayBuffers', 'JS / socket'],
      [memoryRow('standalone', mine.memory), memoryRow('bare ws', bare.memory)],
    ),
  );
  console.log('');

  const ratioSingle = mine.single.framesPerS / bare.single.framesPerS;
  const ratioUnfiltered = mine.unfiltered!.framesPerS / bare.single.framesPerS;
  const clean = (r: ThroughputResult) => r.lost + r.failedPosts === 0;
  const closes = [...clientState.closesByCode].filter(([code]) => code !== 1005 && code !== 1006);
  console.log(
    table(
      ['figure', 'measured', 'baseline (bare ws)', 'target', 'result'],
      [
        [
          '(a) frames/s, one id',
          `${fmtInt(mine.single.framesPerS)} (${fmt2(ratioSingle)}×)`,
          fmtInt(bare.single.framesPerS),
          `≥ ${TARGET_RATIO}× bare`,
          verdict(ratioSingle >= TARGET_RATIO && clean(mine.single)),
        ],
        [
          '(a) frames/s, unfiltered',
          `${fmtInt(mine.unfiltered!.framesPerS)} (${fmt2(ratioUnfiltered)}×)`,
          fmtInt(bare.single.framesPerS),
          `≥ ${TARGET_RATIO}× bare`,
          verdict(ratioUnfiltered >= TARGET_RATIO && clean(mine.unfiltered!)),
        ],
        [
          `(b) p50 / p99 at ${fmtInt(LATENCY_RATE)} ev/s`,
          `${fmt1(mine.latency.p50)} / ${fmt1(mine.latency.p99)} ms`,
          `${fmt1(bare.latency.p50)} / ${fmt1(bare.latency.p99)} ms`,
          `p99 ≤ ${TARGET_P99_MS} ms`,
          verdict(mine.latency.p99 <= TARGET_P99_MS && mine.latency.samples === mine.latency.expected),
        ],
        [
          '(c) RSS per idle socket',
          `${kb(mine.memory.rssPerSocket)} (JS ${kb(mine.memory.jsPerSocket)})`,
          `${kb(bare.memory.rssPerSocket)} (JS ${kb(bare.memory.jsPerSocket)})`,
          `≤ ${TARGET_BYTES_PER_SOCKET / 1024} KB`,
          verdict(mine.memory.rssPerSocket <= TARGET_BYTES_PER_SOCKET),
        ],
      ],
    ),
  );
  if (closes.length > 0) console.log(`\nserver-initiated closes seen by clients: ${closes.map(([code, n]) => `${n}× ${code}`).join(', ')}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
