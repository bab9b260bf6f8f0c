/*
 * Ingest throughput benchmark.  Run: npx tsx bench/ingest.ts   (≈ 70 s on 2 cores)
 *
 * Process layout (chosen so the load generator never shares an event loop or a thread with a server):
 *   - this process: autocannon (the load generator) and the final durability count (pg);
 *   - child process: the server under test, `startStandalone(parseStandaloneEnv({... PORT 0, LOG_LEVEL silent}))`
 *     against the bench database (bench/lib/server-child.ts, mode `standalone`);
 *   - child process: the baseline, a bare express 5 app (express.json(), 200 {ok:true}, no validation, no storage).
 * Both servers stay up for the whole run and are loaded in alternating rounds (bare, product, product, bare, ...),
 * so that a change in background load on a shared machine hits both sides alike; an idle server costs nothing.
 * Redis is a private redis-server started for the run (see useBenchRedis) unless BENCH_REDIS_URL is set.
 * `BENCH_PRODUCT=ingest`: the ingest service alone in the child instead of the standalone.
 * `BENCH_PRODUCT=deployed` (bench/lib/deployed.ts): every service its own process, `npm run cluster` with one replica
 * each, loaded through its nginx edge, beside bare express behind an nginx generated from the same config; with
 * BENCH_DEPLOYED_DIRECT=1 the single-event figure once more at the ingest's and bare express's own ports (what the
 * proxy hop costs each side).
 *
 * Figures (each beside its baseline from this same run):
 *   1. single events: POST /api/v1/sandboxes/<id>/events, the realistic body below, requests cycling over 50 sandbox
 *      ids, 100 connections, a 2 s warm-up, then ROUNDS × ROUND_S s measured per server: durable events/s (2xx answers;
 *      the product answers only after the row is committed), p50/p99, non-2xx; ratio to bare express under identical
 *      autocannon settings (target ≥ 0.6).
 *   2. batches: POST .../events/batch with 100 events per request (100 connections): durable events/s (target ≥ 50,000),
 *      beside bare express receiving the same bodies.
 *   3. durability: after a graceful stop of the standalone (which drains its event log), the rows in sandbox_events for
 *      this run's sandbox ids must be ≥ the events acknowledged with a 2xx (warm-ups included). A surplus up to one request
 *      per connection per autocannon run is expected (requests in flight when autocannon stops are committed but their
 *      answers are not counted); fewer rows than acknowledgements means a lost event: exit code 1.
 *
 * Options (env): BENCH_ROUNDS (2), BENCH_ROUND_S (5), BENCH_WARMUP_S (2), BENCH_CONNECTIONS (100),
 * BENCH_BATCH_CONNECTIONS (100), BENCH_KEEP_ROWS=1 (by default this run's rows are deleted and the table vacuumed at
 * the end), BENCH_REDIS_URL, BENCH_DATABASE_URL, BENCH_SERVER_NODE_ARGS (extra node flags for the server children).
 */
import os from 'node:os';
import autocannon from 'autocannon';
import { Client } from 'pg';
import {
  BENCH_DATABASE_URL,
  cpuPercent,
  fmt1,
  fmt2,
  fmtInt,
  machineCpu,
  machineCpuPercent,
  startServerChild,
  table,
  verdict,
  type BenchRedis,
  type ServerChild,
  benchOption,
  runBenchmark,
  writeFigures,
  medianOf,
  type FigureResult,
} from './lib/common';
import { REPLICAS_LABEL, startBareEdge, startDeployed } from './lib/deployed';

/**
 * What is measured: the standalone (every app in one process, the default), the ingest service alone
 * (`BENCH_PRODUCT=ingest`), or every service its own process behind the edge (`BENCH_PRODUCT=deployed`, bench/lib/deployed.ts).
 */
const PRODUCT =
  process.env.BENCH_PRODUCT === 'ingest' || process.env.BENCH_PRODUCT === 'deployed'
    ? process.env.BENCH_PRODUCT
    : 'standalone';
/** As deployed, also single POSTs at the ingest's and bare express's own ports (`BENCH_DEPLOYED_DIRECT=1`). */
const DEPLOYED_DIRECT = process.env.BENCH_DEPLOYED_DIRECT === '1';
const ROUNDS = benchOption('ROUNDS', 2, 1);
const ROUND_S = benchOption('ROUND_S', 5, 1);
const WARMUP_S = benchOption('WARMUP_S', 2, 1);
const CONNECTIONS = benchOption('CONNECTIONS', 100, 10);
const BATCH_CONNECTIONS = benchOption('BATCH_CONNECTIONS', 100, 10);
const SANDBOXES = benchOption('SANDBOXES', 50, 10);
const BATCH_SIZE = 100;
/**
 * Issue 16's targets: ≥ 0.8× bare express for single events; batches ≥ 50k/s through the standalone, ≥ 100k/s for the
 * ingest service as its own process (alone, or as deployed).
 */
const TARGET_RATIO = 0.8;
const TARGET_BATCH_EVENTS_PER_S = PRODUCT === 'standalone' ? 50_000 : 100_000;

const runId = `bench-ingest-${Date.now().toString(36)}`;
const sandboxIds = Array.from({ length: SANDBOXES }, (_, i) => `${runId}-s${i}`);

const EVENT = {
  event_type: 'agent.tool_use',
  event_data: { tool: 'bash', command: 'npm test', exit_code: 0 },
  source: 'agent',
};
const SINGLE_BODY = JSON.stringify(EVENT);
const BATCH_BODY = JSON.stringify(Array.from({ length: BATCH_SIZE }, () => EVENT));

type Route = 'single' | 'batch';

interface Round {
  ok: number;
  non2xx: number;
  errors: number;
  durationS: number;
  p50: number;
  p99: number;
  /** CPU over the round, % of one core: the server child, this process (autocannon), the whole machine. */
  cpuServer: number;
  cpuLoadGen: number;
  cpuMachine: number;
}

interface Series {
  label: string;
  eventsPerRequest: number;
  rounds: Round[];
  /** Requests that got a 2xx in the warm-up (they count for durability). */
  warmupOk: number;
  /** Non-2xx and errors of the warm-up. */
  warmupBad: number;
}

/** One autocannon run: static requests, one per sandbox id, that every connection cycles through. */
function cannon(url: string, route: Route, durationS: number): Promise<autocannon.Result> {
  const suffix = route === 'batch' ? '/batch' : '';
  const body = route === 'batch' ? BATCH_BODY : SINGLE_BODY;
  return autocannon({
    url,
    connections: route === 'batch' ? BATCH_CONNECTIONS : CONNECTIONS,
    duration: durationS,
    requests: sandboxIds.map((id) => ({ method: 'POST', path: `/api/v1/sandboxes/${id}/events${suffix}`, body })),
    headers: { 'content-type': 'application/json' },
    timeout: 10,
  });
}

async function warmUp(server: ServerChild, series: Series, route: Route): Promise<void> {
  const result = await cannon(server.url, route, WARMUP_S);
  series.warmupOk += result['2xx'];
  series.warmupBad += result.non2xx + result.errors + result.timeouts;
}

async function round(server: ServerChild, series: Series, route: Route): Promise<void> {
  const before = {
    server: (await server.cpu()).cpu,
    self: process.cpuUsage(),
    machine: machineCpu(),
    at: performance.now(),
  };
  const result = await cannon(server.url, route, ROUND_S);
  const wallMs = performance.now() - before.at;
  const serverAfter = (await server.cpu()).cpu;
  series.rounds.push({
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    durationS: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuServer: cpuPercent(before.server, serverAfter, wallMs),
    cpuLoadGen: cpuPercent(before.self, process.cpuUsage(), wallMs),
    cpuMachine: machineCpuPercent(before.machine, machineCpu()),
  });
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const mean = (values: number[]) => sum(values) / values.length;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const roundEventsPerS = (series: Series, r: Round) => (r.ok * series.eventsPerRequest) / r.durationS;
const eventsPerS = (series: Series) =>
  (sum(series.rounds.map((r) => r.ok)) * series.eventsPerRequest) / sum(series.rounds.map((r) => r.durationS));
const requestsPerS = (series: Series) =>
  sum(series.rounds.map((r) => r.ok)) / sum(series.rounds.map((r) => r.durationS));
const failures = (series: Series) => series.warmupBad + sum(series.rounds.map((r) => r.non2xx + r.errors));
const acknowledgedEvents = (series: Series) =>
  (series.warmupOk + sum(series.rounds.map((r) => r.ok))) * series.eventsPerRequest;
/** Events of requests that failed on the client's side (timed out, connection error): the server may have stored them. */
const unansweredEvents = (series: Series) =>
  (series.warmupBad + sum(series.rounds.map((r) => r.errors))) * series.eventsPerRequest;

async function countStored(): Promise<number> {
  const client = new Client({ connectionString: BENCH_DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM sandbox_events WHERE entity_type = 'sandbox' AND entity_id = ANY($1::text[])`,
      [sandboxIds],
    );
    if (process.env.BENCH_KEEP_ROWS !== '1') {
      // Delete and vacuum now, so that the next benchmark does not meet an autovacuum of this run's dead rows.
      await client.query(`DELETE FROM sandbox_events WHERE entity_type = 'sandbox' AND entity_id = ANY($1::text[])`, [
        sandboxIds,
      ]);
      await client.query('VACUUM sandbox_events');
    }
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

/** One comparison: a route loaded on the product and on its baseline in alternating rounds. */
interface Pair {
  route: Route;
  /** How the figure names where it was measured ("standalone", "as deployed", …). */
  where: string;
  product: ServerChild;
  bare: ServerChild;
  productSeries: Series;
  bareSeries: Series;
}

const newSeries = (label: string, eventsPerRequest: number): Series => ({
  label,
  eventsPerRequest,
  rounds: [],
  warmupOk: 0,
  warmupBad: 0,
});

/**
 * The servers and the comparisons. Standalone or ingest alone: one child each, bare express beside it, single
 * and batch. As deployed: the cluster (one replica per service) behind its nginx edge, bare express behind an
 * nginx generated from the same config; single and batch through the edges, and (BENCH_DEPLOYED_DIRECT=1) single
 * once more at the ingest's and bare express's own ports (what the proxy hop costs each side).
 */
async function setUp(
  redis: BenchRedis,
): Promise<{ pairs: Pair[]; close: () => Promise<void>; restarts: () => number }> {
  const bare = await startServerChild('express');
  const pair = (route: Route, where: string, product: ServerChild, bareServer: ServerChild, label: string): Pair => ({
    route,
    where,
    product,
    bare: bareServer,
    productSeries: newSeries(
      `${label}, ${route === 'batch' ? `batch ×${BATCH_SIZE}` : 'single'}`,
      route === 'batch' ? BATCH_SIZE : 1,
    ),
    bareSeries: newSeries(
      `bare express${label.includes('port') ? ' (own port)' : PRODUCT === 'deployed' ? ' (edge)' : ''}, ${route === 'batch' ? `batch ×${BATCH_SIZE}` : 'single'}`,
      route === 'batch' ? BATCH_SIZE : 1,
    ),
  });
  if (PRODUCT !== 'deployed') {
    const product = await startServerChild(PRODUCT);
    const where = PRODUCT === 'ingest' ? 'ingest alone' : 'standalone';
    return {
      pairs: [pair('single', where, product, bare, PRODUCT), pair('batch', where, product, bare, PRODUCT)],
      close: async () => {
        await product.close();
        await bare.close();
      },
      restarts: () => 0,
    };
  }
  const deployed = await startDeployed(redis.url);
  const edge = await startBareEdge(bare, bare);
  const bareEdge = edge.front(bare);
  const atIngest: ServerChild = { ...deployed, url: deployed.ingestUrl };
  return {
    pairs: [
      pair('single', 'as deployed', deployed, bareEdge, 'deployed (edge)'),
      ...(DEPLOYED_DIRECT
        ? [pair('single', "as deployed, at ingest's own port", atIngest, bare, "deployed (ingest's port)")]
        : []),
      pair('batch', 'as deployed', deployed, bareEdge, 'deployed (edge)'),
    ],
    close: async () => {
      await deployed.close();
      await edge.close();
      await bare.close();
    },
    restarts: deployed.restarts,
  };
}

async function run(redis: BenchRedis): Promise<number> {
  console.log(
    `setup:   autocannon 8 in the bench process, servers in child processes${PRODUCT === 'deployed' ? ` (as deployed: npm run cluster, ${REPLICAS_LABEL}, behind its nginx edge; bare express behind an nginx of the same config)` : ''}; ${SANDBOXES} sandbox ids (${runId}-s*); ` +
      `single: ${CONNECTIONS} connections; batch: ${BATCH_CONNECTIONS} connections × ${BATCH_SIZE} events/request; ` +
      `${WARMUP_S} s warm-up, then ${ROUNDS} alternating rounds × ${ROUND_S} s per server`,
  );
  console.log(
    `body:    ${SINGLE_BODY} (${Buffer.byteLength(SINGLE_BODY)} B; batch body ${Buffer.byteLength(BATCH_BODY)} B)`,
  );
  console.log('');

  const { pairs, close, restarts } = await setUp(redis);
  for (const { route, where, product, bare, productSeries, bareSeries } of pairs) {
    process.stderr.write(
      `${route} (${where}): warm-up ${WARMUP_S} s each, then ${ROUNDS} × ${ROUND_S} s per server, alternating ...\n`,
    );
    await warmUp(bare, bareSeries, route);
    await warmUp(product, productSeries, route);
    for (let r = 0; r < ROUNDS; r += 1) {
      const order: Array<[ServerChild, Series]> = [
        [bare, bareSeries],
        [product, productSeries],
      ];
      if (r % 2 === 1) order.reverse();
      for (const [server, target] of order) await round(server, target, route);
    }
  }
  const replicaRestarts = restarts();
  process.stderr.write(`stopping the ${PRODUCT} gracefully (drains the event log), counting rows ...\n`);
  await close();

  const productSeries = pairs.map((p) => p.productSeries);
  const acknowledged = sum(productSeries.map(acknowledgedEvents));
  // Each autocannon run against the product (warm-up and rounds) stops with at most one request per connection in
  // flight, and a request the client gave up on (its 10 s timeout) may still commit: neither answer is counted.
  const inFlightBound = sum(
    pairs.map(
      (p) =>
        (1 + ROUNDS) * (p.route === 'batch' ? BATCH_CONNECTIONS * BATCH_SIZE : CONNECTIONS) +
        unansweredEvents(p.productSeries),
    ),
  );
  const stored = await countStored();

  const all = pairs.flatMap((p) => [p.bareSeries, p.productSeries]);
  console.log(
    table(
      ['run', 'req/s', 'events/s (2xx)', 'p50 ms', 'p99 ms', 'non-2xx+errors', 'CPU % server / autocannon / machine'],
      all.map((s) => [
        s.label,
        fmtInt(requestsPerS(s)),
        fmtInt(eventsPerS(s)),
        fmt1(median(s.rounds.map((r) => r.p50))),
        fmt1(Math.max(...s.rounds.map((r) => r.p99))),
        fmtInt(failures(s)),
        `${fmtInt(mean(s.rounds.map((r) => r.cpuServer)))} / ${fmtInt(mean(s.rounds.map((r) => r.cpuLoadGen)))} / ${fmtInt(mean(s.rounds.map((r) => r.cpuMachine)))}`,
      ]),
    ),
  );
  console.log(
    `(events/s over all rounds; p50 = median of the rounds' p50, p99 = worst round's p99; non-2xx/errors include the warm-up;\n` +
      ` CPU in % of one core, machine ${os.cpus().length * 100} % = every core busy, machine − server − autocannon ≈ Postgres + Redis + other users` +
      `${PRODUCT === 'deployed' ? ';\n as deployed, "server" = every service process + nginx, and the bare server + its nginx behind an edge' : ''})`,
  );
  if (PRODUCT === 'deployed') console.log(`replica restarts during the run: ${replicaRestarts}`);
  console.log('');
  console.log(
    table(
      ['events/s per round', ...Array.from({ length: ROUNDS }, (_, i) => `round ${i + 1}`)],
      all.map((s) => [s.label, ...s.rounds.map((r) => fmtInt(roundEventsPerS(s, r)))]),
    ),
  );
  console.log('');

  const perRound = (s: Series) => s.rounds.map((r) => roundEventsPerS(s, r));
  const figures: FigureResult[] = pairs.map((p) =>
    p.route === 'single'
      ? {
          figure: `single-event durable POST (${p.where})`,
          unit: 'events/s',
          ours: perRound(p.productSeries),
          baseline: perRound(p.bareSeries),
          baselineLabel: `bare express POST${p.where === 'as deployed' ? ' behind the same nginx' : ''}`,
          compare: 'ratio',
          target: `≥ ${TARGET_RATIO}× bare`,
          met:
            medianOf(perRound(p.productSeries).map((v, i) => v / perRound(p.bareSeries)[i]!)) >= TARGET_RATIO &&
            failures(p.productSeries) === 0,
          note: `p99 ${fmt1(Math.max(...p.productSeries.rounds.map((r) => r.p99)))} ms; non-2xx ${failures(p.productSeries)}`,
        }
      : {
          figure: `batch ×${BATCH_SIZE} durable events/s (${p.where})`,
          unit: 'events/s',
          ours: perRound(p.productSeries),
          baseline: perRound(p.bareSeries),
          baselineLabel: `bare express, same bodies${p.where === 'as deployed' ? ', behind the same nginx' : ''}`,
          compare: 'ratio',
          target: `≥ ${fmtInt(TARGET_BATCH_EVENTS_PER_S)}/s`,
          met: medianOf(perRound(p.productSeries)) >= TARGET_BATCH_EVENTS_PER_S && failures(p.productSeries) === 0,
        },
  );
  const durability =
    stored < acknowledged
      ? 'LOST EVENTS'
      : stored - acknowledged <= inFlightBound
        ? `OK (+${fmtInt(stored - acknowledged)} in flight at cut-off, bound ${fmtInt(inFlightBound)})`
        : `SURPLUS ${fmtInt(stored - acknowledged)} > in-flight bound ${fmtInt(inFlightBound)}`;
  console.log(
    table(
      ['figure', 'measured', 'baseline', 'target', 'result'],
      [
        ...figures.map((f) => [
          f.figure,
          `${fmtInt(medianOf(f.ours))}/s${f.compare === 'ratio' ? ` (${fmt2(medianOf(f.ours.map((v, i) => v / f.baseline[i]!)))}×)` : ''}`,
          `${fmtInt(medianOf(f.baseline))}/s bare`,
          `${f.target}, no non-2xx`,
          verdict(f.met),
        ]),
        [
          'durability: rows stored vs events acked',
          `${fmtInt(stored)} stored`,
          `${fmtInt(acknowledged)} acked`,
          'stored ≥ acked',
          durability,
        ],
      ],
    ),
  );
  const where = pairs[0]!.where;
  writeFigures([
    ...figures,
    {
      figure: `acknowledged events lost (${where})`,
      unit: 'events',
      ours: [Math.max(0, acknowledged - stored)],
      baseline: [],
      baselineLabel: `${fmtInt(acknowledged)} acked, ${fmtInt(stored)} stored`,
      compare: 'none',
      target: '0',
      met: stored >= acknowledged,
    },
  ]);
  if (stored < acknowledged) {
    console.error(
      `\nFAIL: ${fmtInt(acknowledged - stored)} acknowledged events are missing from sandbox_events (run ${runId}).`,
    );
    return 1;
  }
  return 0;
}

runBenchmark('Sandbox Relay — ingest benchmark', run);
