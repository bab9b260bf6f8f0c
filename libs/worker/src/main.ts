// Entry point of the bundled worker (`node worker.js` inside a sandbox): parse env, run, stop on
// SIGTERM. Bundled by tools/build-worker.mjs into one file with every dependency inlined.
import pino from 'pino';
import { commandEnvFrom, runWorker } from './lib/run-worker';
import { parseWorkerEnv, redactedConfig, WorkerConfigError, type WorkerConfig } from './lib/worker-env';

function configOrExit(): WorkerConfig {
  try {
    return parseWorkerEnv(process.env);
  } catch (error) {
    if (!(error instanceof WorkerConfigError)) throw error;
    // Before the logger exists, and read by a person looking at the sandbox's session log: plain text.
    process.stderr.write(`sandbox-relay worker: ${error.message}\n`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  const config = configOrExit();
  const logger = pino({
    level: config.LOG_LEVEL,
    base: { service: 'worker', sandboxId: config.SANDBOX_ID, taskId: config.TASK_ID },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
  logger.info({ config: redactedConfig(config) }, 'worker starting');

  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      // A second signal means "now": skip the flush that is still running.
      logger.warn({ signal }, 'second signal; exiting without waiting for the flush');
      process.exit(1);
    }
    logger.info({ signal, flushMs: config.SHUTDOWN_FLUSH_MS }, 'stopping: interrupting the turn and flushing events');
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const outcome = await runWorker(config, { logger, commandEnv: commandEnvFrom(process.env), stopSignal: stop.signal });
  const stats = { reason: outcome.reason, flushed: outcome.flushed };
  if (outcome.flushed) logger.info(stats, 'worker finished');
  else logger.warn(stats, 'worker finished with events the relay never took');
  // Exit explicitly: a keep-alive socket or a stray grandchild's pipe must not keep the session open.
  process.exit(outcome.reason === 'failed' ? 1 : 0);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `sandbox-relay worker: fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
