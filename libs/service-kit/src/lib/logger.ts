import pino, { type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  name: string;
  level?: string;
}

/**
 * The root logger of a process: JSON lines on stdout. Components receive `logger.child({ component })`.
 * Secrets that might ride along in objects we log are redacted by path.
 */
export function createLogger({ name, level = 'info' }: LoggerOptions): Logger {
  return pino({
    level,
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.token', '*.apiKey'],
      censor: '[redacted]',
    },
  });
}
