import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * One structured logger per process part. Logs go to stderr as JSON lines so stdout stays free
 * for the CLI's human or --json output. TITAN_LOG_LEVEL is read by the entry point and passed in.
 */
export function createLogger(part: string, level: string = 'info'): Logger {
  return pino({ name: part, level, base: { part } }, pino.destination({ fd: 2, sync: false }));
}

export { silentLogger } from './silent-log.js';
