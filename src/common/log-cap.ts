import { ErrorCode, TitanError } from './errors.js';

/** How much of one job's output is kept unless `--max-log-size` says otherwise. */
export const DEFAULT_MAX_LOG_BYTES = 64 * 1024 * 1024;

/**
 * The line stored where a job's output was cut. Titan keeps the head of a log: what a job printed
 * first is never rewritten or deleted while it runs, so a `titan logs -f` reader's position stays
 * valid, and the start (the command, its settings, the first error) is what a runaway loop buries.
 */
export function logCutMarker(maxBytes: number): string {
  return `[titan: output cut here: this job printed more than ${describeBytes(maxBytes)} (--max-log-size); the rest was not stored]`;
}

export function describeBytes(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return Number.isInteger(mib) ? `${mib} MiB` : `${bytes} bytes`;
}

const FACTORS: Readonly<Record<string, number>> = {
  '': 1024 * 1024,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** `--max-log-size 64M` (a size like 512K, 64M or 1G, binary multiples; a bare number is MiB) → bytes. */
export function parseLogSize(flag: string, value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(value);
  const factor = match === null ? undefined : FACTORS[(match[2] ?? '').toLowerCase()];
  const bytes = match === null || factor === undefined ? 0 : Math.floor(Number(match[1]) * factor);
  if (bytes < 1024) {
    throw new TitanError(ErrorCode.INVALID_REQUEST, `${flag} must be a size of at least 1K like 512K, 64M or 1G (a bare number is MiB), not "${value}"`);
  }
  return bytes;
}
