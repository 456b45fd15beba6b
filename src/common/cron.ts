import { Cron } from 'croner';
import { ErrorCode, TitanError } from './errors.js';
import type { CronTimes } from './cron-times.js';

export type { CronTimes } from './cron-times.js';

const EXAMPLES = 'e.g. "*/5 * * * *" (every 5 minutes) or "*/10 * * * * *" (every 10 seconds, seconds first)';

/**
 * Compiles a 5-field (minute first) or 6-field (second first) cron expression, read in `tz` (an
 * IANA zone; the master's local zone when null), into its due times.
 * Failure: throws E_INVALID_REQUEST naming the expression (or zone) and an example that works.
 */
export function compileCron(expression: string, tz: string | null): CronTimes {
  if (tz !== null) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
    } catch {
      throw new TitanError(ErrorCode.INVALID_REQUEST, `unknown time zone "${tz}": give an IANA name such as "Europe/Paris" or "UTC"`);
    }
  }
  let cron: Cron;
  try {
    cron = new Cron(expression.trim(), { paused: true, mode: '5-or-6-parts', ...(tz !== null ? { timezone: tz } : {}) });
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).replace(/^CronPattern: /, '').replace(/\.$/, '');
    throw new TitanError(
      ErrorCode.INVALID_REQUEST,
      `bad cron expression "${expression}": ${why}; use 5 fields (minute hour day month weekday) or 6 (second first), ${EXAMPLES}`,
    );
  }
  return {
    nextAfter: (ms) => cron.nextRun(new Date(ms))?.getTime() ?? null,
    // previousRuns is strictly before its reference; one millisecond later makes it "at or before".
    latestAtOrBefore: (ms) => cron.previousRuns(1, new Date(ms + 1))[0]?.getTime() ?? null,
  };
}
