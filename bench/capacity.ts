/*
 * Per-core capacity of each service run as its own process.  Run: npm run bench:capacity   (≈ 3 min on 2 cores)
 *   npx tsx bench/capacity.ts [messages] [gateway] [ingest]   (default: all three, in that order)
 *
 * Each service is `apps/<app>/src/main.ts` as its Deployment runs it (bench/lib/processes.ts), pinned with
 * `taskset -c 0`, so it can never use more than one core. Its baseline (bare express, or a bare `ws` server) runs in
 * a child process pinned to the same core. This process (load generator, clients) is pinned to core 1; PostgreSQL
 * and Redis (a private redis-server) run where the OS puts them. Product and baseline alternate rounds (ROUNDS ×
 * ROUND_S s each). Every round reads the pinned process's CPU time from /proc: `CPU %` is how much of its core it
 * used, and `per core` = rate ÷ that share, the rate one fully busy core would carry (the capacity unit). Each figure
 * is the median [range] of the rounds, with the 1-minute load average of the machine beside it.
 *
 *   messages  the message queue: each round fills 100 sandboxes × FILL messages (untimed), then 50 concurrent
 *             workers drain them with GET ?limit=10 until []. Drains/s and messages/s; baseline: bare express GET → [].
 *   gateway   fed by an ingest process pinned to core 1: 1,000 idle sockets (memory per socket), then 200 sockets each
 *             watching the same 20 sandboxes, WINDOW posters in a closed loop (POST, wait for the last socket to get
 *             the frame). Frames/s delivered; baseline: bare ws, fed the frame itself.
 *   ingest    autocannon: single POSTs (64 connections, 32 sandboxes) and batches of 100 (16 connections). Durable
 *             events/s; baseline: bare express. Over the product's rounds it also reads what the database and Redis
 *             did per event: commits and rows (pg_stat_database of the bench database), WAL bytes (cluster-wide: other
 *             users' writes count too), PUBLISH calls (the private Redis), and the table's bytes per stored event.
 *             Every acknowledged event must be stored (else exit 1).
 *
 * Options (env): BENCH_ROUNDS (3), BENCH_ROUND_S (4), BENCH_WINDOW (8), BENCH_FILL (30), BENCH_KEEP_ROWS=1,
 * BENCH_DATABASE_URL, BENCH_REDIS_URL.
 */
import autocannon from 'autocannon';
import { spawnSync } from 'node:child_process';
import { Client } from 'pg';
import {
  BENCH_DATABASE_URL,
  benchOption,
  fmt1,
  fmt2,
  fmtInt,
  keepAlivePoster,
  medianOf,
  requestJson,
  runBenchmark,
  runConcurrently,
  sleep,
  startServerChild,
  table,
  type BenchRedis,
} from './lib/common';
import { ensureBenchDatabase, loadNow, pin, processCpuMs, processRssKb, startServiceProcess } from './lib/processes';
import { FrameCounter, closedLoop } from './lib/ws-load';

const ROUNDS = benchOption('ROUNDS', 3, 1);
const ROUND_S = benchOption('ROUND_S', 4, 1);
const WINDOW = benchOption('WINDOW', 8, 4);
const FILL = benchOption('FILL', 30, 5);
const IDLE_SOCKETS = benchOption('IDLE_SOCKETS', 1000, 100);
const BROADCAST_SOCKETS = benchOption('BROADCAST_SOCKETS', 200, 20);
const BROADCAST_IDS = 20;
const MQ_SANDBOXES = 100;
const runId = `bench-cap-${Date.now().toString(36)}`;
const log = (message: string) => process.stderr.write(`${message}\n`);
const EVENT = { event_type: 'agent.tool_use', event_data: { tool: 'bash', command: 'npm test', exit_code: 0 } };
const poster = keepAlivePoster(64);

/** One side of a figure: per round, the rate and the pinned process's CPU share (0..1), and the load average. */
interface Side {
  rates: number[];
  cpu: number[];
  loads: number[];
}
interface Row {
  figure: string;
  unit: string;
  ours: Side;
  bare: Side;
  bareLabel: string;
}
const rows: Row[] = [];
const notes: string[] = [];
const newSide = (): Side => ({ rates: [], cpu: [], loads: [] });

/** Runs `work` (which answers a count) and records count/s and the CPU share of `pid` over it. */
async function measure(side: Side, pid: number, work: () => Promise<number>): Promise<void> {
  const cpu0 = processCpuMs(pid);
  const t0 = performance.now();
  const count = await work();
  const wallMs = performance.now() - t0;
  side.rates.push((count / wallMs) * 1000);
  side.cpu.push((processCpuMs(pid) - cpu0) / wallMs);
  side.loads.push(loadNow());
}

/** Rounds alternate (product, bare; bare, product; ...). */
async function alternate(product: () => Promise<void>, bare: () => Promise<void>): Promise<void> {
  for (let r = 0; r < ROUNDS; r += 1) for (const step of r % 2 ? [bare, product] : [product, bare]) await step();
}

// ---- messages -------------------------------------------------------------------------------------------

async function messages(redis: BenchRedis): Promise<void> {
  log('messages: message-queue pinned to core 0 ...');
  const mq = await startServiceProcess('message-queue', { cpus: '0', redisUrl: redis.url });
  const bare = await startServerChild('express');
  pin(bare.pid, '0');
  const ids = Array.from({ length: MQ_SANDBOXES }, (_, i) => `${runId}-m${i}`);
  const path = (id: string) => `/api/v1/sandboxes/${id}/messages`;
  const body = JSON.stringify({ content: 'please run the tests again', message_type: 'user_message' });
  const drains = { ours: newSide(), bare: newSide() };
  const msgs = newSide();
  let lastDrains = 0;
  let posted = 0;
  let handedOut = 0;
  try {
    await alternate(
      async () => {
        await runConcurrently(ids.length * FILL, 32, async (i) => {
          if ((await poster.post(mq.url, path(ids[i % ids.length]!), body)) === 200) posted += 1;
        });
        let got = 0;
        await measure(drains.ours, mq.pid, async () => {
          let n = 0;
          await runConcurrently(ids.length, 50, async (i) => {
            for (let count = -1; count !== 0; n += 1, got += count) {
              const res = await requestJson<unknown[]>(mq.url, 'GET', `${path(ids[i]!)}?limit=10`);
              count = res.status === 200 ? res.body.length : 0;
            }
          });
          return (lastDrains = n);
        });
        handedOut += got;
        const at = drains.ours.rates.length - 1;
        msgs.rates.push((drains.ours.rates[at]! * got) / lastDrains);
        msgs.cpu.push(drains.ours.cpu[at]!);
        msgs.loads.push(drains.ours.loads[at]!);
      },
      () =>
        measure(drains.bare, bare.pid, async () => {
          const n = lastDrains || ids.length * (FILL / 10 + 1);
          await runConcurrently(n, 50, async (i) => void (await requestJson(bare.url, 'GET', path(ids[i % 100]!))));
          return n;
        }),
    );
  } finally {
    await mq.close();
    await bare.close();
  }
  rows.push({
    figure: 'message-queue: drains/s',
    unit: 'drains/s',
    ours: drains.ours,
    bare: drains.bare,
    bareLabel: 'bare express GET → []',
  });
  rows.push({
    figure: 'message-queue: messages handed out/s',
    unit: 'msgs/s',
    ours: msgs,
    bare: newSide(),
    bareLabel: '—',
  });
  notes.push(
    `messages: ${fmtInt(posted)} acknowledged POSTs, ${fmtInt(handedOut)} handed out${posted === handedOut ? '' : ' (MISMATCH)'}`,
  );
  if (posted !== handedOut) process.exitCode = 1;
  await deleteRows(`DELETE FROM sandbox_messages WHERE sandbox_id LIKE $1`, 'sandbox_messages');
}

// ---- gateway --------------------------------------------------------------------------------------------

async function gateway(redis: BenchRedis): Promise<void> {
  log('gateway: gateway pinned to core 0, fed by an ingest on core 1 ...');
  const feeder = await startServiceProcess('ingest', { cpus: '1', redisUrl: redis.url });
  const gw = await startServiceProcess('gateway', { cpus: '0', redisUrl: redis.url });
  const bare = await startServerChild('ws');
  pin(bare.pid, '0');
  const counter = new FrameCounter(runId);
  const ids = Array.from({ length: BROADCAST_IDS }, (_, i) => `${runId}-g${i}`);
  const frames = { ours: newSide(), bare: newSide() };
  const inbound = newSide();
  const memory: Record<'ours' | 'bare', number> = { ours: NaN, bare: NaN };
  const open: Array<{ close(): Promise<void> }> = [];
  let seq = 0;
  let lost = 0;
  try {
    for (const [key, url, pid] of [
      ['ours', gw.url, gw.pid],
      ['bare', bare.url, bare.pid],
    ] as const) {
      open.push(await counter.open(url, 10, `entity_types=sandbox&entity_ids=${runId}-idle`));
      await sleep(500);
      const before = processRssKb(pid);
      open.push(await counter.open(url, IDLE_SOCKETS, `entity_types=sandbox&entity_ids=${runId}-idle`));
      await sleep(1000);
      memory[key] = ((processRssKb(pid) - before) * 1024) / IDLE_SOCKETS;
      open.push(await counter.open(url, BROADCAST_SOCKETS, `entity_types=sandbox&entity_ids=${ids.join(',')}`, true));
    }
    const productPublish = (s: number) =>
      poster.post(
        feeder.url,
        `/api/v1/sandboxes/${ids[s % ids.length]}/events`,
        JSON.stringify({ ...EVENT, event_data: { ...EVENT.event_data, seq: s } }),
      );
    const barePublish = (s: number) => {
      const id = ids[s % ids.length]!;
      const frame = { id: String(1e7 + s), event_type: EVENT.event_type, entity_type: 'sandbox', entity_id: id };
      const payload = { ...EVENT.event_data, seq: s };
      return poster.post(
        bare.url,
        `/publish/${id}`,
        JSON.stringify({ ...frame, payload, source: 'agent', timestamp: new Date().toISOString() }),
      );
    };
    const round = (side: Side, pid: number, publish: (s: number) => Promise<number>) =>
      measure(side, pid, async () => {
        const before = counter.frames;
        const result = await closedLoop(counter, WINDOW, ROUND_S, publish, seq);
        seq = result.nextSeq;
        lost += result.lost + result.failed;
        return counter.frames - before;
      });
    await closedLoop(counter, WINDOW, 1, productPublish, 1e6);
    await alternate(
      () => round(frames.ours, gw.pid, productPublish),
      () => round(frames.bare, bare.pid, barePublish),
    );
    // Every replica receives every event from Redis, whatever its sockets watch: its cost per event no socket wants.
    const batch = JSON.stringify(Array.from({ length: 100 }, () => EVENT));
    for (let r = 0; r < ROUNDS; r += 1) {
      await measure(inbound, gw.pid, async () => {
        const result = await autocannon({
          url: feeder.url,
          connections: 16,
          duration: ROUND_S,
          requests: [{ method: 'POST', path: `/api/v1/sandboxes/${runId}-unwatched/events/batch`, body: batch }],
          headers: { 'content-type': 'application/json' },
        });
        return result['2xx'] * 100;
      });
    }
  } finally {
    for (const sockets of open) await sockets.close();
    await gw.close();
    await feeder.close();
    await bare.close();
  }
  rows.push({
    figure: `gateway: frames/s to ${BROADCAST_SOCKETS} sockets × ${BROADCAST_IDS} sandboxes (+${fmtInt(IDLE_SOCKETS)} idle)`,
    unit: 'frames/s',
    ours: frames.ours,
    bare: frames.bare,
    bareLabel: 'bare ws',
  });
  rows.push({
    figure: 'gateway: inbound events/s no socket watches (ingest batches)',
    unit: 'events/s',
    ours: inbound,
    bare: newSide(),
    bareLabel: '—',
  });
  notes.push(
    `gateway: memory per idle socket ${fmt1(memory.ours / 1024)} KB (bare ws ${fmt1(memory.bare / 1024)} KB), RSS Δ over ${fmtInt(IDLE_SOCKETS)} sockets; ` +
      `${lost} events lost or failed (closed loop, 5 s each)`,
  );
  await deleteRows(`DELETE FROM sandbox_events WHERE entity_type = 'sandbox' AND entity_id LIKE $1`, 'sandbox_events');
}

// ---- ingest ---------------------------------------------------------------------------------------------

function redisPublishes(url: string): number {
  const { port } = new URL(url);
  const out = spawnSync('redis-cli', ['-p', port, 'info', 'commandstats'], { encoding: 'utf8' }).stdout;
  return Number(/cmdstat_publish:calls=(\d+)/.exec(out)?.[1] ?? 0);
}

interface Counters {
  commits: number;
  wal: string;
  publishes: number;
}

/** Commits in the bench database, the WAL position (cluster-wide) and the private Redis's PUBLISH calls. */
async function counters(pg: Client, redisUrl: string): Promise<Counters> {
  // pg_stat_database is flushed by each backend at most once a second: wait for the last ones.
  await sleep(1_500);
  const {
    rows: [row],
  } = await pg.query<{ commits: string; wal: string }>(
    `SELECT xact_commit::text AS commits, pg_current_wal_lsn()::text AS wal
     FROM pg_stat_database WHERE datname = current_database()`,
  );
  return { commits: Number(row!.commits), wal: row!.wal, publishes: redisPublishes(redisUrl) };
}

/** What the database and Redis did per event stored for `prefix` between two readings, and its bytes on disk. */
async function perEvent(pg: Client, prefix: string, from: Counters, to: Counters): Promise<string> {
  await pg.query(`DROP TABLE IF EXISTS bench_capacity_rows`);
  // The run's rows in a fresh table with the event log's indexes: heap + indexes per row, without the bloat
  // other benchmarks' deleted rows leave in sandbox_events.
  await pg.query(`CREATE TEMP TABLE bench_capacity_rows AS SELECT * FROM sandbox_events WHERE entity_id LIKE $1`, [
    `${prefix}%`,
  ]);
  await pg.query(`ALTER TABLE bench_capacity_rows ADD PRIMARY KEY (id)`);
  await pg.query(`CREATE INDEX ON bench_capacity_rows (entity_id, id)`);
  await pg.query(`CREATE INDEX ON bench_capacity_rows (entity_type, id)`);
  const {
    rows: [row],
  } = await pg.query<{ n: string; bytes: string; wal: string }>(
    `SELECT count(*)::text AS n, pg_total_relation_size('bench_capacity_rows')::text AS bytes,
            pg_wal_lsn_diff($1, $2)::text AS wal FROM bench_capacity_rows`,
    [to.wal, from.wal],
  );
  const n = Number(row!.n);
  return (
    `${fmtInt(n)} stored: per event ${fmt2((to.commits - from.commits) / n)} commits, ${fmt2((to.publishes - from.publishes) / n)} PUBLISH, ` +
    `${fmtInt(Number(row!.wal) / n)} B WAL (cluster-wide), ${fmtInt(Number(row!.bytes) / n)} B on disk (heap + 3 indexes, freshly packed)`
  );
}

async function storedRows(pg: Client, prefix: string): Promise<number> {
  const {
    rows: [row],
  } = await pg.query<{ n: string }>(`SELECT count(*)::text AS n FROM sandbox_events WHERE entity_id LIKE $1`, [
    `${prefix}%`,
  ]);
  return Number(row!.n);
}

async function ingest(redis: BenchRedis): Promise<void> {
  log('ingest: ingest pinned to core 0 ...');
  const service = await startServiceProcess('ingest', { cpus: '0', redisUrl: redis.url });
  const bare = await startServerChild('express');
  pin(bare.pid, '0');
  const pg = new Client({ connectionString: BENCH_DATABASE_URL });
  await pg.connect();
  const cannon = (url: string, prefix: string, batch: boolean, seconds: number) =>
    autocannon({
      url,
      connections: batch ? 16 : 64,
      duration: seconds,
      requests: Array.from({ length: 32 }, (_, i) => ({
        method: 'POST' as const,
        path: `/api/v1/sandboxes/${prefix}${i}/events${batch ? '/batch' : ''}`,
        body: JSON.stringify(batch ? Array.from({ length: 100 }, () => EVENT) : EVENT),
      })),
      headers: { 'content-type': 'application/json' },
      timeout: 10,
    });
  try {
    for (const batch of [false, true]) {
      const size = batch ? 100 : 1;
      const prefix = `${runId}-${batch ? 'b' : 's'}`;
      const sides = { ours: newSide(), bare: newSide() };
      const before = await counters(pg, redis.url);
      let acked = (await cannon(service.url, prefix, batch, 1))['2xx'] * size;
      await cannon(bare.url, prefix, batch, 1);
      await alternate(
        () =>
          measure(sides.ours, service.pid, async () => {
            const ok = (await cannon(service.url, prefix, batch, ROUND_S))['2xx'] * size;
            acked += ok;
            return ok;
          }),
        () => measure(sides.bare, bare.pid, async () => (await cannon(bare.url, prefix, batch, ROUND_S))['2xx'] * size),
      );
      const after = await counters(pg, redis.url);
      const figure = batch ? 'ingest: batch ×100 durable events/s' : 'ingest: single-event durable POSTs/s';
      rows.push({ figure, unit: 'events/s', ours: sides.ours, bare: sides.bare, bareLabel: 'bare express' });
      const stored = await storedRows(pg, prefix);
      notes.push(`${figure}: ${fmtInt(acked)} acknowledged, ${await perEvent(pg, prefix, before, after)}`);
      if (stored < acked) {
        notes.push(`${figure}: LOST ${fmtInt(acked - stored)} acknowledged events`);
        process.exitCode = 1;
      }
    }
  } finally {
    await service.close();
    await bare.close();
    await pg.end();
  }
  await deleteRows(`DELETE FROM sandbox_events WHERE entity_type = 'sandbox' AND entity_id LIKE $1`, 'sandbox_events');
}

// ---- report ---------------------------------------------------------------------------------------------

async function deleteRows(sql: string, tableName: string): Promise<void> {
  if (process.env.BENCH_KEEP_ROWS === '1') return;
  const pg = new Client({ connectionString: BENCH_DATABASE_URL });
  await pg.connect();
  await pg.query(sql, [`${runId}-%`]);
  await pg.query(`VACUUM ${tableName}`);
  await pg.end();
}

const range = (values: number[], show: (n: number) => string) =>
  values.length ? `${show(medianOf(values))} [${show(Math.min(...values))}–${show(Math.max(...values))}]` : '—';
const perCore = (side: Side) => side.rates.map((rate, i) => rate / side.cpu[i]!);
const pct = (n: number) => `${fmtInt(n * 100)} %`;

function report(): void {
  console.log(
    table(
      ['figure (pinned to 1 core)', 'ours', 'CPU %', 'ours per core', 'baseline', 'baseline per core', 'load'],
      rows.map((row) => [
        row.figure,
        range(row.ours.rates, fmtInt),
        range(row.ours.cpu, pct),
        range(perCore(row.ours), fmtInt),
        row.bare.rates.length
          ? `${row.bareLabel} ${range(row.bare.rates, fmtInt)} (${pct(medianOf(row.bare.cpu))})`
          : row.bareLabel,
        row.bare.rates.length ? range(perCore(row.bare), fmtInt) : '—',
        range(row.ours.loads, fmt2),
      ]),
    ),
  );
  console.log(
    `(median [min–max] of ${ROUNDS} rounds × ${ROUND_S} s; CPU % = the pinned process's share of its core; per core = rate ÷ that share;\n` +
      ' load = the 1-minute load average of the machine at the end of each product round)',
  );
  for (const note of notes) console.log(`- ${note}`);
}

async function run(redis: BenchRedis): Promise<number> {
  ensureBenchDatabase();
  pin(process.pid, '1');
  const sections: Record<string, (redis: BenchRedis) => Promise<void>> = { messages, gateway, ingest };
  const chosen = process.argv.slice(2).filter((name) => name in sections);
  const order = chosen.length ? chosen : Object.keys(sections);
  console.log(
    `setup:   each service its own process (apps/<app>/src/main.ts) under taskset -c 0, its baseline pinned to core 0 too; ` +
      `this process (load, clients) on core 1; sections: ${order.join(', ')}; git ${gitHead()}`,
  );
  console.log('');
  for (const name of order) await sections[name]!(redis);
  poster.close();
  report();
  return Number(process.exitCode ?? 0);
}

function gitHead(): string {
  return spawnSync('git', ['log', '-1', '--format=%h %s'], { encoding: 'utf8' }).stdout.trim().slice(0, 100);
}

runBenchmark('Sandbox Relay — per-core capacity of each service', run);
