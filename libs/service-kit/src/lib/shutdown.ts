import type { Logger } from 'pino';

/** One step of an ordered shutdown: readiness off, stop accepting, drain work, close connections. */
export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown> | unknown;
}

/**
 * Runs `steps` in order, once. A failing step is logged and the rest still run; the whole sequence is
 * raced against `timeoutMs`. Returns whether every step finished in time.
 */
export function createShutdown(logger: Logger, steps: ShutdownStep[], timeoutMs: number): () => Promise<boolean> {
  let closing: Promise<boolean> | undefined;
  return () => {
    closing ??= run(logger, steps, timeoutMs);
    return closing;
  };
}

async function run(logger: Logger, steps: ShutdownStep[], timeoutMs: number): Promise<boolean> {
  let clean = true;
  const sequence = (async () => {
    for (const step of steps) {
      try {
        await step.run();
        logger.debug({ step: step.name }, 'shutdown step done');
      } catch (error) {
        clean = false;
        logger.error({ step: step.name, err: error }, 'shutdown step failed');
      }
    }
    return clean;
  })();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown deadline passed; exiting with work unfinished');
      resolve(false);
    }, timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([sequence, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGTERM: 15 };

/**
 * Wires SIGTERM/SIGINT to `shutdown` and exits with 128+signal (0 on a clean SIGTERM drain would hide
 * the cause from the orchestrator's logs). Call once, from `main.ts` only.
 */
export function handleSignals(logger: Logger, shutdown: () => Promise<boolean>): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      void shutdown().then((clean) => {
        logger.info({ clean }, 'shutdown complete');
        process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 0));
      });
    });
  }
}
