// The launcher behind `npm run cluster` (tools/cluster.mjs makes sure Redis, PostgreSQL, the migrations,
// the dashboard and nginx are there first). Its own log is JSON on stderr; the replica table on stdout.
import { runMain } from '@sandbox-relay/service-kit';
import pino from 'pino';
import { Cluster } from './cluster';
import { parseClusterEnv } from './cluster-env';

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;

async function main(): Promise<void> {
  const env = parseClusterEnv();
  const logger = pino(
    { level: env.LOG_LEVEL, base: { service: 'cluster' }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination(2),
  );
  const cluster = await Cluster.create(env, logger, (line) => process.stdout.write(`${line}\n`));
  // Registered before any process starts, so a signal during the start stops whatever was started. Every
  // signal joins the one shutdown: Ctrl-C reaches this process from the terminal and again from
  // tools/cluster.mjs, and a second signal must not kill the launcher halfway through stopping its replicas.
  let stopping: Promise<void> | null = null;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      stopping ??= (async () => {
        logger.info({ signal }, 'stopping the cluster');
        const clean = await cluster.stop();
        logger.info({ clean }, 'cluster stopped');
        process.exit(128 + SIGNAL_NUMBERS[signal]);
      })();
    });
  }
  await cluster.launch();
  logger.info({ edge: cluster.edgeUrl, state: cluster.stateFile }, 'cluster ready');
}

runMain(main);
