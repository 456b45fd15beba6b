import type { Logger } from 'pino';

const ignore = (): void => undefined;

/**
 * A logger that drops everything, for tests and embedded use. Written out
 * rather than `pino({ level: 'silent' })` so a CLI command that only talks to the master does not
 * load pino; it answers the calls a Logger's users make (levels, child, isLevelEnabled).
 */
export function silentLogger(): Logger {
  const log = {
    level: 'silent',
    fatal: ignore,
    error: ignore,
    warn: ignore,
    info: ignore,
    debug: ignore,
    trace: ignore,
    silent: ignore,
    isLevelEnabled: () => false,
    bindings: () => ({}),
    flush: ignore,
    child: (): unknown => log,
  };
  return log as unknown as Logger;
}
