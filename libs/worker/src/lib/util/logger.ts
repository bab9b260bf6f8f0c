/**
 * The part of pino's logger the worker uses. The composition root passes a pino logger; tests pass a
 * silent one. Objects first, as everywhere in the repo: `log.warn({ status }, 'event rejected')`.
 */
export interface WorkerLogger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}
