/*
 * `npm run bench`: every benchmark under bench/, one after the other, then ONE table of issue 16's figures:
 * figure, baseline (measured in the same run), ours, ratio (or difference), target, met or not. Values are the
 * median and [range] of the runs/rounds each script takes (3 where it supports them). The live-path figures are
 * measured twice: through the standalone (every service in one process, `npm start`) and "as deployed" (each
 * service its own process behind the edge, as `npm run cluster` runs them).
 *
 *   npm run bench              # ≈ 9 min on a quiet 2-core machine
 *   npm run bench -- --quick   # BENCH_SMOKE=1 for every script: seconds, figures meaningless (to check the wiring)
 *
 * Each script's own output goes to bench/.results/<name>.log; each writes its figures as JSON lines to
 * BENCH_RESULT_FILE (see writeFigures in bench/lib/common.ts). Not part of `npm test`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { BENCH_DATABASE_URL, fmt1, fmt2, machineLines, medianOf, table, type FigureResult } from './lib/common';

const quick = process.argv.includes('--quick');
const resultsDir = path.join(__dirname, '.results');
const resultFile = path.join(resultsDir, 'figures.jsonl');

/** Single-event rounds: 64 connections over 32 sandboxes; batch: 16 connections (../shared/docs/MEASUREMENTS.md). */
const INGEST_ENV = {
  BENCH_ROUNDS: '3',
  BENCH_ROUND_S: '4',
  BENCH_CONNECTIONS: '64',
  BENCH_BATCH_CONNECTIONS: '16',
  BENCH_SANDBOXES: '32',
};

const scripts: Array<{ name: string; file: string; env: Record<string, string> }> = [
  { name: 'ingest-standalone', file: 'ingest.ts', env: INGEST_ENV },
  { name: 'ingest-alone', file: 'ingest.ts', env: { ...INGEST_ENV, BENCH_PRODUCT: 'ingest' } },
  // As deployed: every service its own process (npm run cluster, one replica each) behind its nginx edge, beside
  // the bare servers behind an nginx of the same config (bench/lib/deployed.ts).
  { name: 'ingest-deployed', file: 'ingest.ts', env: { ...INGEST_ENV, BENCH_PRODUCT: 'deployed' } },
  { name: 'fanout', file: 'fanout.ts', env: {} },
  { name: 'fanout-deployed', file: 'fanout.ts', env: { BENCH_PRODUCT: 'deployed' } },
  { name: 'lag', file: 'lag.ts', env: {} },
  { name: 'messages', file: 'messages.ts', env: {} },
  { name: 'supervisor', file: 'supervisor.ts', env: {} },
];

function runScript(script: (typeof scripts)[number]): Promise<number> {
  return new Promise((resolve) => {
    const log = createWriteStream(path.join(resultsDir, `${script.name}.log`));
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, script.file)], {
      env: {
        ...process.env,
        ...(quick ? { BENCH_SMOKE: '1', BENCH_PRODUCT: script.env.BENCH_PRODUCT ?? '' } : script.env),
        BENCH_RESULT_FILE: resultFile,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(log);
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(`  [${script.name}] ${chunk}`));
    child.on('exit', (code) => {
      log.end();
      resolve(code ?? 1);
    });
  });
}

const fmtValue = (n: number) =>
  Math.abs(n) >= 100
    ? Math.round(n).toLocaleString('en-US')
    : Math.abs(n) >= 1 || n === 0
      ? fmt1(n)
      : String(Number(n.toPrecision(3)));

function summary(values: number[], unit: string): string {
  if (values.length === 0) return '—';
  const median = `${fmtValue(medianOf(values))} ${unit}`;
  if (values.length === 1) return median;
  return `${median} [${fmtValue(Math.min(...values))}–${fmtValue(Math.max(...values))}]`;
}

function comparison(f: FigureResult): string {
  if (f.compare === 'none' || f.baseline.length === 0) return '—';
  const per = f.ours.map((ours, i) => (f.compare === 'ratio' ? ours / f.baseline[i]! : ours - f.baseline[i]!));
  const show = (n: number) => (f.compare === 'ratio' ? `${fmt2(n)}×` : `${n >= 0 ? '+' : ''}${fmt1(n)} ${f.unit}`);
  const median = show(medianOf(per));
  return per.length === 1 ? median : `${median} [${show(Math.min(...per))}–${show(Math.max(...per))}]`;
}

async function main(): Promise<number> {
  rmSync(resultsDir, { recursive: true, force: true });
  mkdirSync(resultsDir, { recursive: true });
  // The bench database, created and migrated if missing (as `npm start` does for its own).
  const setup = spawnSync(process.execPath, [path.join(__dirname, '..', 'tools', 'services.mjs')], {
    env: { ...process.env, DATABASE_URL: BENCH_DATABASE_URL },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (setup.status !== 0) throw new Error(`tools/services.mjs could not prepare ${BENCH_DATABASE_URL}`);
  const started = Date.now();
  const header = await machineLines();
  const exitCodes: string[] = [];
  for (const script of scripts) {
    process.stderr.write(`${script.name} (bench/${script.file}) ...\n`);
    const code = await runScript(script);
    if (code !== 0) exitCodes.push(`${script.name} exited ${code} (see bench/.results/${script.name}.log)`);
  }
  const figures = (existsSync(resultFile) ? readFileSync(resultFile, 'utf8') : '')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as FigureResult);
  console.log(`Sandbox Relay — npm run bench${quick ? ' --quick (BENCH_SMOKE: figures meaningless)' : ''}`);
  for (const line of header) console.log(line);
  console.log(`took:    ${Math.round((Date.now() - started) / 1000)} s; each script's output in bench/.results/`);
  console.log('');
  console.log(
    table(
      ['figure', 'baseline (same run)', 'ours', 'ours vs baseline', 'target', 'met'],
      figures.map((f) => [
        f.figure,
        f.baseline.length ? `${f.baselineLabel} ${summary(f.baseline, f.unit)}` : f.baselineLabel,
        summary(f.ours, f.unit),
        comparison(f),
        f.target,
        f.met ? 'met' : 'NOT MET',
      ]),
    ),
  );
  console.log('(median [min–max] over the runs or rounds of each figure; the ratio or difference is taken per run)');
  const notes = figures.filter((f) => f.note).map((f) => `- ${f.figure}: ${f.note}`);
  if (notes.length) console.log(['', ...notes].join('\n'));
  if (exitCodes.length) console.log(['', ...exitCodes].join('\n'));
  return exitCodes.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
