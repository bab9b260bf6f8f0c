/*
 * Supervisor sweep benchmark: how many live sandboxes one supervisor replica sweeps within its interval.
 * Run: npx tsx bench/supervisor.ts   (≈ 1 min on 2 cores)
 *
 * For each N in SIZES (100, 1,000, 5,000): N running tasks and sessions of a scope of their own (`Task.spec.scope`
 * = the supervisor's QUEUE_PREFIX, so no other supervisor sweeps them and this one sweeps only them), each sandbox
 * with HISTORY events already in `sandbox_events` (a heartbeat every 5th), are seeded in the bench database. A
 * `Supervisor` (apps/supervisor, as its service wires it, on a private Redis) then sweeps them: one untimed first
 * sweep (it reads each sandbox's whole history for its task's effects), then SWEEPS timed sweeps, each after
 * NEW_PER_SWEEP fresh events per sandbox (a `heartbeat` {status: running} and `agent.tool_use`s) were inserted,
 * untimed, as a sweep interval's worth of worker reports. Every sandbox is healthy, so a sweep does what it does
 * on every pass in steady state: the liveness query, the heartbeat copy, the escalation read, the new events'
 * task effects, the ladder; no restarts.
 * This process runs the sweep, pinned to one core (`taskset -c 0`); PostgreSQL and Redis are wherever the OS puts
 * them. Figures: wall time of one sweep (median of SWEEPS), per sandbox, the supervisor's CPU time, the rest of the
 * machine's CPU over the sweep (≈ PostgreSQL + Redis + other users), and the capacity: sandboxes one replica sweeps
 * within SUPERVISOR_SWEEP_INTERVAL_MS (5 s) at the largest N's cost per sandbox.
 * Baseline, right after each timed sweep: a bare `pg` SELECT of the same N sessions (join to their tasks by scope),
 * the least any sweep has to read.
 *
 * Options (env): BENCH_SIZES ("100,1000,5000"), BENCH_HISTORY (40), BENCH_SWEEPS (3), BENCH_NEW_PER_SWEEP (3),
 * BENCH_KEEP_ROWS=1, BENCH_DATABASE_URL, BENCH_REDIS_URL.
 */
import { closeRedis, createRedisClient } from '@sandbox-relay/bus';
import { LocalProcessProvider } from '@sandbox-relay/sandbox';
import { createLogger } from '@sandbox-relay/service-kit';
import { createStore } from '@sandbox-relay/store';
import { createSupervisorService, parseSupervisorEnv, supervisorConfig } from '@sandbox-relay/supervisor';
import os from 'node:os';
import { Client } from 'pg';
import {
  BENCH_DATABASE_URL,
  BENCH_SMOKE,
  benchOption,
  cpuPercent,
  fmt1,
  fmt2,
  fmtInt,
  machineCpu,
  machineCpuPercent,
  medianOf,
  runBenchmark,
  table,
  verdict,
  writeFigures,
  type BenchRedis,
} from './lib/common';
import { ensureBenchDatabase, loadNow, pin } from './lib/processes';

const SIZES = (process.env.BENCH_SIZES ?? (BENCH_SMOKE ? '20,50' : '100,1000,5000')).split(',').map(Number);
const HISTORY = benchOption('HISTORY', 40, 5);
const SWEEPS = benchOption('SWEEPS', 3, 1);
const NEW_PER_SWEEP = benchOption('NEW_PER_SWEEP', 3, 3);
const SWEEP_INTERVAL_MS = 5_000;
const runId = `bsw${Date.now().toString(36)}`;
const log = (message: string) => process.stderr.write(`${message}\n`);

interface SweepSample {
  wallMs: number;
  cpuMs: number;
  /** Machine CPU over the sweep minus this process's, in ms of one core. */
  otherCpuMs: number;
  baselineMs: number;
  load: number;
}

/** Seeds N running tasks + sessions of `scope` and HISTORY events per sandbox, oldest first. */
async function seed(pg: Client, scope: string, n: number): Promise<void> {
  await pg.query(
    `INSERT INTO tasks (id, title, status, sandbox_id, spec, updated_at)
     SELECT $1 || '-t' || i, 'bench sweep', 'running', $1 || '-s' || i, jsonb_build_object('scope', $1::text), now()
     FROM generate_series(1, $2::int) AS i`,
    [scope, n],
  );
  await pg.query(
    `INSERT INTO sandbox_sessions (id, sandbox_id, task_id, status, updated_at)
     SELECT $1 || '-ss' || i, $1 || '-s' || i, $1 || '-t' || i, 'running', now() FROM generate_series(1, $2::int) AS i`,
    [scope, n],
  );
  await insertEvents(pg, scope, n, HISTORY);
}

/**
 * `count` events per sandbox, a `heartbeat` {status: running} as every 5th and as the last, the rest tool uses.
 * Their ids are drawn from the event log's counter in one update, as the event log draws a batch's: a
 * multi-row INSERT relying on the id default (`next_sandbox_event_id()`, one counter update per row) slows
 * down with every row of its transaction.
 */
async function insertEvents(pg: Client, scope: string, n: number, count: number): Promise<void> {
  await pg.query(
    `WITH drawn AS (
       UPDATE sandbox_event_counter SET last_id = last_id + $2::int * $3::int WHERE id = 1 RETURNING last_id
     )
     INSERT INTO sandbox_events (id, entity_type, entity_id, event_type, data, source, created_at)
     SELECT drawn.last_id - $2::int * $3::int + (j - 1) * $2::int + i, 'sandbox', $1 || '-s' || i,
            CASE WHEN j % 5 = 0 OR j = $3 THEN 'heartbeat' ELSE 'agent.tool_use' END,
            CASE WHEN j % 5 = 0 OR j = $3 THEN '{"status":"running"}'::jsonb
                 ELSE '{"tool":"bash","command":"npm test","exit_code":0}'::jsonb END,
            'agent', now() - make_interval(secs => ($3::int - j))
     FROM drawn, generate_series(1, $3::int) AS j, generate_series(1, $2::int) AS i`,
    [scope, n, count],
  );
}

async function deleteRows(pg: Client, scopes: string[]): Promise<void> {
  if (process.env.BENCH_KEEP_ROWS === '1') return;
  for (const scope of scopes) {
    await pg.query(`DELETE FROM sandbox_events WHERE entity_type = 'sandbox' AND entity_id LIKE $1 || '-s%'`, [scope]);
    await pg.query(`DELETE FROM sandbox_sessions WHERE sandbox_id LIKE $1 || '-s%'`, [scope]);
    await pg.query(`DELETE FROM tasks WHERE id LIKE $1 || '-t%'`, [scope]);
  }
  for (const name of ['sandbox_events', 'sandbox_sessions', 'tasks']) await pg.query(`VACUUM ${name}`);
}

async function sweepSize(pg: Client, redis: BenchRedis, n: number): Promise<{ first: number; samples: SweepSample[] }> {
  const scope = `${runId}n${n}`;
  log(`N = ${fmtInt(n)}: seeding ${fmtInt(n)} sessions × ${HISTORY} events ...`);
  await seed(pg, scope, n);
  for (const name of ['sandbox_events', 'sandbox_sessions', 'tasks']) await pg.query(`ANALYZE ${name}`);
  const env = parseSupervisorEnv({
    LOG_LEVEL: 'silent',
    DATABASE_URL: BENCH_DATABASE_URL,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: scope,
    SANDBOX_PROVIDER: 'local',
    OMOIOS_BRIDGE: 'on',
  });
  const logger = createLogger({ name: 'bench-supervisor', level: 'silent' });
  const store = createStore({ databaseUrl: env.DATABASE_URL, poolSize: env.DB_POOL_SIZE });
  const publisherRedis = createRedisClient(env.REDIS_URL, { name: 'bench-supervisor', role: 'publisher', logger });
  // Healthy sandboxes are never spawned, restarted or stopped: the provider is never called.
  const provider = new LocalProcessProvider({ workerScript: 'unused', baseEnv: {} });
  const service = createSupervisorService({
    store,
    publisherRedis,
    provider,
    logger,
    config: supervisorConfig(env),
    relayUrl: () => 'http://127.0.0.1:1',
  });
  try {
    const started = performance.now();
    const firstReport = await service.supervisor.sweep();
    const first = performance.now() - started;
    if (firstReport.sessions !== n) throw new Error(`the first sweep saw ${firstReport.sessions} sessions, not ${n}`);
    const samples: SweepSample[] = [];
    for (let s = 0; s < SWEEPS; s += 1) {
      await insertEvents(pg, scope, n, NEW_PER_SWEEP);
      const before = { at: performance.now(), cpu: process.cpuUsage(), machine: machineCpu() };
      const report = await service.supervisor.sweep();
      const wallMs = performance.now() - before.at;
      const cpuMs = cpuPercent(before.cpu, process.cpuUsage(), wallMs) * (wallMs / 100);
      const machineMs = machineCpuPercent(before.machine, machineCpu()) * (wallMs / 100);
      if (report.sessions !== n || report.actions.length + report.restarts.length + report.idleStops.length > 0) {
        throw new Error(
          `sweep ${s + 1} of ${n}: ${JSON.stringify({ ...report, actions: report.actions.slice(0, 2) })}`,
        );
      }
      const baseStarted = performance.now();
      const { rowCount } = await pg.query(
        `SELECT s.sandbox_id, s.status FROM sandbox_sessions s JOIN tasks t ON t.id = s.task_id AND t.spec->>'scope' = $1
         WHERE s.status = ANY($2::text[])`,
        [scope, ['starting', 'running', 'degraded', 'restarting']],
      );
      const baselineMs = performance.now() - baseStarted;
      if (rowCount !== n) throw new Error(`the baseline read ${rowCount} sessions, not ${n}`);
      samples.push({ wallMs, cpuMs, otherCpuMs: Math.max(0, machineMs - cpuMs), baselineMs, load: loadNow() });
    }
    return { first, samples };
  } finally {
    await service.close();
    await closeRedis(publisherRedis);
    await store.close();
  }
}

async function run(redis: BenchRedis): Promise<number> {
  ensureBenchDatabase();
  pin(process.pid, '0');
  console.log(
    `setup:   this process (the supervisor's sweep) pinned to core 0; sizes ${SIZES.map(fmtInt).join(', ')} sandboxes, ` +
      `each with ${HISTORY} stored events, then ${NEW_PER_SWEEP} new ones (1 heartbeat) before each of ${SWEEPS} timed sweeps; ` +
      `scope ${runId}n<N>`,
  );
  console.log('');
  const pg = new Client({ connectionString: BENCH_DATABASE_URL });
  await pg.connect();
  const results: Array<{ n: number; first: number; samples: SweepSample[] }> = [];
  try {
    for (const n of SIZES) results.push({ n, ...(await sweepSize(pg, redis, n)) });
  } finally {
    await deleteRows(
      pg,
      SIZES.map((n) => `${runId}n${n}`),
    );
    await pg.end();
  }

  const med = (samples: SweepSample[], pick: (s: SweepSample) => number) => medianOf(samples.map(pick));
  console.log(
    table(
      [
        'live sandboxes',
        'first sweep ms',
        'sweep ms (median [range])',
        'µs / sandbox',
        'supervisor CPU ms',
        'other CPU ms',
        'baseline SELECT ms',
        'load (1 min)',
      ],
      results.map(({ n, first, samples }) => [
        fmtInt(n),
        fmt1(first),
        `${fmt1(med(samples, (s) => s.wallMs))} [${fmt1(Math.min(...samples.map((s) => s.wallMs)))}–${fmt1(Math.max(...samples.map((s) => s.wallMs)))}]`,
        fmtInt((med(samples, (s) => s.wallMs) / n) * 1000),
        fmt1(med(samples, (s) => s.cpuMs)),
        fmt1(med(samples, (s) => s.otherCpuMs)),
        fmt2(med(samples, (s) => s.baselineMs)),
        fmt2(med(samples, (s) => s.load)),
      ]),
    ),
  );
  console.log(
    `(sweep: wall time of Supervisor.sweep(), steady state; supervisor CPU: this process; other CPU: the machine's ` +
      `${os.cpus().length} cores minus this process over the sweep ≈ PostgreSQL + Redis + other users)`,
  );
  const largest = results[results.length - 1]!;
  const perSandboxMs = med(largest.samples, (s) => s.wallMs) / largest.n;
  const capacity = SWEEP_INTERVAL_MS / perSandboxMs;
  console.log('');
  console.log(
    table(
      ['figure', 'measured', 'baseline (same run)', 'target', 'result'],
      [
        [
          `sweep of ${fmtInt(largest.n)} live sandboxes`,
          `${fmt1(med(largest.samples, (s) => s.wallMs))} ms (${fmtInt(perSandboxMs * 1000)} µs/sandbox)`,
          `bare SELECT of the ${fmtInt(largest.n)} sessions ${fmt2(med(largest.samples, (s) => s.baselineMs))} ms`,
          `≤ ${fmtInt(SWEEP_INTERVAL_MS)} ms (the interval)`,
          verdict(med(largest.samples, (s) => s.wallMs) <= SWEEP_INTERVAL_MS),
        ],
        [
          'sandboxes one replica sweeps per interval',
          `${fmtInt(capacity)}`,
          '—',
          '≥ 10,000 (each replica sweeps them all)',
          verdict(capacity >= 10_000),
        ],
      ],
    ),
  );
  writeFigures([
    {
      figure: `supervisor sweep of ${fmtInt(largest.n)} live sandboxes (per ${fmtInt(SWEEP_INTERVAL_MS)} ms interval)`,
      unit: 'ms',
      ours: largest.samples.map((s) => s.wallMs),
      baseline: largest.samples.map((s) => s.baselineMs),
      baselineLabel: 'bare SELECT of the sessions',
      compare: 'ratio',
      target: `≤ ${fmtInt(SWEEP_INTERVAL_MS)} ms`,
      met: med(largest.samples, (s) => s.wallMs) <= SWEEP_INTERVAL_MS,
      note: `${fmtInt(perSandboxMs * 1000)} µs per sandbox → ${fmtInt(capacity)} sandboxes per replica per interval; load ${fmt2(med(largest.samples, (s) => s.load))}`,
    },
  ]);
  return 0;
}

runBenchmark('Sandbox Relay — supervisor sweep benchmark', run);
