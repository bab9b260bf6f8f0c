/*
 * Ingest throughput benchmark.  Run: npx tsx bench/ingest.ts   (≈ 75 s on 2 cores)
 *
 * Process layout (chosen so the load generator never shares an event loop or a thread with a server):
 *   - this process: autocannon (the load generator) and the final durability count (pg);
 *   - child process: the server under test, `startStandalone(parseStandaloneEnv({... PORT 0, LOG_LEVEL silent}))`
 *     against the bench database (bench/lib/server-child.ts, mode `standalone`);
 *   - child process: the baseline, a bare express 5 app (express.json(), 200 {ok:true}, no validation,
 *     no storage), started and stopped before the product so the two never compete for the CPU.
 *
 * Figures (each beside its baseline from this same run):
 *   1. single events: POST /api/v1/sandboxes/<id>/events, bodies spread over 50 sandbox ids, 100 connections,
 *      2 s warm-up then 10 s measured: durable events/s (2xx answers, each one a committed row), p50/p99,
 *      non-2xx; ratio to bare express with identical autocannon settings (target ≥ 0.6).
 *   2. batches: POST .../events/batch with 100 events per request: durable events/s (target ≥ 50,000),
 *      beside bare express receiving the same bodies.
 *   3. durability: after a graceful stop of the standalone (which drains its event log), rows in
 *      sandbox_events for this run's sandbox ids must be ≥ the events acknowledged with a 2xx. More rows
 *      than acknowledgements is expected (requests in flight when autocannon stopped were committed but
 *      their answers were dropped); fewer means an acknowledged event was lost: exit code 1.
 *
 * Options (env): BENCH_DURATION_S (10), BENCH_WARMUP_S (2), BENCH_CONNECTIONS (100), BENCH_BATCH_CONNECTIONS (100),
 * BENCH_KEEP_ROWS=1 to keep this run's rows (by default they are deleted and the table vacuumed after the count).
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
  machineLines,
  useBenchRedis,
  type BenchRedis,
  startServerChild,
  table,
  verdict,
  type ServerChild,
} from './lib/common';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100);
const BATCH_CONNECTIONS = Number(process.env.BENCH_BATCH_CONNECTIONS ?? 100);
const SANDBOXES = 50;
const BATCH_SIZE = 100;
const TARGET_RATIO = 0.6;
const TARGET_BATCH_EVENTS_PER_S = 50_000;

const runId = `bench-ingest-${Date.now().toString(36)}`;
const sandboxIds = Array.from({ length: SANDBOXES }, (_, i) => `${runId}-s${i}`);

const EVENT = { event_type: 'agent.tool_use', event_data: { tool: 'bash', command: 'npm test', exit_code: 0 }, source: 'agent' };
const SINGLE_BODY = JSON.stringify(EVENT);
const BATCH_BODY = JSON.stringify(Array.from({ length: BATCH_SIZE }, () => EVENT));

interface Run {
  label: string;
  eventsPerRequest: number;
  /** 2xx answers in the measured window. */
  ok: number;
  /** 2xx answers in the warm-up (counted for durability only). */
  warmupOk: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  durationS: number;
  p50: number;
  p99: number;
  /** CPU used during the measured window, in % of one core: server child, this process (autocannon), whole machine. */
  cpuServer: number;
  cpuLoadGen: number;
  cpuMachine: number;
}

/** One autocannon run; static requests (one per sandbox id) that every connection cycles through. */
function cannon(url: string, route: 'single' | 'batch', connections: number, durationS: number): Promise<autocannon.Result> {
  const suffix = route === 'batch' ? '/batch' : '';
  const body = route === 'batch' ? BATCH_BODY : SINGLE_BODY;
  return autocannon({
    url,
    connections,
    duration: durationS,
    requests: sandboxIds.map((id) => ({ method: 'POST', path: `/api/v1/sandboxes/${id}/events${suffix}`, body })),
    headers: { 'content-type': 'application/json' },
    timeout: 10,
  });
}

async function measure(server: ServerChild, label: string, route: 'single' | 'batch', connections: number): Promise<Run> {
  process.stderr.write(`  ${label}: warm-up ${WARMUP_S} s, then ${DURATION_S} s measured ...\n`);
  const warm = await cannon(server.url, route, connections, WARMUP_S);
  const before = { server: (await server.cpu()).cpu, self: process.cpuUsage(), machine: machineCpu(), at: performance.now() };
  const result = await cannon(server.url, route, connections, DURATION_S);
  const wallMs = performance.now() - before.at;
  const serverAfter = (await server.cpu()).cpu;
  return {
    label,
    eventsPerRequest: route === 'batch' ? BATCH_SIZE : 1,
    ok: result['2xx'],
    warmupOk: warm['2xx'],
    non2xx: result.non2xx + warm.non2xx,
    errors: result.errors + warm.errors,
    timeouts: result.timeouts + warm.timeouts,
    durationS: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuServer: cpuPercent(before.server, serverAfter, wallMs),
    cpuLoadGen: cpuPercent(before.self, process.cpuUsage(), wallMs),
    cpuMachine: machineCpuPercent(before.machine, machineCpu()),
  };
}

const eventsPerS = (run: Run) => (run.ok * run.eventsPerRequest) / run.durationS;
const requestsPerS = (run: Run) => run.ok / run.durationS;

async function countStored(): Promise<number> {
  const client = new Client({ connectionString: BENCH_DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM sandbox_events WHERE entity_type = 'sandbox' AND entity_id = ANY($1::text[])`,
      [sandboxIds],
    );
    if (process.env.BENCH_KEEP_ROWS !== '1') {
      // Delete and vacuum now, so the next run does not meet an autovacuum of this run's dead rows.
      await client.query(`DELETE FROM sandbox_events WHERE entity_type = 'sandbox' AND entity_id = ANY($1::text[])`, [sandboxIds]);
      await client.query('VACUUM sandbox_events');
    }
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

async function main(): Promise<number> {
  console.log('Sandbox Relay — ingest benchmark');
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
    `load:    autocannon 8 in the bench process; servers in child processes; ${SANDBOXES} sandbox ids (${runId}-s*); ` +
      `single: ${CONNECTIONS} connections, batch: ${BATCH_CONNECTIONS} connections × ${BATCH_SIZE} events/request; ` +
      `${WARMUP_S} s warm-up + ${DURATION_S} s measured per row`,
  );
  console.log(`body:    ${SINGLE_BODY} (${Buffer.byteLength(SINGLE_BODY)} B; batch body ${Buffer.byteLength(BATCH_BODY)} B)`);
  console.log('');

  process.stderr.write('baseline: bare express 5 (child process)\n');
  const bare = await startServerChild('express');
  const bareSingle = await measure(bare, 'bare express, single', 'single', CONNECTIONS);
  const bareBatch = await measure(bare, 'bare express, batch ×100', 'batch', BATCH_CONNECTIONS);
  await bare.close();

  process.stderr.write('product: standalone (child process)\n');
  const product = await startServerChild('standalone');
  const single = await measure(product, 'standalone, single', 'single', CONNECTIONS);
  const batch = await measure(product, 'standalone, batch ×100', 'batch', BATCH_CONNECTIONS);
  process.stderr.write('  stopping the standalone gracefully (drains the event log) ...\n');
  await product.close();

  const acknowledged = [single, batch].reduce((sum, run) => sum + (run.ok + run.warmupOk) * run.eventsPerRequest, 0);
  // Each autocannon run (warm-up and measured) stops with at most one request per connection in flight; those may be
  // committed without their answer being counted. More surplus than that would mean rows we never sent.
  const inFlightBound = 2 * (CONNECTIONS * 1 + BATCH_CONNECTIONS * BATCH_SIZE);
  const stored = await countStored();

  const rows = [bareSingle, single, bareBatch, batch].map((run) => [
    run.label,
    fmtInt(requestsPerS(run)),
    fmtInt(eventsPerS(run)),
    fmt1(run.p50),
    fmt1(run.p99),
    fmtInt(run.non2xx),
    fmtInt(run.errors + run.timeouts),
    `${fmtInt(run.cpuServer)} / ${fmtInt(run.cpuLoadGen)} / ${fmtInt(run.cpuMachine)}`,
  ]);
  console.log(
    table(['run', 'req/s', 'events/s (2xx)', 'p50 ms', 'p99 ms', 'non-2xx', 'errors+timeouts', 'CPU % server / autocannon / machine'], rows),
  );
  console.log(`(non-2xx and errors include the warm-up; CPU in % of one core over the measured window, machine ${os.cpus().length * 100} % = all cores busy; machine − server − autocannon ≈ Postgres + Redis)`);
  console.log('');

  const ratio = eventsPerS(single) / eventsPerS(bareSingle);
  const batchRate = eventsPerS(batch);
  const singleOk = single.non2xx === 0 && single.errors + single.timeouts === 0;
  const batchOk = batch.non2xx === 0 && batch.errors + batch.timeouts === 0;
  console.log(
    table(
      ['figure', 'measured', 'baseline', 'target', 'result'],
      [
        [
          'single: durable events/s vs bare express',
          `${fmtInt(eventsPerS(single))}/s (${fmt2(ratio)}×)`,
          `${fmtInt(eventsPerS(bareSingle))}/s`,
          `≥ ${TARGET_RATIO}× bare`,
          verdict(ratio >= TARGET_RATIO && singleOk),
        ],
        [
          'batch ×100: durable events/s',
          `${fmtInt(batchRate)}/s`,
          `${fmtInt(eventsPerS(bareBatch))}/s bare`,
          `≥ ${fmtInt(TARGET_BATCH_EVENTS_PER_S)}/s`,
          verdict(batchRate >= TARGET_BATCH_EVENTS_PER_S && batchOk),
        ],
        [
          'durability: rows stored vs events acked',
          `${fmtInt(stored)} stored`,
          `${fmtInt(acknowledged)} acked`,
          'stored ≥ acked',
          stored < acknowledged
            ? 'LOST EVENTS'
            : stored - acknowledged <= inFlightBound
              ? `OK (+${fmtInt(stored - acknowledged)} in flight at cut-off, bound ${fmtInt(inFlightBound)})`
              : `SURPLUS ${fmtInt(stored - acknowledged)} > in-flight bound ${fmtInt(inFlightBound)}`,
        ],
      ],
    ),
  );
  if (stored < acknowledged) {
    console.error(`\nFAIL: ${fmtInt(acknowledged - stored)} acknowledged events are missing from sandbox_events (run ${runId}).`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
