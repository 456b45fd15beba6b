// Apart from cron.ts so the pure core (and the client SDK built from it) can name the type without loading croner.
/** The due times of one cron expression, in milliseconds since the epoch. */
export interface CronTimes {
  /** The first due time strictly after `ms`; null when the expression has no more. */
  nextAfter(ms: number): number | null;
  /** The last due time at or before `ms`; null when there is none. */
  latestAtOrBefore(ms: number): number | null;
}
